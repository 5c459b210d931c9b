"""The benchmark's checks that do not depend on timing.

A preview through the SDK's provider server sends no request to the API, the
pickled provider stored in every resource stays small, and
``benchmarks/run.py --quick`` runs to the end.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import API_KEY
from provider_harness import sdk_provider_value
from pulumi.dynamic.dynamic import serialize_provider

from alpharun_provider import JobOpening, JobOpeningProvider
from alpharun_provider.sandbox import Sandbox

REPO_DIR = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_DIR / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))

from bench_servers import ProviderProcess
from bench_workloads import (
    job_openings,
    run_creates,
    run_preview,
    state_size,
)

TYPE_TOKEN = "pulumi-python:dynamic/alpharun:JobOpening"
PREVIEW_SIZE = 200
MAX_PROVIDER_BYTES = 200
QUICK_RUN_TIMEOUT = 120  # seconds; a quick run took 15 s on 2 cores


@pytest.fixture
def provider(sandbox: Sandbox) -> Iterator[ProviderProcess]:
    """A provider server configured for the sandbox, benchmarks importable."""
    with ProviderProcess(python_path=[str(BENCH_DIR)]) as server:
        server.configure(
            {"alpharun:apiKey": API_KEY, "alpharun:apiUrl": sandbox.base_url},
            ["alpharun:apiKey"],
        )
        yield server


def test_provider_value_matches_sdk() -> None:
    stored = sdk_provider_value(
        lambda: JobOpening(
            "austin",
            name="Store Manager - Austin",
            job_type_id="0b5e8a52-1c4b-4f0e-9a3e-2d7f1c9b6a10",
        )
    )
    assert stored == serialize_provider(JobOpeningProvider())


def test_provider_value_size_limit() -> None:
    value = serialize_provider(JobOpeningProvider())
    assert len(value.encode()) <= MAX_PROVIDER_BYTES


def test_preview_sends_no_requests(sandbox: Sandbox, provider: ProviderProcess) -> None:
    job_type = sandbox.create_job_type(
        name="Store Manager",
        job_description="Runs a store: hires and coaches the team, owns results.",
    )
    value = serialize_provider(JobOpeningProvider())
    resources = job_openings(PREVIEW_SIZE, TYPE_TOKEN, value, job_type["id"])
    _, state = run_creates(provider, resources, workers=4)
    before = sandbox.stats()["requests"]

    preview = run_preview(provider, state, workers=4)

    assert len(sandbox.job_openings()) == PREVIEW_SIZE
    assert sandbox.stats()["requests"] == before
    assert preview.failures == 0
    assert preview.changes == {"DIFF_NONE": PREVIEW_SIZE}
    assert state_size(state).provider_bytes <= MAX_PROVIDER_BYTES


def test_quick_run_completes(tmp_path: Path) -> None:
    report = tmp_path / "quick.json"
    completed = subprocess.run(
        [sys.executable, str(BENCH_DIR / "run.py"), "--quick", "--json", str(report)],
        check=False,
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        timeout=QUICK_RUN_TIMEOUT,
    )

    assert completed.returncode == 0, completed.stderr[-3000:]
    figures = {item["key"]: item for item in json.loads(report.read_text())["figures"]}
    assert figures["preview_requests"]["value"] == 0
    assert figures["provider_bytes"]["value"] <= MAX_PROVIDER_BYTES
    assert "Rate-limited creates, time / ideal" in completed.stdout
