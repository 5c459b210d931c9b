"""Fixtures shared by the test suite: the sandbox server and a clean runtime."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator

import pytest
import requests

from alpharun_provider.provider import runtime
from alpharun_provider.sandbox import Sandbox

# A key unique to this run, so a search for it in any output finds only leaks.
API_KEY = "sk-test-" + secrets.token_hex(16)

# Every test server is on loopback; a proxy from the environment must not
# carry the requests anywhere else.
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    """One sandbox for the session; tests get it reset through `sandbox`."""
    with Sandbox(api_key=API_KEY, port=0) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Sandbox:
    """The session's sandbox, emptied of state, faults and counters."""
    sandbox_server.reset()
    return sandbox_server


@pytest.fixture
def client() -> Iterator[requests.Session]:
    """A requests session that sends the sandbox's API key."""
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {API_KEY}"
        yield session


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Remove ALPHARUN_* variables and forget settings and clients after use."""
    for variable in list(os.environ):
        if variable.startswith("ALPHARUN_"):
            monkeypatch.delenv(variable)
    yield
    runtime.reset()
    logging.getLogger("alpharun_provider").setLevel(logging.NOTSET)


@pytest.fixture(autouse=True)
def key_absent_from_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail any test whose captured log records contain the API key."""
    yield
    leaked = [r.name for r in caplog.records if API_KEY in r.getMessage()]
    assert leaked == [], f"API key logged by {leaked}"


@pytest.fixture
def sandbox_env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point the providers at the sandbox through the environment."""
    env = {"ALPHARUN_API_URL": sandbox.base_url, "ALPHARUN_API_KEY": API_KEY}
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    return env
