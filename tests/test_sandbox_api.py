"""Sandbox behaviour of the published endpoints, the control API and the state."""

from __future__ import annotations

import socket
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import API_KEY

from alpharun_provider.sandbox import Conflict, InvalidRequest, NotFound, Sandbox
from alpharun_provider.sandbox.http_server import SandboxRequestHandler

DESCRIPTION = "Runs the store.\n- Two years of retail experience\n- Team leadership"


def create_inline(
    sandbox: Sandbox, client: requests.Session, name: str, **fields: Any
) -> requests.Response:
    """POST a job opening with an inline job type."""
    body = {"name": name, "job_type": {"job_description": DESCRIPTION}, **fields}
    return client.post(f"{sandbox.base_url}/job-openings", json=body)


def error_of(response: requests.Response) -> dict[str, str]:
    """Return the ``error`` member of a JSON error body."""
    error: dict[str, str] = response.json()["error"]
    return error


def port_of(sandbox: Sandbox) -> int:
    """Return the TCP port of a running sandbox."""
    return int(sandbox.root_url.rsplit(":", 1)[1])


def exchange_until_closed(sandbox: Sandbox, request: bytes) -> bytes:
    """Send raw bytes and return everything received until the server closes."""
    received = b""
    with socket.create_connection(("127.0.0.1", port_of(sandbox)), timeout=5) as conn:
        conn.sendall(request)
        for _ in range(1000):
            chunk = conn.recv(65536)
            if not chunk:
                return received
            received += chunk
    pytest.fail("the server kept the connection open")


# Create responses and stored state


def test_create_response_shape(sandbox: Sandbox, client: requests.Session) -> None:
    response = create_inline(sandbox, client, "Store Manager - Austin")

    opening = response.json()["data"]["job_opening"]
    assert response.status_code == 200
    assert set(response.json()) == {"data"}
    assert set(opening) == {"id", "interview_link", "job_type"}
    assert set(opening["job_type"]) == {"id"}
    assert uuid.UUID(opening["id"]).version == 4
    assert uuid.UUID(opening["job_type"]["id"]).version == 4
    assert opening["interview_link"].startswith(f"{sandbox.root_url}/i/")


def test_create_stores_opening(sandbox: Sandbox, client: requests.Session) -> None:
    fields = {
        "location": "Austin, TX",
        "pay": "$20 per hour",
        "owner_emails": ["lead@example.com"],
        "link_access": {"restricted": True},
    }
    response = create_inline(sandbox, client, "Store Manager - Austin", **fields)

    created = response.json()["data"]["job_opening"]
    [stored] = sandbox.job_openings()
    assert stored["id"] == created["id"]
    assert stored["job_type_id"] == created["job_type"]["id"]
    assert stored["interview_link"] == created["interview_link"]
    assert stored["location"] == "Austin, TX"
    assert stored["pay"] == "$20 per hour"
    assert stored["hours"] is None
    assert stored["owner_emails"] == ["lead@example.com"]
    assert stored["link_access"] == {"restricted": True}
    assert stored["status"] == "open"
    assert stored["created_at"].endswith("Z")


def test_inline_job_type_defaults(sandbox: Sandbox, client: requests.Session) -> None:
    create_inline(sandbox, client, "Store Manager - Austin")

    [job_type] = sandbox.job_types()
    assert job_type["name"] == "Store Manager - Austin"
    assert job_type["job_description"] == DESCRIPTION
    assert job_type["ai_interviewer_guidance"] is None
    assert job_type["resume_collection_type"] is None
    assert job_type["should_force_fullscreen"] is False
    assert job_type["should_record_video"] is False
    assert job_type["qualifications"] == [
        "Two years of retail experience",
        "Team leadership",
    ]


def test_unknown_job_type_id(sandbox: Sandbox, client: requests.Session) -> None:
    body = {"name": "Store Manager - Austin", "job_type_id": str(uuid.uuid4())}

    response = client.post(f"{sandbox.base_url}/job-openings", json=body)

    assert response.status_code == 400
    assert error_of(response)["message"].startswith("job_type_id: ")


# Conflicts


def test_duplicate_opening_name(sandbox: Sandbox, client: requests.Session) -> None:
    job_type = sandbox.create_job_type(
        name="Store Manager", job_description=DESCRIPTION
    )
    body = {"name": "Store Manager - Austin", "job_type_id": job_type["id"]}
    client.post(f"{sandbox.base_url}/job-openings", json=body)

    response = client.post(f"{sandbox.base_url}/job-openings", json=body)

    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"
    assert len(sandbox.job_openings()) == 1


def test_closed_name_reusable(sandbox: Sandbox, client: requests.Session) -> None:
    job_type = sandbox.create_job_type(
        name="Store Manager", job_description=DESCRIPTION
    )
    body = {"name": "Store Manager - Austin", "job_type_id": job_type["id"]}
    first = client.post(f"{sandbox.base_url}/job-openings", json=body).json()
    sandbox.close_job_opening(first["data"]["job_opening"]["id"])

    response = client.post(f"{sandbox.base_url}/job-openings", json=body)

    assert response.status_code == 200


def test_duplicate_inline_job_type(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.create_job_type(name="Store Manager - Austin", job_description=DESCRIPTION)

    response = create_inline(sandbox, client, "Store Manager - Austin")

    assert response.status_code == 409
    assert sandbox.job_openings() == []


def test_closed_inline_name_kept(sandbox: Sandbox, client: requests.Session) -> None:
    # Closing frees the opening name, but the inline job type keeps it.
    first = create_inline(sandbox, client, "Store Manager - Austin").json()
    sandbox.close_job_opening(first["data"]["job_opening"]["id"])

    response = create_inline(sandbox, client, "Store Manager - Austin")

    assert response.status_code == 409


def test_patch_name_clash(sandbox: Sandbox, client: requests.Session) -> None:
    sandbox.create_job_type(name="Store Manager", job_description=DESCRIPTION)
    other = sandbox.create_job_type(name="Cashier", job_description=DESCRIPTION)

    response = client.patch(
        f"{sandbox.base_url}/job-types/{other['id']}", json={"name": "Store Manager"}
    )

    assert response.status_code == 409
    assert error_of(response)["message"].startswith("name: ")


def test_patch_own_name(sandbox: Sandbox, client: requests.Session) -> None:
    job_type = sandbox.create_job_type(
        name="Store Manager", job_description=DESCRIPTION
    )

    response = client.patch(
        f"{sandbox.base_url}/job-types/{job_type['id']}", json={"name": "Store Manager"}
    )

    assert response.status_code == 200


def test_parallel_duplicate_creates(sandbox: Sandbox) -> None:
    job_type = sandbox.create_job_type(
        name="Store Manager", job_description=DESCRIPTION
    )
    body = {"name": "Store Manager - Austin", "job_type_id": job_type["id"]}
    headers = {"Authorization": f"Bearer {API_KEY}"}
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def create() -> None:
        barrier.wait()
        response = requests.post(
            f"{sandbox.base_url}/job-openings", json=body, headers=headers, timeout=10
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] + [409] * 7
    assert len(sandbox.job_openings()) == 1


# Patch


def test_patch_response_shape(sandbox: Sandbox, client: requests.Session) -> None:
    job_type = sandbox.create_job_type(
        name="Store Manager",
        job_description=DESCRIPTION,
        resume_collection_type="after_interview",
    )

    response = client.patch(
        f"{sandbox.base_url}/job-types/{job_type['id']}",
        json={"ai_interviewer_guidance": "Ask about leading teams."},
    )

    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "job_type": {
                "id": job_type["id"],
                "name": "Store Manager",
                "job_description": DESCRIPTION,
                "ai_interviewer_guidance": "Ask about leading teams.",
                "qualifications": ["Two years of retail experience", "Team leadership"],
                "should_force_fullscreen": False,
                "should_record_video": False,
            }
        }
    }


def test_patch_ignores_qualifications(
    sandbox: Sandbox, client: requests.Session
) -> None:
    job_type = sandbox.create_job_type(
        name="Store Manager", job_description=DESCRIPTION
    )

    client.patch(
        f"{sandbox.base_url}/job-types/{job_type['id']}",
        json={"qualifications": ["Forklift licence"]},
    )

    assert sandbox.job_types()[0]["qualifications"] == job_type["qualifications"]


def test_patch_unknown_id(sandbox: Sandbox, client: requests.Session) -> None:
    response = client.patch(
        f"{sandbox.base_url}/job-types/{uuid.uuid4()}", json={"name": "Store Manager"}
    )

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# Authentication


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": f"Basic {API_KEY}"}],
    ids=["missing", "wrong_key", "wrong_scheme"],
)
def test_auth_rejected(sandbox: Sandbox, headers: dict[str, str]) -> None:
    body = {
        "name": "Store Manager - Austin",
        "job_type": {"job_description": DESCRIPTION},
    }

    response = requests.post(
        f"{sandbox.base_url}/job-openings", json=body, headers=headers
    )

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
    assert sandbox.job_openings() == []


def test_auth_patch_rejected(sandbox: Sandbox) -> None:
    job_type = sandbox.create_job_type(
        name="Store Manager", job_description=DESCRIPTION
    )

    response = requests.patch(
        f"{sandbox.base_url}/job-types/{job_type['id']}",
        json={"name": "Store Lead"},
        headers={"Authorization": "Bearer wrong-key"},
    )

    assert response.status_code == 401
    assert sandbox.job_types()[0]["name"] == "Store Manager"


# Protocol errors


def test_body_too_large(sandbox: Sandbox, client: requests.Session) -> None:
    response = client.post(
        f"{sandbox.base_url}/job-openings",
        data=b" " * 1_048_577,
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_body_at_size_limit(sandbox: Sandbox, client: requests.Session) -> None:
    prefix = b'{"name": "'
    suffix = b'", "job_type": {"job_description": "' + b"d" * 20 + b'"}}'
    padding = b"n" * (1_048_576 - len(prefix) - len(suffix))

    response = client.post(
        f"{sandbox.base_url}/job-openings",
        data=prefix + padding + suffix,
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert error_of(response)["message"].startswith("name: ")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "body: the request body is not valid JSON"),
        (b"", "body: the request body is empty"),
        (b"[1, 2]", "body: expected a JSON object, got an array"),
        (b'"text"', "body: expected a JSON object, got a string"),
        (b'{"name": NaN}', "body: the request body is not valid JSON"),
        (b"\xff\xfe", "body: the request body is not valid UTF-8"),
    ],
    ids=["malformed", "empty", "array", "string", "nan", "not_utf8"],
)
def test_bad_body(
    sandbox: Sandbox, client: requests.Session, data: bytes, message: str
) -> None:
    response = client.post(
        f"{sandbox.base_url}/job-openings",
        data=data,
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert error_of(response)["message"].startswith(message)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/jobs",
        "/api/v1/job-openings/",
        "/api/v1",
        "/nothing",
        "/_sandbox/nothing",
    ],
)
def test_unknown_route(sandbox: Sandbox, client: requests.Session, path: str) -> None:
    response = client.get(f"{sandbox.root_url}{path}")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/api/v1/job-openings", "POST"),
        ("DELETE", "/api/v1/job-types/any-id", "PATCH"),
        ("PATCH", "/_sandbox/faults", "DELETE, GET, PUT"),
        ("GET", "/_sandbox/reset", "POST"),
    ],
)
def test_wrong_method(
    sandbox: Sandbox, client: requests.Session, method: str, path: str, allowed: str
) -> None:
    response = client.request(method, f"{sandbox.root_url}{path}")

    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    assert error_of(response)["code"] == "method_not_allowed"


def test_unsupported_method(sandbox: Sandbox, client: requests.Session) -> None:
    response = client.request("BREW", f"{sandbox.base_url}/job-openings")

    assert response.status_code == 501
    assert error_of(response)["code"] == "not_implemented"


def test_keep_alive_reuses_connection(sandbox: Sandbox) -> None:
    request = (
        b"GET /_sandbox/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        b"GET /_sandbox/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    )

    with socket.create_connection(
        ("127.0.0.1", port_of(sandbox)), timeout=5
    ) as connection:
        connection.sendall(request)
        received = b""
        while received.count(b"HTTP/1.1 200") < 2:
            chunk = connection.recv(65536)
            assert chunk, "the server closed the connection"
            received += chunk

    assert received.count(b"Content-Length: ") == 2


def test_response_in_one_segment(sandbox: Sandbox) -> None:
    # Each response leaves in one write, so one recv returns all of it on
    # loopback. With two writes the body of a later response on the
    # connection waits for the client's delayed ACK of the headers.
    request = b"GET /_sandbox/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    responses = []

    with socket.create_connection(("127.0.0.1", port_of(sandbox)), timeout=5) as conn:
        for _ in range(5):
            conn.sendall(request)
            responses.append(conn.recv(65536))

    for received in responses:
        head, _, body = received.partition(b"\r\n\r\n")
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        assert body
        assert len(body) == length


def test_connection_nodelay(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    options: list[int] = []
    original_setup = SandboxRequestHandler.setup

    def recording_setup(handler: SandboxRequestHandler) -> None:
        original_setup(handler)
        option = socket.IPPROTO_TCP, socket.TCP_NODELAY
        options.append(handler.connection.getsockopt(*option))

    monkeypatch.setattr(SandboxRequestHandler, "setup", recording_setup)
    requests.get(f"{sandbox.root_url}/_sandbox/stats", timeout=5)

    assert len(options) == 1
    assert options[0] != 0


@pytest.mark.parametrize(
    "length",
    [b"8_7", b"+81", b"-0", b"0x10", b"1e2", b"\xb2", b"4" * 5000],
    ids=["underscore", "plus", "minus", "hex", "exponent", "superscript", "huge"],
)
def test_content_length_invalid(sandbox: Sandbox, length: bytes) -> None:
    request = (
        b"POST /_sandbox/job-types HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Length: " + length + b"\r\n\r\n{}"
    )

    received = exchange_until_closed(sandbox, request)

    assert received.startswith(b"HTTP/1.1 400 ")
    assert b"Connection: close" in received
    assert b"Content-Length header is invalid" in received


@pytest.mark.parametrize(
    "lengths", [(b"2", b"2"), (b"2", b"0")], ids=["equal", "different"]
)
def test_content_length_twice(sandbox: Sandbox, lengths: tuple[bytes, bytes]) -> None:
    request = (
        b"POST /_sandbox/job-types HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Length: " + lengths[0] + b"\r\n"
        b"Content-Length: " + lengths[1] + b"\r\n\r\n{}"
        b"GET /_sandbox/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    )

    received = exchange_until_closed(sandbox, request)

    assert received.startswith(b"HTTP/1.1 400 ")
    assert b"Connection: close" in received
    assert received.count(b"HTTP/1.1 ") == 1


def test_content_length_padded(sandbox: Sandbox) -> None:
    # Spaces around the value are optional whitespace in HTTP, not part of it.
    body = b'{"name": "Store Manager", "job_description": "' + b"d" * 20 + b'"}'
    request = (
        b"POST /_sandbox/job-types HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Connection: close\r\n"
        b"Content-Length:  " + str(len(body)).encode() + b" \r\n\r\n" + body
    )

    received = exchange_until_closed(sandbox, request)

    assert received.startswith(b"HTTP/1.1 200 ")


# Interview link pages


def test_interview_page(sandbox: Sandbox, client: requests.Session) -> None:
    created = create_inline(sandbox, client, "Manager <Austin> & Co").json()
    link = created["data"]["job_opening"]["interview_link"]

    response = requests.get(link)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Manager &lt;Austin&gt; &amp; Co" in response.text
    assert "<Austin>" not in response.text
    assert "Job type: Manager &lt;Austin&gt; &amp; Co" in response.text
    assert "closed" not in response.text


def test_interview_page_job_type(sandbox: Sandbox, client: requests.Session) -> None:
    job_type = sandbox.create_job_type(
        name="Store Manager", job_description=DESCRIPTION
    )
    body = {"name": "Store Manager - Austin", "job_type_id": job_type["id"]}
    created = client.post(f"{sandbox.base_url}/job-openings", json=body).json()

    response = requests.get(created["data"]["job_opening"]["interview_link"])

    assert "Store Manager - Austin" in response.text
    assert "Job type: Store Manager<" in response.text


def test_interview_page_closed(sandbox: Sandbox, client: requests.Session) -> None:
    created = create_inline(sandbox, client, "Store Manager - Austin").json()
    opening = created["data"]["job_opening"]
    sandbox.close_job_opening(opening["id"])

    response = requests.get(opening["interview_link"])

    assert response.status_code == 200
    assert "closed" in response.text


def test_interview_page_unknown(sandbox: Sandbox) -> None:
    response = requests.get(f"{sandbox.root_url}/i/unknown-token")

    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")


# Control endpoints


def test_control_job_openings(sandbox: Sandbox, client: requests.Session) -> None:
    create_inline(sandbox, client, "Store Manager - Austin")

    response = requests.get(f"{sandbox.root_url}/_sandbox/job-openings")

    assert response.json() == {"job_openings": sandbox.job_openings()}
    assert set(response.json()["job_openings"][0]) == {
        "id",
        "name",
        "location",
        "pay",
        "hours",
        "link_access",
        "owner_emails",
        "job_type_id",
        "interview_link",
        "status",
        "created_at",
    }


def test_control_create_job_type(sandbox: Sandbox) -> None:
    body = {"name": "Store Manager", "job_description": DESCRIPTION}

    response = requests.post(f"{sandbox.root_url}/_sandbox/job-types", json=body)

    job_type = response.json()["job_type"]
    assert response.status_code == 200
    assert job_type["name"] == "Store Manager"
    assert requests.get(f"{sandbox.root_url}/_sandbox/job-types").json() == {
        "job_types": [job_type]
    }


def test_control_job_type_conflict(sandbox: Sandbox) -> None:
    body = {"name": "Store Manager", "job_description": DESCRIPTION}
    requests.post(f"{sandbox.root_url}/_sandbox/job-types", json=body)

    response = requests.post(f"{sandbox.root_url}/_sandbox/job-types", json=body)

    assert response.status_code == 409


def test_control_job_type_invalid(sandbox: Sandbox) -> None:
    body = {"name": "Store Manager"}

    response = requests.post(f"{sandbox.root_url}/_sandbox/job-types", json=body)

    assert response.status_code == 400
    assert error_of(response)["message"].startswith("job_description: ")


def test_control_close(sandbox: Sandbox, client: requests.Session) -> None:
    created = create_inline(sandbox, client, "Store Manager - Austin").json()
    opening_id = created["data"]["job_opening"]["id"]

    response = requests.post(
        f"{sandbox.root_url}/_sandbox/job-openings/{opening_id}/close"
    )

    assert response.status_code == 200
    assert response.json()["job_opening"]["status"] == "closed"
    assert sandbox.job_openings()[0]["status"] == "closed"


def test_control_close_unknown(sandbox: Sandbox) -> None:
    response = requests.post(f"{sandbox.root_url}/_sandbox/job-openings/unknown/close")

    assert response.status_code == 404


def test_control_reset(sandbox: Sandbox, client: requests.Session) -> None:
    create_inline(sandbox, client, "Store Manager - Austin")
    sandbox.set_faults(latency_ms=5)

    response = requests.post(f"{sandbox.root_url}/_sandbox/reset")

    assert response.status_code == 200
    assert sandbox.job_openings() == []
    assert sandbox.job_types() == []
    assert sandbox.stats()["requests"] == 0
    assert sandbox.faults()["latency_ms"] == 0


# In-process API


def test_python_create_conflict(sandbox: Sandbox) -> None:
    sandbox.create_job_type(name="Store Manager", job_description=DESCRIPTION)

    with pytest.raises(Conflict):
        sandbox.create_job_type(name="Store Manager", job_description=DESCRIPTION)


def test_python_create_invalid(sandbox: Sandbox) -> None:
    with pytest.raises(InvalidRequest, match="^job_description: "):
        sandbox.create_job_type(name="Store Manager", job_description="short")


def test_python_close_unknown(sandbox: Sandbox) -> None:
    with pytest.raises(NotFound):
        sandbox.close_job_opening(str(uuid.uuid4()))


def test_python_optional_settings(sandbox: Sandbox) -> None:
    job_type = sandbox.create_job_type(
        name="Store Manager",
        job_description=DESCRIPTION,
        should_record_video=True,
        resume_collection_type="before_interview",
    )

    assert job_type["should_record_video"] is True
    assert job_type["resume_collection_type"] == "before_interview"


def test_sandbox_not_started() -> None:
    sandbox = Sandbox(api_key=API_KEY)

    with pytest.raises(RuntimeError, match="not running"):
        sandbox.job_types()


def test_generated_api_key() -> None:
    sandbox = Sandbox()

    assert sandbox.api_key_generated is True
    assert len(sandbox.api_key) >= 20
    assert sandbox.api_key not in repr(sandbox)


@pytest.mark.parametrize(
    "api_key", ["", "  ", " key"], ids=["empty", "space", "padded"]
)
def test_unusable_api_key(api_key: str) -> None:
    with pytest.raises(ValueError, match="^api_key: "):
        Sandbox(api_key=api_key)


# Persistence


def test_restart_keeps_state(tmp_path: Path) -> None:
    db_path = str(tmp_path / "sandbox.db")
    headers = {"Authorization": f"Bearer {API_KEY}"}
    body = {
        "name": "Store Manager - Austin",
        "job_type": {"job_description": DESCRIPTION},
    }
    with Sandbox(api_key=API_KEY, db_path=db_path) as first:
        requests.post(f"{first.base_url}/job-openings", json=body, headers=headers)
        openings = first.job_openings()
        job_types = first.job_types()

    with Sandbox(api_key=API_KEY, db_path=db_path) as second:
        again = requests.post(
            f"{second.base_url}/job-openings", json=body, headers=headers
        )
        reloaded_openings = second.job_openings()
        reloaded_job_types = second.job_types()

    assert [o["id"] for o in reloaded_openings] == [o["id"] for o in openings]
    assert reloaded_job_types == job_types
    assert again.status_code == 409


def test_memory_state_ends() -> None:
    with Sandbox(api_key=API_KEY) as first:
        first.create_job_type(name="Store Manager", job_description=DESCRIPTION)

    with Sandbox(api_key=API_KEY) as second:
        assert second.job_types() == []
