"""Randomized fault injection: no opening is duplicated or lost, no key leaks.

Each run declares a small stack, then creates it, updates its inline job
types and replaces some openings. Meanwhile the sandbox responds to a random
share of requests with 429, 503, 500, a delay beyond the client's timeout or
a dropped connection, before or after applying the request. After each run, every open
opening in the sandbox must be in the resulting state, or left open by a
replacement (and reported so), or named in an error as possibly created.

``FAULT_RUNS`` sets the number of runs (default 30) and ``FAULT_SEED`` the
first seed; ``FAULT_REPORT=FILE`` writes the totals as JSON.
"""

from __future__ import annotations

import json
import logging
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import API_KEY
from pulumi.dynamic import Config, ConfigureRequest

from alpharun_provider import JobOpeningProvider, pacing
from alpharun_provider import client as client_module
from alpharun_provider.provider import ResourceOperationError, runtime
from alpharun_provider.sandbox import Sandbox

RUNS = int(os.environ.get("FAULT_RUNS", "30"))
FIRST_SEED = int(os.environ.get("FAULT_SEED", "1000"))
OPENINGS_PER_RUN = 4
TIMEOUT = 0.3  # seconds; delayed faults wait longer than this
DESCRIPTION = "Runs the store: staff, stock, opening and closing."

FAULTS: dict[str, dict[str, Any]] = {
    "429": {"status": 429, "headers": {"Retry-After": "0"}},
    "429 after": {"status": 429, "headers": {"Retry-After": "0"}, "phase": "after"},
    "503": {"status": 503},
    "503 after": {"status": 503, "phase": "after"},
    "500 before": {"status": 500},
    "500 after": {"status": 500, "phase": "after"},
    "timeout before": {"delay_ms": 700, "status": 503},
    "timeout after": {"delay_ms": 700, "phase": "after"},
    "drop before": {"drop": True},
    "drop after": {"drop": True, "phase": "after"},
}
PASS = {"phase": "after", "delay_ms": 0}
FAULT_SHARE = 0.3


@dataclass
class RunRecord:
    """What one run left behind, for the invariant checks."""

    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    possibly_created: set[str] = field(default_factory=set)
    left_open: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


@dataclass
class Totals:
    runs: int = 0
    requests: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    possibly_created: int = 0
    duplicates: int = 0
    unaccounted: int = 0
    leaks: int = 0


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shorten backoff and slow start so many runs fit in a test."""
    monkeypatch.setattr(client_module, "BACKOFF_BASE", 0.01)
    monkeypatch.setattr(pacing, "SLOW_START_STEP", 0.02)


def fault_script(rng: random.Random, length: int) -> list[str | None]:
    """Return a fault kind, or None for a normal response, per coming request."""
    return [
        rng.choice(sorted(FAULTS)) if rng.random() < FAULT_SHARE else None
        for _ in range(length)
    ]


def script_entries(kinds: list[str | None]) -> list[dict[str, Any]]:
    return [
        {"method": None, "path": "*", "times": 1, **(FAULTS[kind] if kind else PASS)}
        for kind in kinds
    ]


def opening_inputs(run: int, index: int, job_type_id: str) -> dict[str, Any]:
    inputs: dict[str, Any] = {"name": f"Opening {run}-{index}", "pay": "$18/h"}
    if index % 2 == 0:
        inputs["job_type"] = {"job_description": DESCRIPTION}
    else:
        inputs["job_type_id"] = job_type_id
    return inputs


def attempt(record: RunRecord, name: str, operation: Any, *args: Any) -> Any:
    """Call a provider method; record its error the way the engine shows it."""
    try:
        return operation(*args)
    except ResourceOperationError as error:
        message = str(error)
        record.errors.append(message)
        if "may now exist in Alpharun" in message:
            record.possibly_created.add(name)
        return None


def run_stack(
    provider: JobOpeningProvider,
    rng: random.Random,
    record: RunRecord,
    declared: list[dict[str, Any]],
) -> None:
    """Create, update and replace a small stack the way the engine would."""
    for inputs in declared:
        created = attempt(record, inputs["name"], provider.create, inputs)
        if created is not None:
            record.state[inputs["name"]] = {"id": created.id, **created.outs}

    for key, outs in list(record.state.items()):
        if "job_type" not in outs:
            continue
        news = {**_inputs_of(outs), "job_type": {**outs["job_type"]}}
        news["job_type"]["should_record_video"] = True
        updated = attempt(record, outs["name"], provider.update, outs["id"], outs, news)
        if updated is not None:
            record.state[key] = {"id": outs["id"], **updated.outs}

    for key, outs in list(record.state.items()):
        if rng.random() < 0.5:
            continue
        news = {**_inputs_of(outs), "name": outs["name"] + " v2", "pay": "$20/h"}
        created = attempt(record, news["name"], provider.create, news)
        if created is not None:
            provider.delete(outs["id"], outs)
            record.left_open.add(outs["id"])
            record.state[key] = {"id": created.id, **created.outs}


def _inputs_of(outs: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value
        for key, value in outs.items()
        if key not in ("id", "interview_link")
        and not (key == "job_type_id" and "job_type" in outs)
    }


def check_run(sandbox: Sandbox, record: RunRecord, totals: Totals) -> list[str]:
    """Return the invariant violations of one run and add to the totals."""
    problems = []
    state_ids = {outs["id"] for outs in record.state.values()}
    open_openings = [o for o in sandbox.job_openings() if o["status"] == "open"]
    names = Counter(opening["name"] for opening in open_openings)
    for name, count in names.items():
        if count > 1:
            totals.duplicates += count - 1
            problems.append(f"{name!r} is open {count} times")
    for opening in open_openings:
        accounted = (
            opening["id"] in state_ids
            or opening["id"] in record.left_open
            or opening["name"] in record.possibly_created
        )
        if not accounted:
            totals.unaccounted += 1
            problems.append(f"{opening['name']!r} ({opening['id']}) is unaccounted")
    return problems


def count_leaks(texts: list[str]) -> int:
    return sum(text.count(API_KEY) for text in texts)


def test_faults_never_duplicate_or_lose_openings(
    sandbox: Sandbox,
    fast_retries: None,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    totals = Totals()
    problems: list[str] = []
    for run in range(RUNS):
        sandbox.reset()
        runtime.reset()
        job_type = sandbox.create_job_type(
            name=f"Clerk {run}", job_description=DESCRIPTION
        )
        provider = JobOpeningProvider()
        config = {
            "alpharun:apiUrl": sandbox.base_url,
            "alpharun:apiKey": API_KEY,
            "alpharun:timeout": str(TIMEOUT),
            "alpharun:maxRetryTime": "10",
        }
        provider.configure(ConfigureRequest(Config(config, "test")))
        record = RunRecord()
        rng = random.Random(FIRST_SEED + run)
        kinds = fault_script(rng, 80)
        sandbox.set_faults(script=script_entries(kinds))

        declared = [
            opening_inputs(run, index, job_type["id"])
            for index in range(OPENINGS_PER_RUN)
        ]
        run_stack(provider, rng, record, declared)

        totals.runs += 1
        requests = sandbox.stats()["requests"]
        assert requests < len(kinds), "the fault script ran out"
        totals.requests += requests
        # Requests take script entries in order, one each.
        totals.faults.update(kind for kind in kinds[:requests] if kind)
        totals.errors += len(record.errors)
        totals.possibly_created += len(record.possibly_created)
        problems += [f"run {run}: {p}" for p in check_run(sandbox, record, totals)]
        state_text = json.dumps(record.state)
        totals.leaks += count_leaks([state_text, *record.errors])

    captured = capfd.readouterr()
    totals.leaks += count_leaks([caplog.text, captured.out, captured.err])
    _write_report(totals)

    assert problems == []
    assert totals.duplicates == 0
    assert totals.leaks == 0
    assert sum(totals.faults.values()) > RUNS  # the suite did inject faults


def test_error_names_possibly_created_opening(sandbox: Sandbox) -> None:
    provider = JobOpeningProvider()
    config = {"alpharun:apiUrl": sandbox.base_url, "alpharun:apiKey": API_KEY}
    provider.configure(ConfigureRequest(Config(config, "test")))
    sandbox.set_faults(
        script=[{"method": "POST", "path": "*", "phase": "after", "drop": True}]
    )
    record = RunRecord()
    inputs = {"name": "Cook - Austin", "job_type": {"job_description": DESCRIPTION}}
    attempt(record, "Cook - Austin", provider.create, inputs)
    assert record.possibly_created == {"Cook - Austin"}
    assert "JobOpening 'Cook - Austin'" in record.errors[0]


def _write_report(totals: Totals) -> None:
    path = os.environ.get("FAULT_REPORT")
    if not path:
        return
    report = {
        "runs": totals.runs,
        "requests": totals.requests,
        "faults_injected": sum(totals.faults.values()),
        "faults_by_kind": dict(sorted(totals.faults.items())),
        "errors_raised": totals.errors,
        "named_as_possibly_created": totals.possibly_created,
        "duplicates": totals.duplicates,
        "unaccounted_openings": totals.unaccounted,
        "key_leaks": totals.leaks,
    }
    with open(path, "w", encoding="utf-8") as file:
        json.dump(report, file, indent=2)
