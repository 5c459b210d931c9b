"""One benchmark run: the stack, the rate-limited creates and the imports.

``measure_stack`` keeps the product's and the minimal provider's servers
running side by side and sends the creates in blocks: a block for each
contender, back to back, in an order that alternates from block to block.
Drift in the machine's speed (other processes, CPU frequency) then falls on
every contender alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from bench_servers import ProviderError, ProviderProcess, SandboxControl, to_struct
from bench_workloads import (
    Created,
    PreviewResult,
    Resource,
    StateSize,
    create_requests,
    import_seconds,
    job_openings,
    run_concurrently,
    run_creates,
    run_preview,
    run_raw_posts,
    state_size,
)
from minimal_provider import MinimalProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.proto import provider_pb2

from alpharun_provider import JobOpeningProvider

WORKERS = 4  # provider calls the Pulumi engine keeps in flight by default
BLOCK_SIZE = 100  # creates or previewed resources per contender and block


@dataclass(frozen=True)
class Scale:
    """Sizes of one benchmark run."""

    creates: int  # timed creates per contender; the preview covers them
    warmup: int  # untimed creates before them; memory is first read after these
    rate_limit: float  # requests per second the rate-limited sandbox allows
    burst: int  # requests the rate-limited sandbox allows at once
    rate_creates: int  # creates against the rate-limited sandbox
    import_pairs: int  # import timings per run, each a baseline and a product


@dataclass(frozen=True)
class Variant:
    """A provider to benchmark: its label, pickled form and type token."""

    label: str
    provider_value: str
    type_token: str


PRODUCT = Variant(
    "product",
    serialize_provider(JobOpeningProvider()),
    "pulumi-python:dynamic/alpharun:JobOpening",
)
MINIMAL = Variant(
    "minimal",
    serialize_provider(MinimalProvider()),
    "pulumi-python:dynamic:Resource",
)


@dataclass(frozen=True)
class ProviderRun:
    """Measurements of one provider process: creates, memory, preview, state."""

    create_seconds: float
    create_cpu_seconds: float  # used by the provider process during the creates
    rss_after_warmup: int
    rss_after_creates: int
    preview: PreviewResult
    preview_requests: int
    state: StateSize


@dataclass(frozen=True)
class StackRun:
    """Measurements of one run of the stack for every contender."""

    raw_seconds: float
    product: ProviderRun
    minimal: ProviderRun


def stack_config(sandbox: SandboxControl, api_key: str) -> dict[str, str]:
    """Return the stack config that points a provider at the sandbox."""
    return {"alpharun:apiKey": api_key, "alpharun:apiUrl": sandbox.base_url}


def start_provider(
    sandbox: SandboxControl, api_key: str, python_path: Sequence[str]
) -> ProviderProcess:
    """Start a provider server that can import from ``python_path``."""
    provider = ProviderProcess(python_path=python_path)
    try:
        provider.configure(stack_config(sandbox, api_key), ["alpharun:apiKey"])
    except BaseException:
        provider.stop()
        raise
    return provider


def fresh_job_type(sandbox: SandboxControl) -> str:
    """Empty the sandbox and return the id of a new job type."""
    sandbox.reset()
    job_type = sandbox.create_job_type(
        name="Store Manager",
        job_description="Runs a store: hires and coaches the team, owns results.",
    )
    return str(job_type["id"])


@dataclass
class _ProviderContender:
    """A provider server under test and the stack it has created so far."""

    server: ProviderProcess
    sandbox: SandboxControl
    resources: list[Resource]
    warmup: int
    state: list[Created] = field(default_factory=list)
    create_seconds: float = 0.0
    create_cpu_seconds: float = 0.0
    previews: list[PreviewResult] = field(default_factory=list)
    preview_requests: int = 0

    def warm_up(self) -> None:
        run_creates(self.server, self.resources[: self.warmup], WORKERS)

    def create_block(self, block: slice) -> None:
        timed = self.resources[self.warmup :][block]
        cpu_before = self.server.cpu_seconds()
        seconds, created = run_creates(self.server, timed, WORKERS)
        self.create_cpu_seconds += self.server.cpu_seconds() - cpu_before
        self.create_seconds += seconds
        self.state.extend(created)

    def preview_block(self, block: slice) -> None:
        requests_before = self.sandbox.stats()["requests"]
        self.previews.append(run_preview(self.server, self.state[block], WORKERS))
        self.preview_requests += self.sandbox.stats()["requests"] - requests_before


@dataclass
class _RawContender:
    """POSTs sent straight to the sandbox, without Pulumi."""

    api_url: str
    api_key: str
    resources: list[Resource]
    warmup: int
    create_seconds: float = 0.0

    def warm_up(self) -> None:
        warmup = self.resources[: self.warmup]
        run_raw_posts(self.api_url, self.api_key, warmup, WORKERS)

    def create_block(self, block: slice) -> None:
        timed = self.resources[self.warmup :][block]
        seconds = run_raw_posts(self.api_url, self.api_key, timed, WORKERS)
        self.create_seconds += seconds


def interleave(steps: Sequence[Callable[[slice], None]], count: int, run: int) -> None:
    """Run every step on each block of ``count`` items; alternate the order."""
    for number, start in enumerate(range(0, count, BLOCK_SIZE)):
        block = slice(start, start + BLOCK_SIZE)
        ordered = steps if (run + number) % 2 == 0 else list(reversed(steps))
        for step in ordered:
            step(block)


def measure_stack(
    sandbox: SandboxControl,
    api_key: str,
    scale: Scale,
    run: int,
    python_path: Sequence[str],
) -> StackRun:
    """Create and preview a stack with each provider, and post it raw.

    Each provider server is a fresh process. Its memory is read after the
    warm-up creates and after the timed creates.
    """
    job_type_id = fresh_job_type(sandbox)
    count = scale.warmup + scale.creates
    with ExitStack() as stack:
        servers = {
            variant.label: stack.enter_context(
                start_provider(sandbox, api_key, python_path)
            )
            for variant in (PRODUCT, MINIMAL)
        }
        contenders = {
            variant.label: _ProviderContender(
                servers[variant.label],
                sandbox,
                job_openings(
                    count,
                    variant.type_token,
                    variant.provider_value,
                    job_type_id,
                    label=variant.label,
                ),
                scale.warmup,
            )
            for variant in (PRODUCT, MINIMAL)
        }
        raw_resources = job_openings(count, "raw", "", job_type_id, label="raw")
        raw = _RawContender(sandbox.base_url, api_key, raw_resources, scale.warmup)
        return _measure_contenders(raw, contenders, scale, run)


def _measure_contenders(
    raw: _RawContender,
    contenders: dict[str, _ProviderContender],
    scale: Scale,
    run: int,
) -> StackRun:
    product, minimal = contenders[PRODUCT.label], contenders[MINIMAL.label]
    for contender in (raw, minimal, product):
        contender.warm_up()
    rss_after_warmup = {label: c.server.rss() for label, c in contenders.items()}

    creates = [raw.create_block, minimal.create_block, product.create_block]
    interleave(creates, scale.creates, run)
    rss_after_creates = {label: c.server.rss() for label, c in contenders.items()}

    interleave([minimal.preview_block, product.preview_block], scale.creates, run)

    runs = {
        label: ProviderRun(
            contender.create_seconds,
            contender.create_cpu_seconds,
            rss_after_warmup[label],
            rss_after_creates[label],
            _combine(contender.previews),
            contender.preview_requests,
            state_size(contender.state),
        )
        for label, contender in contenders.items()
    }
    return StackRun(raw.create_seconds, runs[PRODUCT.label], runs[MINIMAL.label])


def _combine(previews: Sequence[PreviewResult]) -> PreviewResult:
    changes: dict[str, int] = {}
    for preview in previews:
        for change, count in preview.changes.items():
            changes[change] = changes.get(change, 0) + count
    return PreviewResult(
        sum(preview.seconds for preview in previews),
        sum(preview.failures for preview in previews),
        changes,
    )


@dataclass(frozen=True)
class RateLimitedRun:
    """Creates against a rate-limited sandbox: time, outcomes and 429s."""

    seconds: float
    created: int
    failed: int
    rate_limited: int
    requests: int
    first_failure: str


def measure_rate_limited(
    sandbox: SandboxControl, api_key: str, scale: Scale, python_path: Sequence[str]
) -> RateLimitedRun:
    """Time creates against a sandbox that responds 429 above its rate limit.

    One Check loads the provider first, so the timed creates do not include
    importing alpharun_provider. The sandbox's token bucket contains at most
    ``burst`` tokens, so a pause before the first create cannot raise the
    number of requests it accepts at once.
    """
    job_type_id = fresh_job_type(sandbox)
    resources = job_openings(
        scale.rate_creates + 1, PRODUCT.type_token, PRODUCT.provider_value, job_type_id
    )
    requests = create_requests(resources[:-1])
    with start_provider(sandbox, api_key, python_path) as provider:
        tasks = [_tolerant_create(provider, request) for request in requests]
        _load_provider(provider, resources[-1])
        sandbox.set_faults(rate_limit=scale.rate_limit, burst=scale.burst)
        seconds, failures = run_concurrently(tasks, WORKERS)
        stats = sandbox.stats()
        sandbox.set_faults()
    errors = [failure for failure in failures if failure is not None]
    return RateLimitedRun(
        seconds=seconds,
        created=int(stats["by_status"].get("200", 0)),
        failed=len(errors),
        rate_limited=int(stats["rate_limited"]),
        requests=int(stats["requests"]),
        first_failure=errors[0] if errors else "",
    )


def _load_provider(provider: ProviderProcess, resource: Resource) -> None:
    inputs = to_struct(resource.inputs)
    provider.call(
        "Check", provider_pb2.CheckRequest(urn=resource.urn, olds=inputs, news=inputs)
    )


def _tolerant_create(provider: ProviderProcess, request: Any) -> Callable[[int], Any]:
    """Return a task that sends one Create and returns its error or None."""

    def task(worker: int) -> str | None:
        try:
            provider.call("Create", request)
        except ProviderError as error:
            return str(error).strip().splitlines()[-1]
        return None

    return task


@dataclass(frozen=True)
class ImportSample:
    """Import seconds in fresh interpreters.

    ``baseline`` imports pulumi and requests, ``product`` imports
    alpharun_provider, and ``increment`` imports alpharun_provider after
    pulumi and requests are loaded, outside the timed part.
    """

    baseline: float
    product: float
    increment: float


@dataclass(frozen=True)
class RunSample:
    """Everything one run measured."""

    stack: StackRun
    rate_limited: RateLimitedRun
    imports: list[ImportSample]


def measure_imports(pairs: int, first: int) -> list[ImportSample]:
    """Time ``pairs`` baseline and product imports; the order alternates."""
    samples = []
    for index in range(pairs):
        if (first + index) % 2 == 0:
            baseline = import_seconds("pulumi, requests")
            product = import_seconds("alpharun_provider")
        else:
            product = import_seconds("alpharun_provider")
            baseline = import_seconds("pulumi, requests")
        increment = import_seconds("alpharun_provider", preloaded="pulumi, requests")
        samples.append(ImportSample(baseline, product, increment))
    return samples
