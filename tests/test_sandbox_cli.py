"""The ``python -m alpharun_provider.sandbox`` command run as a subprocess."""

from __future__ import annotations

import itertools
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest
import requests

import alpharun_provider.sandbox

API_KEY = "cli-test-key-51b7e2"
DESCRIPTION = "Runs the store, leads the team and keeps the shelves stocked."
BASE_URL_PATTERN = re.compile(r"http://127\.0\.0\.1:\d+/api/v1")
START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 10.0
# The directory that contains the alpharun_provider package, for the child's cwd.
PACKAGE_ROOT = Path(alpharun_provider.sandbox.__file__).resolve().parents[2]


class SandboxProcess:
    """A running sandbox subprocess whose stdout lines a thread collects."""

    def __init__(self, process: subprocess.Popen[str], stderr: IO[str]) -> None:
        self.process = process
        self._stderr = stderr
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))

    def read_line(self) -> str:
        """Return the next stdout line; fail the test after 20 seconds."""
        try:
            return self._lines.get(timeout=START_TIMEOUT_SECONDS)
        except queue.Empty:
            pytest.fail("the sandbox printed no line within 20 s")

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        """Send ``signum`` and return the exit status and stderr."""
        self.process.send_signal(signum)
        status = self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        return status, self.stderr()

    def stderr(self) -> str:
        """Return what the process has written to stderr so far."""
        self._stderr.seek(0)
        return self._stderr.read()


@contextmanager
def run_sandbox(*options: str) -> Iterator[SandboxProcess]:
    """Start the sandbox command on a free port and kill it if the test fails."""
    command = [sys.executable, "-m", "alpharun_provider.sandbox", "--port", "0"]
    # stderr goes to a file, because a full pipe would block the server's logging.
    with tempfile.TemporaryFile(mode="w+") as stderr:
        process = subprocess.Popen(
            [*command, *options],
            cwd=PACKAGE_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            yield SandboxProcess(process, stderr)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            assert process.stdout is not None
            process.stdout.close()


def create_opening(base_url: str, api_key: str = API_KEY) -> requests.Response:
    """POST a valid job opening with an inline job type."""
    body = {
        "name": "Store Manager - Austin",
        "job_type": {"job_description": DESCRIPTION},
    }
    headers = {"Authorization": f"Bearer {api_key}"}
    return requests.post(
        f"{base_url}/job-openings", json=body, headers=headers, timeout=10
    )


def test_cli_serves_and_stops(tmp_path: Path) -> None:
    db_path = str(tmp_path / "sandbox.db")
    with run_sandbox("--api-key", API_KEY, "--db", db_path) as sandbox:
        base_url = sandbox.read_line()
        response = create_opening(base_url)
        status, stderr = sandbox.stop()

    assert BASE_URL_PATTERN.fullmatch(base_url)
    assert response.status_code == 200
    assert status == 0
    assert "POST /api/v1/job-openings 200" in stderr
    assert "sandbox stopped" in stderr


def test_cli_restart_keeps_state(tmp_path: Path) -> None:
    db_path = str(tmp_path / "sandbox.db")
    with run_sandbox("--api-key", API_KEY, "--db", db_path) as first:
        created = create_opening(first.read_line()).json()
        first.stop()

    with run_sandbox("--api-key", API_KEY, "--db", db_path) as second:
        base_url = second.read_line()
        root_url = base_url.removesuffix("/api/v1")
        openings = requests.get(f"{root_url}/_sandbox/job-openings", timeout=10).json()
        again = create_opening(base_url)
        status, _ = second.stop()

    [opening] = openings["job_openings"]
    assert opening["id"] == created["data"]["job_opening"]["id"]
    assert again.status_code == 409
    assert status == 0


def test_cli_sigint(tmp_path: Path) -> None:
    with run_sandbox("--api-key", API_KEY) as sandbox:
        sandbox.read_line()
        status, _ = sandbox.stop(signal.SIGINT)

    assert status == 0


def test_cli_generated_key() -> None:
    with run_sandbox() as sandbox:
        base_url = sandbox.read_line()
        key_line = sandbox.read_line()
        api_key = key_line.removeprefix("API key: ")
        response = create_opening(base_url, api_key)
        _, stderr = sandbox.stop()

    assert key_line.startswith("API key: ")
    assert response.status_code == 200
    assert api_key not in stderr


def test_cli_log_omits_key() -> None:
    with run_sandbox("--api-key", API_KEY, "--log-level", "debug") as sandbox:
        base_url = sandbox.read_line()
        create_opening(base_url)
        create_opening(base_url, "wrong-key-3c09")
        _, stderr = sandbox.stop()

    assert "POST /api/v1/job-openings 401" in stderr
    assert API_KEY not in stderr
    assert "wrong-key-3c09" not in stderr


def test_cli_options_as_faults() -> None:
    options = [
        "--api-key",
        API_KEY,
        "--latency-ms",
        "5",
        "--rate-limit",
        "2",
        "--burst",
        "3",
    ]
    with run_sandbox(*options) as sandbox:
        root_url = sandbox.read_line().removesuffix("/api/v1")
        faults = requests.get(f"{root_url}/_sandbox/faults", timeout=10).json()
        sandbox.stop()

    assert faults["latency_ms"] == 5
    assert faults["rate_limit"] == {"rps": 2.0, "burst": 3}


@pytest.mark.parametrize(
    "options",
    [
        ["--port", "abc"],
        ["--port", "70000"],
        ["--port", "-1"],
        ["--rate-limit", "0"],
        ["--burst", "0"],
        ["--latency-ms", "-1"],
        ["--api-key", ""],
        ["--api-key", "  "],
    ],
    ids=[
        "port",
        "port_too_large",
        "port_negative",
        "rate_limit",
        "burst",
        "latency",
        "api_key_empty",
        "api_key_blank",
    ],
)
def test_cli_invalid_option(options: list[str]) -> None:
    with run_sandbox(*options) as sandbox:
        status = sandbox.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        stderr = sandbox.stderr()

    assert status == 2
    assert f"error: argument {options[0]}: " in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("missing/sandbox.db", "does not exist"),
        (".", "is a directory"),
        ("notes.txt", "file is not a database"),
    ],
    ids=["missing_directory", "directory", "not_database"],
)
def test_cli_invalid_db(tmp_path: Path, name: str, expected: str) -> None:
    (tmp_path / "notes.txt").write_text("plain text, not SQLite\n" * 100)
    db_path = str(tmp_path / name)

    with run_sandbox("--db", db_path) as sandbox:
        status = sandbox.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        stderr = sandbox.stderr()

    lines = stderr.strip().splitlines()
    assert status == 2
    assert len(lines) == 1
    assert lines[0].startswith("alpharun-sandbox: error: argument --db: ")
    assert db_path in lines[0]
    assert expected in lines[0]


def test_cli_repeated_signals() -> None:
    # Signals keep arriving until the process has exited, which covers the
    # interpreter shutdown after main() returns.
    with run_sandbox("--api-key", API_KEY) as sandbox:
        sandbox.read_line()
        process = sandbox.process
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        signals = itertools.cycle([signal.SIGTERM, signal.SIGINT])
        while process.poll() is None and time.monotonic() < deadline:
            process.send_signal(next(signals))
            time.sleep(0.005)
        status = process.wait(timeout=STOP_TIMEOUT_SECONDS)

    assert status == 0
