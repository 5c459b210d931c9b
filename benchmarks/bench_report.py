"""The benchmark's figures: medians of the samples, targets and printing."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from bench_measure import RunSample, Scale

PACKAGES = ("pulumi", "requests", "grpcio", "protobuf", "dill", "alpharun-provider")
MB = 1_000_000  # bytes; memory growth is reported in decimal megabytes


@dataclass(frozen=True)
class Figure:
    """One reported figure with its target; ``passed`` is None without one."""

    key: str
    label: str
    value: float
    text: str  # value as printed, with its unit
    target: str
    passed: bool | None
    detail: str


def machine_info() -> dict[str, Any]:
    """Return the cores, memory, CPU model, Python and package versions."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
    }


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def print_machine(
    machine: dict[str, Any], scale: Scale, runs: int, workers: int, block: int
) -> None:
    """Print the machine and the sizes of this run."""
    packages = ", ".join(f"{name} {v}" for name, v in machine["packages"].items())
    print(
        f"Machine: {machine['cores']} cores, {machine['memory_gib']} GiB, "
        f"{machine['cpu']}, {machine['platform']}"
    )
    print(f"Python {machine['python']}; {packages}")
    print(
        f"Runs: {runs}. Creates: {scale.creates} timed after {scale.warmup} "
        f"warm-up, {workers} concurrent calls, contenders alternating every "
        f"{block}. Rate limit: {scale.rate_creates} "
        f"creates at {scale.rate_limit:g} requests/s, burst {scale.burst}.",
        flush=True,
    )


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def _spread(values: Sequence[float], unit: Callable[[float], str]) -> str:
    return f"runs: {', '.join(unit(value) for value in values)}"


def _ratio(value: float) -> str:
    return f"{value:.3f}"


def summarize(samples: Sequence[RunSample], scale: Scale) -> list[Figure]:
    """Turn the samples of every run into the reported figures."""
    return [
        *_create_figures(samples, scale),
        *_rate_limited_figures(samples, scale),
        *_preview_figures(samples, scale),
        *_state_figures(samples),
        _import_figure(samples),
        _memory_figure(samples, scale),
    ]


def _create_figures(samples: Sequence[RunSample], scale: Scale) -> list[Figure]:
    product = [s.stack.product.create_seconds for s in samples]
    minimal = [s.stack.minimal.create_seconds for s in samples]
    raw = [s.stack.raw_seconds for s in samples]
    vs_minimal = [p / m for p, m in zip(product, minimal)]
    vs_raw = [p / r for p, r in zip(product, raw)]

    def per_create(values: list[float]) -> str:
        return f"{_median(values) / scale.creates * 1000:.2f} ms"

    product_cpu = [s.stack.product.create_cpu_seconds for s in samples]
    minimal_cpu = [s.stack.minimal.create_cpu_seconds for s in samples]
    times = (
        f"per create (median wall time / {scale.creates}): product "
        f"{per_create(product)}, minimal provider {per_create(minimal)}, raw HTTP "
        f"{per_create(raw)}; provider process CPU per create: product "
        f"{per_create(product_cpu)}, minimal provider {per_create(minimal_cpu)}"
    )
    ratio_minimal = _median(vs_minimal)
    return [
        Figure(
            "create_vs_minimal",
            "Create time, product / minimal provider",
            ratio_minimal,
            _ratio(ratio_minimal),
            "<= 1.05",
            ratio_minimal <= 1.05,
            f"{times}; {_spread(vs_minimal, _ratio)}",
        ),
        Figure(
            "create_vs_raw",
            "Create time, product / raw HTTP",
            _median(vs_raw),
            _ratio(_median(vs_raw)),
            "-",
            None,
            _spread(vs_raw, _ratio),
        ),
    ]


def _rate_limited_figures(samples: Sequence[RunSample], scale: Scale) -> list[Figure]:
    runs = [s.rate_limited for s in samples]
    ideal = (scale.rate_creates - scale.burst) / scale.rate_limit
    slowdown = [run.seconds / ideal for run in runs]
    rejected = [run.rate_limited / max(run.created, 1) for run in runs]
    failed = sum(run.failed for run in runs)
    outcome = (
        f"median {_median([run.seconds for run in runs]):.1f} s against ideal "
        f"({scale.rate_creates} - {scale.burst}) / {scale.rate_limit:g} = "
        f"{ideal:.2f} s"
    )
    failures = f"; failed creates {failed}"
    if failed:
        first = next(run.first_failure for run in runs if run.failed)
        failures += f" (first: {first})"
    counts = ", ".join(
        f"{run.rate_limited}x429/{run.requests} requests" for run in runs
    )
    return [
        Figure(
            "rate_limited_time",
            "Rate-limited creates, time / ideal",
            _median(slowdown),
            _ratio(_median(slowdown)),
            "<= 1.2",
            _median(slowdown) <= 1.2 and failed == 0,
            f"{outcome}{failures}; {_spread(slowdown, _ratio)}",
        ),
        Figure(
            "rate_limited_refusals",
            "Rate-limited creates, 429 per create",
            _median(rejected),
            f"{_median(rejected):.3f}",
            "<= 0.1",
            _median(rejected) <= 0.1,
            f"runs: {counts}",
        ),
    ]


def _preview_figures(samples: Sequence[RunSample], scale: Scale) -> list[Figure]:
    requests = [s.stack.product.preview_requests for s in samples]
    product = [s.stack.product.preview.seconds for s in samples]
    minimal = [s.stack.minimal.preview.seconds for s in samples]
    failures = sum(s.stack.product.preview.failures for s in samples)
    changes: dict[str, int] = {}
    for sample in samples:
        for change, count in sample.stack.product.preview.changes.items():
            changes[change] = changes.get(change, 0) + count
    per_resource = _median(product) / scale.creates * 1000
    per_resource_minimal = _median(minimal) / scale.creates * 1000
    ratios = [p / m for p, m in zip(product, minimal)]
    return [
        Figure(
            "preview_requests",
            "Preview, HTTP requests to the API",
            max(requests),
            f"{max(requests)}",
            "0",
            max(requests) == 0,
            f"max over runs of {scale.creates} resources; Diff results of all "
            f"runs {changes}; check failures {failures}",
        ),
        Figure(
            "preview_time",
            "Preview, time per resource",
            per_resource,
            f"{per_resource:.2f} ms",
            "-",
            None,
            f"Check + Diff, {scale.creates} resources; minimal provider "
            f"{per_resource_minimal:.2f} ms; product / minimal "
            f"{_median(ratios):.3f}",
        ),
    ]


def _state_figures(samples: Sequence[RunSample]) -> list[Figure]:
    product = samples[0].stack.product.state
    minimal = samples[0].stack.minimal.state
    return [
        Figure(
            "provider_bytes",
            "State, __provider bytes",
            product.provider_bytes,
            f"{product.provider_bytes} B",
            "<= 200 B",
            product.provider_bytes <= 200,
            f"minimal provider {minimal.provider_bytes} B; __provider is stored "
            "in both inputs and outputs",
        ),
        Figure(
            "output_bytes",
            "State, outputs per resource",
            product.outputs_bytes,
            f"{product.outputs_bytes:.0f} B",
            "-",
            None,
            f"compact JSON, __provider included; minimal provider "
            f"{minimal.outputs_bytes:.0f} B",
        ),
    ]


def _import_figure(samples: Sequence[RunSample]) -> Figure:
    imports = [item for sample in samples for item in sample.imports]
    increment = _median([item.increment for item in imports]) * 1000
    difference = _median([item.product - item.baseline for item in imports]) * 1000
    baseline = _median([item.baseline for item in imports]) * 1000
    product = _median([item.product for item in imports]) * 1000
    return Figure(
        "import_overhead",
        "Start, import time over pulumi + requests",
        increment,
        f"{increment:.1f} ms",
        "<= 50 ms",
        increment <= 50,
        f"import alpharun_provider after pulumi and requests, median of "
        f"{len(imports)}; full imports: alpharun_provider {product:.0f} ms, "
        f"pulumi + requests {baseline:.0f} ms, paired difference {difference:.1f} ms",
    )


def _memory_figure(samples: Sequence[RunSample], scale: Scale) -> Figure:
    def growth(label: str) -> list[float]:
        return [
            (run.rss_after_creates - run.rss_after_warmup) / MB
            for run in (getattr(s.stack, label) for s in samples)
        ]

    product = growth("product")
    after = _median([s.stack.product.rss_after_creates / MB for s in samples])
    value = _median(product)
    return Figure(
        "memory_growth",
        f"Memory, RSS growth over {scale.creates} creates",
        value,
        f"{value:.1f} MB",
        "< 20 MB",
        value < 20,
        f"product RSS {after:.0f} MB after {scale.warmup + scale.creates} "
        f"creates; minimal provider growth {_median(growth('minimal')):.1f} MB; "
        f"{_spread(product, lambda v: f'{v:.1f}')}",
    )


def print_figures(figures: list[Figure]) -> None:
    """Print each figure with its target and pass or miss, then its detail."""
    print()
    print(f"{'Figure':<44} {'Value':>10}  {'Target':<9} Result")
    for figure in figures:
        result = "-"
        if figure.passed is not None:
            result = "pass" if figure.passed else "MISS"
        print(f"{figure.label:<44} {figure.text:>10}  {figure.target:<9} {result}")
        print(f"    {figure.detail}")
