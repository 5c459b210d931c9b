"""Sandbox fault injection, request stats and request logging."""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from conftest import API_KEY

from alpharun_provider.sandbox import InvalidRequest, Sandbox

DESCRIPTION = "Runs the store, leads the team and keeps the shelves stocked."


def create(
    sandbox: Sandbox,
    client: requests.Session,
    name: str = "Store Manager - Austin",
    **options: Any,
) -> requests.Response:
    """POST a valid job opening with an inline job type."""
    body = {"name": name, "job_type": {"job_description": DESCRIPTION}}
    return client.post(f"{sandbox.base_url}/job-openings", json=body, **options)


# Latency


def test_latency_delays_api(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(latency_ms=300)

    started = time.monotonic()
    create(sandbox, client)

    assert time.monotonic() - started >= 0.3


def test_latency_skips_control(sandbox: Sandbox) -> None:
    sandbox.set_faults(latency_ms=2000)

    started = time.monotonic()
    requests.get(f"{sandbox.root_url}/_sandbox/stats")

    assert time.monotonic() - started < 1.0


# Rate limit


def test_rate_limit_burst(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(rate_limit=0.5, burst=2)

    statuses = [create(sandbox, client, f"Opening {n}").status_code for n in range(3)]

    assert statuses == [200, 200, 429]


def test_rate_limit_retry_after(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(rate_limit=0.5, burst=1)
    create(sandbox, client)

    response = create(sandbox, client, "Other opening")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert response.json()["error"]["code"] == "rate_limited"


def test_rate_limit_retry_after_min(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(rate_limit=50, burst=1)
    create(sandbox, client)

    response = create(sandbox, client, "Other opening")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"


def test_rate_limit_refills(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(rate_limit=10, burst=1)
    create(sandbox, client)
    time.sleep(0.15)

    response = create(sandbox, client, "Other opening")

    assert response.status_code == 200


def test_rate_limit_not_applied(sandbox: Sandbox, client: requests.Session) -> None:
    # The rejected request is not applied: only the first opening exists.
    sandbox.set_faults(rate_limit=0.5, burst=1)
    create(sandbox, client)

    create(sandbox, client, "Other opening")

    assert [o["name"] for o in sandbox.job_openings()] == ["Store Manager - Austin"]


def test_rate_limit_counted(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(rate_limit=0.5, burst=1)
    for n in range(3):
        create(sandbox, client, f"Opening {n}")

    stats = sandbox.stats()

    assert stats["rate_limited"] == 2
    assert stats["by_status"] == {"200": 1, "429": 2}


def test_rate_limit_skips_control(sandbox: Sandbox) -> None:
    sandbox.set_faults(rate_limit=0.5, burst=1)

    statuses = [
        requests.get(f"{sandbox.root_url}/_sandbox/stats").status_code for _ in range(3)
    ]

    assert statuses == [200, 200, 200]


# Script, phase "before"


def test_script_status(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(
        script=[
            {
                "method": "POST",
                "path": "/job-openings",
                "status": 503,
                "headers": {"Retry-After": "3"},
            }
        ]
    )

    response = create(sandbox, client)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "3"
    assert response.json()["error"]["code"] == "service_unavailable"
    assert sandbox.job_openings() == []


def test_script_used_once(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(script=[{"path": "/job-openings", "status": 500}])

    statuses = [create(sandbox, client, f"Opening {n}").status_code for n in range(2)]

    assert statuses == [500, 200]


def test_script_times(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(script=[{"path": "/job-openings", "status": 502, "times": 2}])

    statuses = [create(sandbox, client, f"Opening {n}").status_code for n in range(3)]

    assert statuses == [502, 502, 200]


def test_script_order(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(
        script=[
            {"path": "/job-openings", "status": 503},
            {"path": "/job-openings", "status": 500},
        ]
    )

    statuses = [create(sandbox, client, f"Opening {n}").status_code for n in range(3)]

    assert statuses == [503, 500, 200]


def test_script_method_mismatch(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(script=[{"method": "PATCH", "path": "*", "status": 500}])

    response = create(sandbox, client)

    assert response.status_code == 200
    assert len(sandbox.faults()["script"]) == 1


def test_script_path_glob(sandbox: Sandbox, client: requests.Session) -> None:
    job_type = sandbox.create_job_type(
        name="Store Manager", job_description=DESCRIPTION
    )
    sandbox.set_faults(script=[{"path": "/job-types/*", "status": 500}])
    create_response = create(sandbox, client)

    patch_response = client.patch(
        f"{sandbox.base_url}/job-types/{job_type['id']}", json={"name": "Store Lead"}
    )

    assert create_response.status_code == 200
    assert patch_response.status_code == 500


def test_script_html_body(sandbox: Sandbox, client: requests.Session) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    sandbox.set_faults(script=[{"path": "/job-openings", "status": 502, "body": page}])

    response = create(sandbox, client)

    assert response.text == page
    assert response.headers["Content-Type"].startswith("text/html")


def test_script_json_body(sandbox: Sandbox, client: requests.Session) -> None:
    body = {"message": "Too many requests", "retry": True}
    sandbox.set_faults(script=[{"path": "/job-openings", "status": 429, "body": body}])

    response = create(sandbox, client)

    assert response.json() == body


def test_script_content_type(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(
        script=[
            {
                "path": "/job-openings",
                "status": 500,
                "body": "oops",
                "headers": {"Content-Type": "text/plain"},
            }
        ]
    )

    response = create(sandbox, client)

    assert response.headers["Content-Type"] == "text/plain"


def test_script_delay(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(
        script=[{"path": "/job-openings", "status": 504, "delay_ms": 300}]
    )

    started = time.monotonic()
    response = create(sandbox, client)

    assert response.status_code == 504
    assert time.monotonic() - started >= 0.3


def test_script_drop_before(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(script=[{"path": "/job-openings", "drop": True}])

    with pytest.raises(requests.ConnectionError):
        create(sandbox, client)

    assert sandbox.job_openings() == []
    assert sandbox.stats()["dropped"] == 1


def test_script_drop_then_reconnect(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(script=[{"path": "/job-openings", "drop": True}])
    with pytest.raises(requests.ConnectionError):
        create(sandbox, client)

    response = create(sandbox, client)

    assert response.status_code == 200


def test_script_ignores_auth(sandbox: Sandbox) -> None:
    # Scripted responses model faults in front of the API, so they come before auth.
    sandbox.set_faults(script=[{"path": "/job-openings", "status": 503}])

    response = requests.post(f"{sandbox.base_url}/job-openings", json={})

    assert response.status_code == 503


# Script, phase "after"


def test_script_after_status(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(
        script=[{"path": "/job-openings", "phase": "after", "status": 500}]
    )

    response = create(sandbox, client)

    assert response.status_code == 500
    assert len(sandbox.job_openings()) == 1


def test_script_after_drop(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(
        script=[{"path": "/job-openings", "phase": "after", "drop": True}]
    )

    with pytest.raises(requests.ConnectionError):
        create(sandbox, client)

    assert len(sandbox.job_openings()) == 1


def test_script_after_late(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(
        script=[{"path": "/job-openings", "phase": "after", "delay_ms": 1500}]
    )

    with pytest.raises(requests.ReadTimeout):
        create(sandbox, client, timeout=0.3)

    assert len(sandbox.job_openings()) == 1


def test_script_after_late_arrives(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(
        script=[{"path": "/job-openings", "phase": "after", "delay_ms": 200}]
    )

    started = time.monotonic()
    response = create(sandbox, client, timeout=5)

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.2


def test_script_parallel_times(sandbox: Sandbox) -> None:
    sandbox.set_faults(script=[{"path": "/job-openings", "status": 503, "times": 3}])
    headers = {"Authorization": f"Bearer {API_KEY}"}
    statuses: list[int] = []

    def post(n: int) -> None:
        body = {"name": f"Opening {n}", "job_type": {"job_description": DESCRIPTION}}
        response = requests.post(
            f"{sandbox.base_url}/job-openings", json=body, headers=headers, timeout=10
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses.count(503) == 3
    assert statuses.count(200) == 7


# Fault configuration endpoints


def test_faults_put_get(sandbox: Sandbox) -> None:
    config = {
        "latency_ms": 0,
        "rate_limit": {"rps": 100.0, "burst": 5},
        "script": [{"path": "/job-openings", "status": 500, "times": 2}],
    }

    put = requests.put(f"{sandbox.root_url}/_sandbox/faults", json=config)
    got = requests.get(f"{sandbox.root_url}/_sandbox/faults").json()

    assert put.status_code == 200
    assert got["rate_limit"] == {"rps": 100.0, "burst": 5}
    assert got["script"][0]["status"] == 500
    assert got["script"][0]["times"] == 2
    assert got["script"][0]["phase"] == "before"


def test_faults_put_applies(sandbox: Sandbox, client: requests.Session) -> None:
    config = {"script": [{"path": "/job-openings", "status": 500}]}
    requests.put(f"{sandbox.root_url}/_sandbox/faults", json=config)

    response = create(sandbox, client)

    assert response.status_code == 500


def test_faults_times_left(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(script=[{"path": "/job-openings", "status": 500, "times": 3}])

    create(sandbox, client)

    assert sandbox.faults()["script"][0]["times"] == 2


def test_faults_delete(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(rate_limit=0.5, script=[{"path": "*", "status": 500}])

    response = requests.delete(f"{sandbox.root_url}/_sandbox/faults")

    assert response.json() == {"latency_ms": 0, "rate_limit": None, "script": []}
    assert create(sandbox, client).status_code == 200


def entry(**fields: Any) -> dict[str, Any]:
    """Return a fault configuration with one script entry for /job-openings."""
    return {"script": [{"path": "/job-openings", "status": 503, **fields}]}


INVALID_FAULT_CASES = [
    ("latency", {"latency_ms": -1}, "latency_ms"),
    ("latency_huge", {"latency_ms": 10**17}, "latency_ms"),
    ("rps", {"rate_limit": {"rps": 0}}, "rate_limit.rps"),
    ("rps_tiny", {"rate_limit": {"rps": 5e-324}}, "rate_limit.rps"),
    ("rps_huge", {"rate_limit": {"rps": 100_001}}, "rate_limit.rps"),
    ("burst", {"rate_limit": {"rps": 1, "burst": 0}}, "rate_limit.burst"),
    ("phase", {"script": [{"phase": "during", "status": 500}]}, "script[0].phase"),
    ("status", {"script": [{"status": 700}]}, "script[0].status"),
    ("status_1xx", entry(status=103), "script[0].status"),
    ("no_answer", {"script": [{"path": "*"}]}, "script[0]"),
    ("header_value", entry(headers={"Retry-After": 1}), "script[0].headers"),
    ("delay_huge", entry(delay_ms=10**17), "script[0].delay_ms"),
    ("header_name_space", entry(headers={"X Test": "1"}), "script[0].headers"),
    ("header_name_colon", entry(headers={"X-Test:": "1"}), "script[0].headers"),
    ("header_name_empty", entry(headers={"": "1"}), "script[0].headers"),
    (
        "header_value_crlf",
        entry(headers={"X-Test": "1\r\nSet-Cookie: a=b"}),
        "script[0].headers.X-Test",
    ),
    ("header_value_lf", entry(headers={"X-Test": "1\n"}), "script[0].headers.X-Test"),
    (
        "header_value_euro",
        entry(headers={"X-Test": "\u20ac"}),
        "script[0].headers.X-Test",
    ),
    (
        "content_length",
        entry(headers={"Content-Length": "5"}),
        "script[0].headers.Content-Length",
    ),
    (
        "transfer_encoding",
        entry(headers={"Transfer-Encoding": "chunked"}),
        "script[0].headers.Transfer-Encoding",
    ),
    (
        "connection",
        entry(headers={"connection": "close"}),
        "script[0].headers.connection",
    ),
    ("no_content_body", entry(status=204, body="gone"), "script[0].body"),
    ("not_modified_body", entry(status=304, body={}), "script[0].body"),
    ("entry_unknown_key", entry(stauts=500), "script[0].stauts"),
    ("config_unknown_key", {"latency": 5}, "latency"),
    (
        "rate_limit_unknown_key",
        {"rate_limit": {"rps": 1, "brust": 2}},
        "rate_limit.brust",
    ),
    ("path_no_slash", entry(path="job-openings"), "script[0].path"),
]


@pytest.mark.parametrize(
    ("config", "field"),
    [case[1:] for case in INVALID_FAULT_CASES],
    ids=[case[0] for case in INVALID_FAULT_CASES],
)
def test_faults_invalid(sandbox: Sandbox, config: dict[str, Any], field: str) -> None:
    response = requests.put(f"{sandbox.root_url}/_sandbox/faults", json=config)

    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"].startswith(f"{field}")
    assert sandbox.faults() == {"latency_ms": 0, "rate_limit": None, "script": []}


def test_faults_rps_overflow(sandbox: Sandbox) -> None:
    # JSON has no infinity, but Python parses 1e400 as inf.
    response = requests.put(
        f"{sandbox.root_url}/_sandbox/faults",
        data=b'{"rate_limit": {"rps": 1e400}}',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"].startswith("rate_limit.rps: ")


def test_set_faults_nan_rps(sandbox: Sandbox) -> None:
    with pytest.raises(InvalidRequest, match=r"^rate_limit\.rps: "):
        sandbox.set_faults(rate_limit=float("nan"))


def test_faults_unknown_key_message(sandbox: Sandbox) -> None:
    response = requests.put(
        f"{sandbox.root_url}/_sandbox/faults", json=entry(stauts=500)
    )

    message = response.json()["error"]["message"]
    assert message.startswith("script[0].stauts: unknown field, expected one of ")
    assert "status" in message


def test_faults_at_limits(sandbox: Sandbox) -> None:
    config = {
        "latency_ms": 600_000,
        "rate_limit": {"rps": 0.001, "burst": 1},
        "script": [{"path": "*", "status": 500, "delay_ms": 600_000}],
    }

    low = requests.put(f"{sandbox.root_url}/_sandbox/faults", json=config)
    high = requests.put(
        f"{sandbox.root_url}/_sandbox/faults",
        json={"rate_limit": {"rps": 100_000}},
    )

    assert low.status_code == 200, low.text
    assert high.status_code == 200, high.text


def test_script_latin1_header(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.set_faults(
        script=[
            {"path": "/job-openings", "status": 503, "headers": {"X-Note": "caf\u00e9"}}
        ]
    )

    response = create(sandbox, client)

    assert response.status_code == 503
    assert response.headers["X-Note"] == "caf\u00e9"


@pytest.mark.parametrize("status", [204, 304])
def test_script_bodyless_status(
    sandbox: Sandbox, client: requests.Session, status: int
) -> None:
    sandbox.set_faults(script=[{"path": "/job-openings", "status": status}])

    response = create(sandbox, client)
    after = create(sandbox, client)

    assert response.status_code == status
    assert response.content == b""
    assert "Content-Length" not in response.headers
    assert after.status_code == 200


def test_set_faults_invalid(sandbox: Sandbox) -> None:
    with pytest.raises(InvalidRequest, match=r"^script\[0\]"):
        sandbox.set_faults(script=[{"path": "*", "delay_ms": 10}])


def test_initial_faults() -> None:
    with Sandbox(api_key=API_KEY, latency_ms=5, rate_limit=2.0, burst=3) as started:
        faults = started.faults()

    assert faults["latency_ms"] == 5
    assert faults["rate_limit"] == {"rps": 2.0, "burst": 3}


# Stats


def test_stats_counts(sandbox: Sandbox, client: requests.Session) -> None:
    create(sandbox, client)
    create(sandbox, client)
    requests.post(f"{sandbox.base_url}/job-openings", json={})
    requests.get(f"{sandbox.root_url}/_sandbox/job-openings")

    response = requests.get(f"{sandbox.root_url}/_sandbox/stats")

    assert response.json() == {
        "requests": 3,
        "by_status": {"200": 1, "401": 1, "409": 1},
        "rate_limited": 0,
        "dropped": 0,
        "send_errors": 0,
    }
    assert sandbox.stats() == response.json()


def test_send_error_counted(sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    # The client resets the connection while the scripted delay runs, so
    # the server's write of the 503 fails with ECONNRESET.
    sandbox.set_faults(
        script=[{"path": "/job-openings", "status": 503, "delay_ms": 1000}]
    )
    port = int(sandbox.root_url.rsplit(":", 1)[1])
    request = (
        b"POST /api/v1/job-openings HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Length: 0\r\n\r\n"
    )

    with caplog.at_level(logging.WARNING, logger="alpharun_provider.sandbox"):
        connection = socket.create_connection(("127.0.0.1", port), timeout=5)
        connection.sendall(request)
        wait_for(lambda: sandbox.stats()["requests"] == 1)
        reset_on_close = struct.pack("ii", 1, 0)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, reset_on_close)
        connection.close()
        wait_for(lambda: sandbox.stats()["send_errors"] == 1)

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert sandbox.stats()["send_errors"] == 1
    assert len(warnings) == 1
    assert warnings[0].getMessage().startswith("POST /api/v1/job-openings: ")


def wait_for(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` every 10 ms for up to 5 seconds."""
    deadline = time.monotonic() + 5.0
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the condition did not hold within 5 s")
        time.sleep(0.01)


# Logging


def test_log_line_per_request(
    sandbox: Sandbox, client: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="alpharun_provider.sandbox"):
        create(sandbox, client)

    lines = [
        r.getMessage() for r in caplog.records if r.name == "alpharun_provider.sandbox"
    ]
    assert len(lines) == 1
    assert lines[0].startswith("POST /api/v1/job-openings 200 ")
    assert lines[0].endswith(" ms")


def test_log_omits_api_key(
    sandbox: Sandbox, client: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    wrong_key = "wrong-key-93ac"
    with caplog.at_level(logging.DEBUG):
        create(sandbox, client)
        create(sandbox, client)
        requests.post(
            f"{sandbox.base_url}/job-openings",
            json={},
            headers={"Authorization": f"Bearer {wrong_key}"},
        )
        client.request("BREW", f"{sandbox.base_url}/job-openings")
        with Sandbox(api_key=API_KEY) as other:
            requests.get(f"{other.root_url}/_sandbox/stats")

    assert API_KEY not in caplog.text
    assert wrong_key not in caplog.text
    assert "Authorization" not in caplog.text
