"""AlpharunClient against the sandbox: results, errors, retries and pacing."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
from conftest import API_KEY

from alpharun_provider.client import (
    MAX_RESPONSE_BYTES,
    AlpharunClient,
    _retry_after,
)
from alpharun_provider.config import Settings
from alpharun_provider.errors import (
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)
from alpharun_provider.pacing import Pacer
from alpharun_provider.sandbox import Sandbox

DESCRIPTION = "Runs the store: staff, stock, opening and closing."


class Sleeps:
    """Records requested waits instead of sleeping, for retry tests."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class PacerClock:
    """A pacer clock that moves forward by each sleep instead of sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.offset += seconds


def make_client(
    sandbox: Sandbox, sleeps: Sleeps | None = None, **overrides: Any
) -> AlpharunClient:
    settings = Settings(
        api_key=overrides.pop("api_key", API_KEY),
        api_url=overrides.pop("api_url", sandbox.base_url),
        timeout=overrides.pop("timeout", 5.0),
        max_attempts=overrides.pop("max_attempts", 5),
        max_retry_time=overrides.pop("max_retry_time", 60.0),
    )
    clock = PacerClock()
    pacer = Pacer(clock=clock.now, sleep=clock.sleep)
    return AlpharunClient(settings, pacer=pacer, sleep=sleeps or Sleeps())


def opening_body(sandbox: Sandbox, name: str = "Store Manager - Austin") -> dict:
    job_type = sandbox.create_job_type(
        name=f"Type for {name}", job_description=DESCRIPTION
    )
    return {"name": name, "job_type_id": job_type["id"]}


def fault(status: int | None = None, **entry: Any) -> dict[str, Any]:
    return {"method": "POST", "path": "/job-openings", "status": status, **entry}


def test_create_returns_link_and_ids(sandbox: Sandbox) -> None:
    body = opening_body(sandbox)
    created = make_client(sandbox).create_job_opening(body)
    stored = sandbox.job_openings()
    assert [opening["id"] for opening in stored] == [created.id]
    assert created.interview_link == stored[0]["interview_link"]
    assert created.job_type_id == body["job_type_id"]


def test_create_with_inline_job_type(sandbox: Sandbox) -> None:
    body = {"name": "Cashier - Austin", "job_type": {"job_description": DESCRIPTION}}
    created = make_client(sandbox).create_job_opening(body)
    job_type_ids = [job_type["id"] for job_type in sandbox.job_types()]
    assert job_type_ids == [created.job_type_id]


def test_update_job_type_returns_job_type(sandbox: Sandbox) -> None:
    job_type = sandbox.create_job_type(name="Cashier", job_description=DESCRIPTION)
    updated = make_client(sandbox).update_job_type(
        job_type["id"], {"should_record_video": True}
    )
    assert updated["id"] == job_type["id"]
    assert updated["should_record_video"] is True


def test_wrong_key_raises_authentication_error(sandbox: Sandbox) -> None:
    client = make_client(sandbox, api_key="sk-wrong-key")
    with pytest.raises(AuthenticationError) as caught:
        client.create_job_opening(opening_body(sandbox))
    assert caught.value.status == 401
    assert "sk-wrong-key" not in str(caught.value)


def test_duplicate_name_raises_conflict(sandbox: Sandbox) -> None:
    body = opening_body(sandbox)
    client = make_client(sandbox)
    client.create_job_opening(body)
    with pytest.raises(ConflictError) as caught:
        client.create_job_opening(body)
    assert caught.value.status == 409
    assert caught.value.outcome_unknown is False


def test_invalid_body_carries_api_message(sandbox: Sandbox) -> None:
    body = {**opening_body(sandbox), "name": "ab"}
    with pytest.raises(InvalidRequestError) as caught:
        make_client(sandbox).create_job_opening(body)
    assert "name" in caught.value.api_message
    assert caught.value.api_message in str(caught.value)


def test_unknown_job_type_raises_not_found(sandbox: Sandbox) -> None:
    missing = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    with pytest.raises(NotFoundError) as caught:
        make_client(sandbox).update_job_type(missing, {"name": "Cashier"})
    assert caught.value.path == f"/job-types/{missing}"


def test_429_waits_retry_after_then_succeeds(sandbox: Sandbox) -> None:
    sandbox.set_faults(script=[fault(429, headers={"Retry-After": "3"})])
    sleeps = Sleeps()
    make_client(sandbox, sleeps).create_job_opening(opening_body(sandbox))
    assert 3.0 in sleeps.waits
    assert len(sandbox.job_openings()) == 1


def test_429_without_retry_after_backs_off(sandbox: Sandbox) -> None:
    sandbox.set_faults(script=[fault(429, times=2)])
    sleeps = Sleeps()
    make_client(sandbox, sleeps).create_job_opening(opening_body(sandbox))
    assert len(sleeps.waits) >= 2
    assert len(sandbox.job_openings()) == 1


def test_503_is_retried_for_create(sandbox: Sandbox) -> None:
    sandbox.set_faults(script=[fault(503, times=2)])
    make_client(sandbox).create_job_opening(opening_body(sandbox))
    assert len(sandbox.job_openings()) == 1
    assert sandbox.stats()["requests"] == 3


def test_backoff_grows_between_attempts(sandbox: Sandbox) -> None:
    sandbox.set_faults(script=[fault(503, times=3)])
    sleeps = Sleeps()
    make_client(sandbox, sleeps).create_job_opening(opening_body(sandbox))
    first, _, third = sleeps.waits
    assert third > first


def test_create_timeout_is_not_resent(sandbox: Sandbox) -> None:
    sandbox.set_faults(script=[fault(None, phase="after", delay_ms=1500)])
    client = make_client(sandbox, timeout=0.5)
    with pytest.raises(TransportError) as caught:
        client.create_job_opening(opening_body(sandbox, "Cook - Austin"))
    assert caught.value.outcome_unknown is True
    assert "read timeout" in str(caught.value)
    assert sandbox.stats()["requests"] == 1


def test_create_dropped_after_send_is_not_resent(sandbox: Sandbox) -> None:
    sandbox.set_faults(script=[fault(None, phase="after", drop=True)])
    with pytest.raises(TransportError) as caught:
        make_client(sandbox).create_job_opening(opening_body(sandbox))
    assert caught.value.outcome_unknown is True
    assert len(sandbox.job_openings()) == 1
    assert sandbox.stats()["requests"] == 1


def test_create_dropped_before_apply_is_not_resent(sandbox: Sandbox) -> None:
    sandbox.set_faults(script=[fault(None, drop=True)])
    with pytest.raises(TransportError) as caught:
        make_client(sandbox).create_job_opening(opening_body(sandbox))
    assert caught.value.outcome_unknown is True
    assert sandbox.job_openings() == []


@pytest.mark.parametrize("status", [500, 502, 504])
def test_create_server_error_is_not_resent(sandbox: Sandbox, status: int) -> None:
    sandbox.set_faults(script=[fault(status, phase="after")])
    with pytest.raises(ServerError) as caught:
        make_client(sandbox).create_job_opening(opening_body(sandbox))
    assert caught.value.outcome_unknown is True
    assert sandbox.stats()["requests"] == 1


@pytest.mark.parametrize("status", [502, 503, 504])
def test_patch_gateway_errors_are_retried(sandbox: Sandbox, status: int) -> None:
    job_type = sandbox.create_job_type(name="Cashier", job_description=DESCRIPTION)
    sandbox.set_faults(
        script=[{"method": "PATCH", "path": "/job-types/*", "status": status}]
    )
    updated = make_client(sandbox).update_job_type(job_type["id"], {"name": "Clerk"})
    assert updated["name"] == "Clerk"


def test_patch_timeout_is_retried(sandbox: Sandbox) -> None:
    job_type = sandbox.create_job_type(name="Cashier", job_description=DESCRIPTION)
    sandbox.set_faults(
        script=[
            {
                "method": "PATCH",
                "path": "/job-types/*",
                "phase": "after",
                "delay_ms": 1500,
            }
        ]
    )
    client = make_client(sandbox, timeout=0.5)
    updated = client.update_job_type(job_type["id"], {"name": "Clerk"})
    assert updated["name"] == "Clerk"


def test_refused_connection_is_retried(sandbox: Sandbox) -> None:
    sleeps = Sleeps()
    client = make_client(
        sandbox, sleeps, api_url="http://127.0.0.1:9/api/v1", max_attempts=3
    )
    with pytest.raises(TransportError) as caught:
        client.create_job_opening({"name": "Cook", "job_type_id": "x"})
    assert caught.value.outcome_unknown is False
    assert caught.value.attempts == 3
    assert len(sleeps.waits) == 2


def test_rate_limit_gives_up_after_max_attempts(sandbox: Sandbox) -> None:
    sandbox.set_faults(script=[fault(429, times=10, headers={"Retry-After": "1"})])
    client = make_client(sandbox, max_attempts=4)
    with pytest.raises(RateLimitedError) as caught:
        client.create_job_opening(opening_body(sandbox))
    assert caught.value.attempts == 4
    assert "gave up after 4 attempts" in str(caught.value)


def test_long_retry_after_exceeds_retry_time(sandbox: Sandbox) -> None:
    sandbox.set_faults(script=[fault(429, headers={"Retry-After": "600"})])
    client = make_client(sandbox, max_retry_time=30.0)
    with pytest.raises(RateLimitedError) as caught:
        client.create_job_opening(opening_body(sandbox))
    assert "alpharun:maxRetryTime" in str(caught.value)
    assert sandbox.stats()["requests"] == 1


def test_retry_after_http_date() -> None:
    wait = _retry_after("Wed, 21 Oct 2015 07:28:00 GMT")
    assert wait == 0.0


def test_retry_after_seconds() -> None:
    assert _retry_after("7") == 7.0


def test_retry_after_garbage_is_ignored() -> None:
    assert _retry_after("soon") is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<html><title>Bad Gateway</title></html>", "HTML page: Bad Gateway"),
        ("", "not JSON: (empty)"),
        ("[1, 2]", "JSON list"),
        ({"data": {}}, "without id, interview_link, job_type.id"),
        (
            {"data": {"job_opening": {"id": "1", "job_type": {"id": "2"}}}},
            "without interview_link",
        ),
        ("x" * (MAX_RESPONSE_BYTES + 1), "larger than"),
    ],
)
def test_create_unexpected_200_body(sandbox: Sandbox, body: Any, expected: str) -> None:
    sandbox.set_faults(script=[fault(200, body=body)])
    with pytest.raises(UnexpectedResponseError) as caught:
        make_client(sandbox).create_job_opening(opening_body(sandbox))
    assert expected in str(caught.value)
    assert caught.value.outcome_unknown is True


def test_html_error_page_is_summarised(sandbox: Sandbox) -> None:
    page = "<!DOCTYPE html><html><head><title>Oops</title></head><body>x</body>"
    sandbox.set_faults(script=[fault(500, body=page)])
    with pytest.raises(ServerError) as caught:
        make_client(sandbox).create_job_opening(opening_body(sandbox))
    assert caught.value.api_message == "an HTML page: Oops"


def test_one_log_line_per_call(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="alpharun_provider")
    make_client(sandbox).create_job_opening(opening_body(sandbox))
    lines = [r.getMessage() for r in caplog.records if r.name.endswith("client")]
    assert len(lines) == 1
    assert lines[0].startswith("POST /job-openings -> 200 in ")
    assert lines[0].endswith(" ms")


def test_retry_is_logged_with_attempt(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="alpharun_provider")
    sandbox.set_faults(script=[fault(503)])
    make_client(sandbox).create_job_opening(opening_body(sandbox))
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "attempt 1/5 failed (HTTP 503" in warnings[0]
    assert "retrying in" in warnings[0]


def test_key_absent_from_logs_and_errors(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.set_faults(script=[fault(503), fault(None, drop=True, phase="after")])
    client = make_client(sandbox)
    with pytest.raises(TransportError) as caught:
        client.create_job_opening(opening_body(sandbox))
    assert API_KEY not in caplog.text
    assert API_KEY not in str(caught.value)
    assert API_KEY not in repr(caught.value)


def test_client_repr_hides_key(sandbox: Sandbox) -> None:
    client = make_client(sandbox)
    assert API_KEY not in repr(client)
    assert API_KEY not in repr(client._auth)
    assert API_KEY not in repr(client._settings)


def test_parallel_creates_share_one_client(sandbox: Sandbox) -> None:
    job_type = sandbox.create_job_type(name="Cashier", job_description=DESCRIPTION)
    client = make_client(sandbox)
    errors: list[BaseException] = []

    def create_many(worker: int) -> None:
        for index in range(10):
            body = {"name": f"Cashier {worker}-{index}", "job_type_id": job_type["id"]}
            try:
                client.create_job_opening(body)
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)

    threads = [threading.Thread(target=create_many, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(sandbox.job_openings()) == 40


@pytest.mark.parametrize("status", [429, 503])
def test_conflict_after_resend_is_outcome_unknown(
    sandbox: Sandbox, status: int
) -> None:
    headers = {"Retry-After": "0"} if status == 429 else None
    sandbox.set_faults(script=[fault(status, phase="after", headers=headers)])
    with pytest.raises(ConflictError) as caught:
        make_client(sandbox).create_job_opening(opening_body(sandbox))
    assert caught.value.outcome_unknown is True
    assert len(sandbox.job_openings()) == 1


@pytest.mark.parametrize("header", ["nan", "inf", "-inf"])
def test_retry_after_not_finite_is_ignored(header: str) -> None:
    assert _retry_after(header) is None


def test_key_echoed_by_server_is_redacted(sandbox: Sandbox) -> None:
    body = {"error": {"message": f"token {API_KEY} is revoked"}}
    sandbox.set_faults(script=[fault(401, body=body)])
    with pytest.raises(AuthenticationError) as caught:
        make_client(sandbox).create_job_opening(opening_body(sandbox))
    assert API_KEY not in str(caught.value)
    assert API_KEY not in caught.value.api_message
    assert "token <API key> is revoked" in str(caught.value)
