"""Workloads the benchmark times: creates, raw HTTP posts, previews, imports.

Each workload prepares its requests before the clock starts, so only the
calls themselves are timed, and runs them on a fixed number of threads, as the
Pulumi engine keeps at most 4 provider calls in flight by default.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from bench_servers import ProviderProcess, from_struct, to_struct
from pulumi.runtime.proto import provider_pb2

T = TypeVar("T")

PROVIDER_KEY = "__provider"
STACK_URN_PREFIX = "urn:pulumi:bench::alpharun-bench::"
JOB_DESCRIPTION = (
    "Runs a retail store: hires and coaches the team, keeps stock and "
    "schedules, and owns the store's results."
)


@dataclass(frozen=True)
class Resource:
    """One declared resource: its URN, type token and inputs."""

    urn: str
    type: str
    inputs: dict[str, Any]

    @property
    def name(self) -> str:
        """The resource name, the URN's last part."""
        return self.urn.rsplit("::", 1)[-1]


@dataclass(frozen=True)
class Created:
    """A resource after Create: its id and outputs as the state stores them."""

    resource: Resource
    id: str
    outputs: dict[str, Any]


def job_openings(
    count: int,
    type_token: str,
    provider_value: str,
    job_type_id: str,
    label: str = "Main",
) -> list[Resource]:
    """Return ``count`` job openings on one job type.

    Names are unique within one call, and calls with different ``label``
    values give different names.
    """
    resources = []
    for index in range(count):
        inputs = {
            "name": f"Store Manager - {label} store {index:05d}",
            "job_type_id": job_type_id,
            "location": "In-office 5 days per week in Austin, TX",
            "pay": "$60,000 - $75,000 per year",
            "hours": "Full-time, 40 hours per week",
            "link_access": {"restricted": False},
            "owner_emails": ["recruiting@example.com"],
            PROVIDER_KEY: provider_value,
        }
        urn = f"{STACK_URN_PREFIX}{type_token}::opening-{index:05d}"
        resources.append(Resource(urn, type_token, inputs))
    return resources


def run_concurrently(
    tasks: Sequence[Callable[[int], T]], workers: int
) -> tuple[float, list[T]]:
    """Run every task on ``workers`` threads; return seconds and results.

    Each task receives the number of the thread that runs it. The first
    exception stops every thread from taking new tasks and is raised.
    """
    results: list[Any] = [None] * len(tasks)
    errors: list[Exception] = []
    lock = threading.Lock()
    next_task = iter(range(len(tasks)))

    def work(worker: int) -> None:
        while not errors:
            with lock:
                index = next(next_task, None)
            if index is None:
                return
            try:
                results[index] = tasks[index](worker)
            except Exception as error:  # noqa: BLE001 (raised by the caller)
                errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed, results


def create_requests(resources: Sequence[Resource]) -> list[Any]:
    """Return one CreateRequest per resource, with the inputs serialized."""
    return [
        provider_pb2.CreateRequest(
            urn=resource.urn,
            properties=to_struct(resource.inputs),
            name=resource.name,
            type=resource.type,
        )
        for resource in resources
    ]


def run_creates(
    provider: ProviderProcess,
    resources: Sequence[Resource],
    workers: int,
) -> tuple[float, list[Created]]:
    """Send Create for every resource; return the seconds taken and the state.

    Only the RPCs are timed. The responses are deserialized afterwards.
    """
    requests_ = create_requests(resources)
    tasks = [_rpc_task(provider, "Create", request) for request in requests_]
    seconds, responses = run_concurrently(tasks, workers)
    created = [
        Created(resource, response.id, from_struct(response.properties))
        for resource, response in zip(resources, responses)
    ]
    return seconds, created


def _rpc_task(
    provider: ProviderProcess, method: str, request: Any
) -> Callable[[int], Any]:
    return lambda worker: provider.call(method, request)


def run_raw_posts(
    api_url: str, api_key: str, resources: Sequence[Resource], workers: int
) -> float:
    """POST every opening straight to the API, one session per thread.

    Returns the seconds taken. Raises RuntimeError on a status other than 200.
    """
    url = api_url.rstrip("/") + "/job-openings"
    headers = {
        "Authorization": f"Bearer {api_key}",
        "Content-Type": "application/json",
    }
    sessions = [requests.Session() for _ in range(workers)]
    bodies = [
        json.dumps(_without_provider(resource.inputs)).encode()
        for resource in resources
    ]

    def post(body: bytes) -> Callable[[int], None]:
        def task(worker: int) -> None:
            response = sessions[worker].post(url, data=body, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(
                    f"POST {url} returned HTTP {response.status_code}: "
                    f"{response.text[:300]}"
                )

        return task

    try:
        seconds, _ = run_concurrently([post(body) for body in bodies], workers)
    finally:
        for session in sessions:
            session.close()
    return seconds


def _without_provider(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in inputs.items() if key != PROVIDER_KEY}


@dataclass(frozen=True)
class PreviewResult:
    """A timed preview: seconds, check failures and Diff results."""

    seconds: float
    failures: int
    changes: dict[str, int]  # DiffResponse.changes name -> resource count


def run_preview(
    provider: ProviderProcess, state: Sequence[Created], workers: int
) -> PreviewResult:
    """Send Check, then Diff, for every resource, as ``pulumi preview`` does.

    Check gets the old and new inputs, which are equal (an unchanged
    program), and Diff gets the old outputs and the checked inputs.
    """
    prepared = [_preview_requests(item) for item in state]
    tasks = [_preview_task(provider, *requests_) for requests_ in prepared]
    seconds, outcomes = run_concurrently(tasks, workers)
    failures = sum(count for count, _ in outcomes)
    changes: dict[str, int] = {}
    for _, change in outcomes:
        changes[change] = changes.get(change, 0) + 1
    return PreviewResult(seconds, failures, changes)


def _preview_requests(item: Created) -> tuple[Any, Any]:
    resource = item.resource
    inputs = to_struct(resource.inputs)
    check = provider_pb2.CheckRequest(
        urn=resource.urn,
        olds=inputs,
        news=inputs,
        name=resource.name,
        type=resource.type,
    )
    diff = provider_pb2.DiffRequest(
        id=item.id,
        urn=resource.urn,
        olds=to_struct(item.outputs),
        old_inputs=inputs,
        name=resource.name,
        type=resource.type,
    )
    return check, diff


def _preview_task(
    provider: ProviderProcess, check: Any, diff: Any
) -> Callable[[int], tuple[int, str]]:
    def task(worker: int) -> tuple[int, str]:
        checked = provider.call("Check", check)
        request = provider_pb2.DiffRequest()
        request.CopyFrom(diff)
        request.news.CopyFrom(checked.inputs)
        answer = provider.call("Diff", request)
        change = provider_pb2.DiffResponse.DiffChanges.Name(answer.changes)
        return len(checked.failures), change

    return task


@dataclass(frozen=True)
class StateSize:
    """Bytes one resource takes in a state file, as compact JSON."""

    provider_bytes: int  # the __provider string itself
    outputs_bytes: float  # mean over resources; __provider included


def state_size(state: Sequence[Created]) -> StateSize:
    """Measure ``__provider`` and the outputs as a state file stores them.

    ``__provider`` is stored in plain text unless the provider marks it
    secret, and the outputs are stored as a JSON object.
    """
    provider_value = state[0].outputs[PROVIDER_KEY]
    sizes = [len(_compact_json(item.outputs)) for item in state]
    return StateSize(len(provider_value.encode()), statistics.fmean(sizes))


def _compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


IMPORT_PROBE = (
    "import time; {preloaded}started = time.perf_counter(); import {modules}; "
    "print(time.perf_counter() - started)"
)


def import_seconds(modules: str, preloaded: str = "") -> float:
    """Return the seconds a fresh interpreter spends importing ``modules``.

    ``preloaded`` modules are imported before the clock starts.
    """
    before = f"import {preloaded}; " if preloaded else ""
    code = IMPORT_PROBE.format(preloaded=before, modules=modules)
    output = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return float(output.strip().splitlines()[-1])


def post_round_trip(api_url: str, api_key: str, job_type_id: str, count: int) -> float:
    """Return the median seconds of ``count`` POSTs sent one at a time.

    One session sends them all, so every POST after the first reuses the
    connection, as the provider's client does.
    """
    url = api_url.rstrip("/") + "/job-openings"
    headers = {"Authorization": f"Bearer {api_key}"}
    seconds = []
    with requests.Session() as session:
        for index in range(count):
            body = {"name": f"Round trip {index:05d}", "job_type_id": job_type_id}
            started = time.perf_counter()
            response = session.post(url, json=body, headers=headers, timeout=30)
            seconds.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(
                    f"POST {url} returned HTTP {response.status_code}: "
                    f"{response.text[:300]}"
                )
    return statistics.median(seconds)
