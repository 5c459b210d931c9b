"""Sandbox request validation at every published limit of both endpoints."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from alpharun_provider.sandbox import InvalidRequest, Sandbox

DESCRIPTION = "Runs the store, leads the team and keeps the shelves stocked."
GUIDANCE = "Ask about leading retail teams."


def inline_body(**fields: Any) -> dict[str, Any]:
    """Return a valid create body with an inline job type, updated by ``fields``."""
    body: dict[str, Any] = {
        "name": "Store Manager - Austin",
        "job_type": {"job_description": DESCRIPTION},
    }
    body.update(fields)
    return body


def inline_job_type(**fields: Any) -> dict[str, Any]:
    """Return a valid inline job type, updated by ``fields``."""
    return {"job_description": DESCRIPTION, **fields}


CREATE_CASES = [
    ("name_3", inline_body(name="abc"), 200, None),
    ("name_150", inline_body(name="n" * 150), 200, None),
    ("name_2", inline_body(name="ab"), 400, "name"),
    ("name_151", inline_body(name="n" * 151), 400, "name"),
    ("name_null", inline_body(name=None), 400, "name"),
    ("name_missing", {"job_type": inline_job_type()}, 400, "name"),
    ("location_200", inline_body(location="l" * 200), 200, None),
    ("location_201", inline_body(location="l" * 201), 400, "location"),
    ("pay_200", inline_body(pay="p" * 200), 200, None),
    ("pay_201", inline_body(pay="p" * 201), 400, "pay"),
    ("hours_200", inline_body(hours="h" * 200), 200, None),
    ("hours_201", inline_body(hours="h" * 201), 400, "hours"),
    ("hours_number", inline_body(hours=40), 400, "hours"),
    ("owner_emails_valid", inline_body(owner_emails=["a@example.com"]), 200, None),
    ("owner_emails_empty", inline_body(owner_emails=[]), 200, None),
    (
        "owner_emails_bad",
        inline_body(owner_emails=["a@example.com", "not-an-email"]),
        400,
        "owner_emails[1]",
    ),
    (
        "owner_emails_string",
        inline_body(owner_emails="a@example.com"),
        400,
        "owner_emails",
    ),
    ("restricted_true", inline_body(link_access={"restricted": True}), 200, None),
    ("restricted_unset", inline_body(link_access={}), 200, None),
    (
        "restricted_string",
        inline_body(link_access={"restricted": "yes"}),
        400,
        "link_access.restricted",
    ),
    ("link_access_list", inline_body(link_access=[True]), 400, "link_access"),
    (
        "description_20",
        inline_body(job_type=inline_job_type(job_description="d" * 20)),
        200,
        None,
    ),
    (
        "description_10000",
        inline_body(job_type=inline_job_type(job_description="d" * 10000)),
        200,
        None,
    ),
    (
        "description_19",
        inline_body(job_type=inline_job_type(job_description="d" * 19)),
        400,
        "job_type.job_description",
    ),
    (
        "description_10001",
        inline_body(job_type=inline_job_type(job_description="d" * 10001)),
        400,
        "job_type.job_description",
    ),
    (
        "description_missing",
        inline_body(job_type={"should_record_video": True}),
        400,
        "job_type.job_description",
    ),
    (
        "guidance_15",
        inline_body(job_type=inline_job_type(ai_interviewer_guidance="g" * 15)),
        200,
        None,
    ),
    (
        "guidance_3000",
        inline_body(job_type=inline_job_type(ai_interviewer_guidance="g" * 3000)),
        200,
        None,
    ),
    (
        "guidance_14",
        inline_body(job_type=inline_job_type(ai_interviewer_guidance="g" * 14)),
        400,
        "job_type.ai_interviewer_guidance",
    ),
    (
        "guidance_3001",
        inline_body(job_type=inline_job_type(ai_interviewer_guidance="g" * 3001)),
        400,
        "job_type.ai_interviewer_guidance",
    ),
    (
        "guidance_null",
        inline_body(job_type=inline_job_type(ai_interviewer_guidance=None)),
        400,
        "job_type.ai_interviewer_guidance",
    ),
    (
        "resume_before",
        inline_body(
            job_type=inline_job_type(resume_collection_type="before_interview")
        ),
        200,
        None,
    ),
    (
        "resume_after",
        inline_body(job_type=inline_job_type(resume_collection_type="after_interview")),
        200,
        None,
    ),
    (
        "resume_other",
        inline_body(
            job_type=inline_job_type(resume_collection_type="during_interview")
        ),
        400,
        "job_type.resume_collection_type",
    ),
    (
        "fullscreen_true",
        inline_body(job_type=inline_job_type(should_force_fullscreen=True)),
        200,
        None,
    ),
    (
        "fullscreen_string",
        inline_body(job_type=inline_job_type(should_force_fullscreen="true")),
        400,
        "job_type.should_force_fullscreen",
    ),
    (
        "video_false",
        inline_body(job_type=inline_job_type(should_record_video=False)),
        200,
        None,
    ),
    (
        "video_number",
        inline_body(job_type=inline_job_type(should_record_video=1)),
        400,
        "job_type.should_record_video",
    ),
    ("unknown_field", inline_body(department="Retail"), 200, None),
    (
        "neither_job_type",
        {"name": "Store Manager - Austin"},
        400,
        "job_type_id or job_type",
    ),
    (
        "job_type_id_not_uuid",
        {"name": "Store Manager - Austin", "job_type_id": "123456"},
        400,
        "job_type_id",
    ),
]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [case[1:] for case in CREATE_CASES],
    ids=[case[0] for case in CREATE_CASES],
)
def test_create_limit(
    sandbox: Sandbox,
    client: requests.Session,
    body: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    response = client.post(f"{sandbox.base_url}/job-openings", json=body)

    assert response.status_code == status, response.text
    if field is not None:
        assert response.json()["error"]["message"].startswith(f"{field}: ")


def test_create_with_job_type_id(sandbox: Sandbox, client: requests.Session) -> None:
    job_type = sandbox.create_job_type(
        name="Store Manager", job_description=DESCRIPTION
    )
    body = {"name": "Store Manager - Austin", "job_type_id": job_type["id"]}

    response = client.post(f"{sandbox.base_url}/job-openings", json=body)

    assert response.status_code == 200, response.text
    assert response.json()["data"]["job_opening"]["job_type"]["id"] == job_type["id"]


def test_create_both_job_type_forms(sandbox: Sandbox, client: requests.Session) -> None:
    job_type = sandbox.create_job_type(
        name="Store Manager", job_description=DESCRIPTION
    )
    body = inline_body(job_type_id=job_type["id"])

    response = client.post(f"{sandbox.base_url}/job-openings", json=body)

    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith("job_type_id and job_type: ")


def test_create_both_forms_one_invalid(
    sandbox: Sandbox, client: requests.Session
) -> None:
    # Only the job_type_id branch validates here, so oneOf alone would pass.
    job_type = sandbox.create_job_type(
        name="Store Manager", job_description=DESCRIPTION
    )
    body = inline_body(job_type_id=job_type["id"], job_type={"job_description": "x"})

    response = client.post(f"{sandbox.base_url}/job-openings", json=body)

    assert response.status_code == 400


def test_create_rejected_creates_nothing(
    sandbox: Sandbox, client: requests.Session
) -> None:
    client.post(f"{sandbox.base_url}/job-openings", json=inline_body(name="ab"))

    assert sandbox.job_openings() == []
    assert sandbox.job_types() == []


def test_create_message_format(sandbox: Sandbox, client: requests.Session) -> None:
    response = client.post(
        f"{sandbox.base_url}/job-openings", json=inline_body(name="ab")
    )

    expected = 'name: "ab" is too short (2 characters), minimum 3 characters'
    assert response.json() == {
        "error": {"code": "invalid_request", "message": expected}
    }


@pytest.fixture
def job_type_url(sandbox: Sandbox) -> str:
    job_type = sandbox.create_job_type(
        name="Store Manager",
        job_description=DESCRIPTION,
        ai_interviewer_guidance=GUIDANCE,
        resume_collection_type="before_interview",
    )
    return f"{sandbox.base_url}/job-types/{job_type['id']}"


PATCH_CASES = [
    ("name_3", {"name": "abc"}, 200, None),
    ("name_150", {"name": "n" * 150}, 200, None),
    ("name_2", {"name": "ab"}, 400, "name"),
    ("name_151", {"name": "n" * 151}, 400, "name"),
    ("name_null", {"name": None}, 400, "name"),
    ("description_20", {"job_description": "d" * 20}, 200, None),
    ("description_15000", {"job_description": "d" * 15000}, 200, None),
    ("description_19", {"job_description": "d" * 19}, 400, "job_description"),
    ("description_15001", {"job_description": "d" * 15001}, 400, "job_description"),
    ("guidance_15", {"ai_interviewer_guidance": "g" * 15}, 200, None),
    ("guidance_3000", {"ai_interviewer_guidance": "g" * 3000}, 200, None),
    (
        "guidance_14",
        {"ai_interviewer_guidance": "g" * 14},
        400,
        "ai_interviewer_guidance",
    ),
    (
        "guidance_3001",
        {"ai_interviewer_guidance": "g" * 3001},
        400,
        "ai_interviewer_guidance",
    ),
    ("guidance_null", {"ai_interviewer_guidance": None}, 200, None),
    ("resume_after", {"resume_collection_type": "after_interview"}, 200, None),
    ("resume_null", {"resume_collection_type": None}, 200, None),
    (
        "resume_other",
        {"resume_collection_type": "never"},
        400,
        "resume_collection_type",
    ),
    ("fullscreen_true", {"should_force_fullscreen": True}, 200, None),
    (
        "fullscreen_null",
        {"should_force_fullscreen": None},
        400,
        "should_force_fullscreen",
    ),
    ("video_string", {"should_record_video": "no"}, 400, "should_record_video"),
    ("empty", {}, 200, None),
    ("unknown_field", {"department": "Retail"}, 200, None),
]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [case[1:] for case in PATCH_CASES],
    ids=[case[0] for case in PATCH_CASES],
)
def test_patch_limit(
    client: requests.Session,
    job_type_url: str,
    body: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    response = client.patch(job_type_url, json=body)

    assert response.status_code == status, response.text
    if field is not None:
        assert response.json()["error"]["message"].startswith(f"{field}: ")


def test_patch_null_clears(
    sandbox: Sandbox, client: requests.Session, job_type_url: str
) -> None:
    body = {"ai_interviewer_guidance": None, "resume_collection_type": None}

    client.patch(job_type_url, json=body)

    stored = sandbox.job_types()[0]
    assert stored["ai_interviewer_guidance"] is None
    assert stored["resume_collection_type"] is None


def test_patch_changes_only_present(
    sandbox: Sandbox, client: requests.Session, job_type_url: str
) -> None:
    client.patch(job_type_url, json={"should_record_video": True})

    stored = sandbox.job_types()[0]
    assert stored["should_record_video"] is True
    assert stored["ai_interviewer_guidance"] == GUIDANCE
    assert stored["resume_collection_type"] == "before_interview"
    assert stored["name"] == "Store Manager"


def test_patch_empty_unchanged(
    sandbox: Sandbox, client: requests.Session, job_type_url: str
) -> None:
    before = sandbox.job_types()

    response = client.patch(job_type_url, json={})

    assert response.json()["data"]["job_type"]["name"] == "Store Manager"
    assert sandbox.job_types() == before


def test_patch_rejected_unchanged(
    sandbox: Sandbox, client: requests.Session, job_type_url: str
) -> None:
    before = sandbox.job_types()

    client.patch(job_type_url, json={"name": "Store Lead", "job_description": "short"})

    assert sandbox.job_types() == before


# Text that UTF-8 cannot encode

SURROGATE_CASES = [
    ("create_name", "/api/v1/job-openings", "POST", b'{"name": "abc\\ud800"}', "name"),
    (
        "create_nested",
        "/api/v1/job-openings",
        "POST",
        b'{"name": "abc", "job_type": {"job_description": "\\udfff'
        + b"d" * 20
        + b'"}}',
        "job_type.job_description",
    ),
    (
        "create_list",
        "/api/v1/job-openings",
        "POST",
        b'{"name": "abc", "owner_emails": ["a@example.com", "\\ud83d"]}',
        "owner_emails[1]",
    ),
    ("create_key", "/api/v1/job-openings", "POST", b'{"\\ud800": 1}', "body"),
    (
        "control_job_type",
        "/_sandbox/job-types",
        "POST",
        b'{"name": "abc\\ud800", "job_description": "' + b"d" * 20 + b'"}',
        "name",
    ),
    (
        "faults_header",
        "/_sandbox/faults",
        "PUT",
        b'{"script": [{"status": 503, "headers": {"X-Test": "\\ud800"}}]}',
        "script[0].headers.X-Test",
    ),
]


@pytest.mark.parametrize(
    ("path", "method", "data", "field"),
    [case[1:] for case in SURROGATE_CASES],
    ids=[case[0] for case in SURROGATE_CASES],
)
def test_lone_surrogate(
    sandbox: Sandbox,
    client: requests.Session,
    path: str,
    method: str,
    data: bytes,
    field: str,
) -> None:
    response = client.request(
        method,
        f"{sandbox.root_url}{path}",
        data=data,
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"].startswith(f"{field}: ")
    assert "surrogate" in response.json()["error"]["message"]


def test_lone_surrogate_patch(
    sandbox: Sandbox, client: requests.Session, job_type_url: str
) -> None:
    response = client.patch(
        job_type_url,
        data=b'{"ai_interviewer_guidance": "' + b"g" * 15 + b'\\ud800"}',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert message.startswith("ai_interviewer_guidance: ")
    assert sandbox.job_types()[0]["ai_interviewer_guidance"] == GUIDANCE


def test_surrogate_pair_accepted(sandbox: Sandbox, client: requests.Session) -> None:
    # An escaped pair decodes to one character (U+1F600) that UTF-8 encodes.
    data = (
        b'{"name": "Store \\ud83d\\ude00", "job_type": {"job_description": "'
        + DESCRIPTION.encode()
        + b'"}}'
    )

    response = client.post(
        f"{sandbox.base_url}/job-openings",
        data=data,
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 200, response.text
    assert sandbox.job_openings()[0]["name"] == "Store \U0001f600"


def test_python_lone_surrogate(sandbox: Sandbox) -> None:
    with pytest.raises(InvalidRequest, match="^name: "):
        sandbox.create_job_type(name="abc\ud800", job_description=DESCRIPTION)


# Nesting depth


def nested_body(depth: int) -> bytes:
    """Return a valid create body with ``depth`` levels of nesting in all."""
    arrays = depth - 1
    return (
        b'{"name": "Store Manager - Austin", "job_type": {"job_description": "'
        + DESCRIPTION.encode()
        + b'"}, "extra": '
        + b"[" * arrays
        + b"]" * arrays
        + b"}"
    )


@pytest.mark.parametrize(
    "data",
    [b"[" * 100_000, b'{"a": ' + b"[" * 100_000, nested_body(101), nested_body(990)],
    ids=["unclosed_100000", "object_unclosed", "closed_101", "closed_990"],
)
def test_nesting_too_deep(
    sandbox: Sandbox, client: requests.Session, data: bytes
) -> None:
    response = client.post(
        f"{sandbox.base_url}/job-openings",
        data=data,
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert message.startswith("body: the request body nests arrays or objects")
    assert sandbox.job_openings() == []


def test_nesting_at_limit(sandbox: Sandbox, client: requests.Session) -> None:
    response = client.post(
        f"{sandbox.base_url}/job-openings",
        data=nested_body(100),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 200, response.text
