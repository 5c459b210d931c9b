"""Benchmark the JobOpening provider against baselines, side by side.

Run ``python benchmarks/run.py`` from the repository root. It starts the
sandbox API server and the SDK's provider server as child processes, measures
six figures and prints each with its target. Every figure is the median of
``--runs`` runs. Where a figure has a baseline, the baseline and the product
are measured back to back, in blocks whose order alternates. docs/benchmarks.md
describes the method and the figures of a full run.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench_measure import (
    BLOCK_SIZE,
    WORKERS,
    RunSample,
    Scale,
    fresh_job_type,
    measure_imports,
    measure_rate_limited,
    measure_stack,
)
from bench_report import Figure, machine_info, print_figures, print_machine, summarize
from bench_servers import (
    LOOPBACK_HOSTS,
    ProviderError,
    SandboxControl,
    SandboxProcess,
)
from bench_workloads import import_seconds, post_round_trip

BENCH_DIR = str(Path(__file__).resolve().parent)
ROUND_TRIPS = 20

FULL = Scale(
    creates=1000, warmup=10, rate_limit=20.0, burst=5, rate_creates=400, import_pairs=3
)
QUICK = Scale(
    creates=50, warmup=10, rate_limit=20.0, burst=5, rate_creates=40, import_pairs=1
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK.creates} creates, {QUICK.rate_creates} "
        "rate-limited creates and 2 runs unless --runs is given",
    )
    parser.add_argument(
        "--runs",
        type=int,
        help="paired runs per figure; the median is reported (default 5, or 2 "
        "with --quick)",
    )
    parser.add_argument(
        "--json", metavar="FILE", help="also write the figures and samples to FILE"
    )
    options = parser.parse_args(argv)
    if options.runs is not None and options.runs < 1:
        parser.error(f"--runs must be at least 1, not {options.runs}")
    return options


def measure_run(
    sandbox: SandboxControl, api_key: str, scale: Scale, run: int
) -> RunSample:
    """Measure the stack, the rate-limited creates and the imports once."""
    return RunSample(
        stack=measure_stack(sandbox, api_key, scale, run, [BENCH_DIR]),
        rate_limited=measure_rate_limited(sandbox, api_key, scale, [BENCH_DIR]),
        imports=measure_imports(scale.import_pairs, run),
    )


def probe_sandbox(sandbox: SandboxControl, api_key: str) -> float:
    """Return the median milliseconds of one POST, sent one at a time."""
    job_type_id = fresh_job_type(sandbox)
    seconds = post_round_trip(sandbox.base_url, api_key, job_type_id, ROUND_TRIPS)
    return seconds * 1000


def collect(scale: Scale, runs: int) -> tuple[float, list[RunSample]]:
    """Start the sandbox and measure ``runs`` paired runs.

    Returns the sandbox's POST round trip in milliseconds and the samples.
    """
    api_key = "sk-bench-" + secrets.token_hex(12)
    import_seconds("pulumi, requests, alpharun_provider")  # writes .pyc files
    samples = []
    with SandboxProcess(api_key) as sandbox:
        round_trip = probe_sandbox(sandbox, api_key)
        print(
            f"Sandbox: one POST /job-openings takes {round_trip:.1f} ms "
            f"(median of {ROUND_TRIPS}, one at a time, no injected latency)",
            flush=True,
        )
        for run in range(runs):
            started = time.monotonic()
            samples.append(measure_run(sandbox, api_key, scale, run))
            print(
                f"run {run + 1}/{runs} done in {time.monotonic() - started:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    return round_trip, samples


def write_json(
    path: str,
    machine: dict[str, Any],
    scale: Scale,
    figures: list[Figure],
    samples: list[RunSample],
) -> None:
    """Write the machine, sizes, figures and every sample as JSON."""
    document = {
        "machine": machine,
        "scale": asdict(scale),
        "figures": [asdict(figure) for figure in figures],
        "samples": [asdict(sample) for sample in samples],
    }
    Path(path).write_text(json.dumps(document, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the figures and return the exit status."""
    options = parse_args(argv)
    scale = QUICK if options.quick else FULL
    runs = options.runs or (2 if options.quick else 5)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = LOOPBACK_HOSTS
    machine = machine_info()
    print_machine(machine, scale, runs, WORKERS, BLOCK_SIZE)
    started = time.monotonic()
    try:
        round_trip, samples = collect(scale, runs)
    except (ProviderError, RuntimeError) as error:
        print(f"Benchmark failed: {error}", file=sys.stderr)
        return 1
    machine["sandbox_post_ms"] = round(round_trip, 2)
    figures = summarize(samples, scale)
    print_figures(figures)
    print(f"\nTotal time: {time.monotonic() - started:.0f} s")
    if options.json:
        write_json(options.json, machine, scale, figures, samples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
