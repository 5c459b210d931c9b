"""Provider methods called directly, against the sandbox.

The protocol tests drive the same methods through the SDK's provider server;
these cover the rules of each method case by case.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from conftest import API_KEY
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.output import Unknown

from alpharun_provider import JobOpeningProvider, JobTypeProvider
from alpharun_provider.provider import ResourceOperationError
from alpharun_provider.sandbox import Sandbox

DESCRIPTION = "Runs the store: staff, stock, opening and closing."
GUIDANCE = "Ask about weekend availability."


def configure(provider: Any, sandbox: Sandbox, **extra: str) -> None:
    config = {
        "alpharun:apiUrl": sandbox.base_url,
        "alpharun:apiKey": API_KEY,
        **extra,
    }
    provider.configure(ConfigureRequest(Config(config, "test")))


@pytest.fixture
def openings(sandbox: Sandbox) -> JobOpeningProvider:
    provider = JobOpeningProvider()
    configure(provider, sandbox)
    return provider


@pytest.fixture
def job_types(sandbox: Sandbox) -> JobTypeProvider:
    provider = JobTypeProvider()
    configure(provider, sandbox)
    return provider


def inline_opening(name: str = "Store Manager - Austin", **job_type: Any) -> dict:
    return {
        "name": name,
        "location": "Austin, TX",
        "job_type": {"job_description": DESCRIPTION, **job_type},
    }


def sandbox_job_type(sandbox: Sandbox, job_type_id: str) -> dict:
    return next(item for item in sandbox.job_types() if item["id"] == job_type_id)


def test_create_outputs_inputs_and_link(
    openings: JobOpeningProvider, sandbox: Sandbox
) -> None:
    inputs = inline_opening()
    result = openings.create({**inputs, "__provider": "x"})
    stored = sandbox.job_openings()[0]
    assert result.id == stored["id"]
    assert result.outs == {
        **inputs,
        "interview_link": stored["interview_link"],
        "job_type_id": stored["job_type_id"],
    }


def test_create_sends_only_set_fields(
    openings: JobOpeningProvider, sandbox: Sandbox
) -> None:
    openings.create({**inline_opening(), "pay": None, "__provider": "x"})
    stored = sandbox.job_openings()[0]
    assert stored["pay"] is None
    assert stored["location"] == "Austin, TX"


def test_create_conflict_explains_name_clash(
    openings: JobOpeningProvider, sandbox: Sandbox
) -> None:
    openings.create(inline_opening())
    with pytest.raises(ResourceOperationError) as caught:
        openings.create(inline_opening())
    message = str(caught.value)
    assert "JobOpening 'Store Manager - Austin'" in message
    assert "HTTP 409" in message
    assert "close the existing opening in the Alpharun dashboard" in message


def test_create_outcome_unknown_explains_check(
    openings: JobOpeningProvider, sandbox: Sandbox
) -> None:
    sandbox.set_faults(
        script=[{"method": "POST", "path": "/job-openings", "status": 500}]
    )
    with pytest.raises(ResourceOperationError) as caught:
        openings.create(inline_opening())
    assert "may now exist in Alpharun" in str(caught.value)


def test_create_without_key_prints_config_command(sandbox: Sandbox) -> None:
    provider = JobOpeningProvider()
    provider.configure(
        ConfigureRequest(Config({"alpharun:apiUrl": sandbox.base_url}, "test"))
    )
    with pytest.raises(ResourceOperationError) as caught:
        provider.create(inline_opening())
    assert "pulumi config set --secret alpharun:apiKey <key>" in str(caught.value)
    assert sandbox.stats()["requests"] == 0


def test_create_wrong_key_names_resource(sandbox: Sandbox) -> None:
    provider = JobOpeningProvider()
    configure(provider, sandbox, **{"alpharun:apiKey": "sk-wrong"})
    with pytest.raises(ResourceOperationError) as caught:
        provider.create(inline_opening())
    message = str(caught.value)
    assert "Creating JobOpening 'Store Manager - Austin' failed" in message
    assert "HTTP 401" in message
    assert "sk-wrong" not in message


def test_env_fallback_reaches_sandbox(
    sandbox: Sandbox, sandbox_env: dict[str, str]
) -> None:
    result = JobOpeningProvider().create(inline_opening())
    assert result.outs["interview_link"].startswith(sandbox.root_url)


def test_stack_config_wins_over_env(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALPHARUN_API_KEY", "sk-from-env")
    provider = JobOpeningProvider()
    configure(provider, sandbox)
    provider.create(inline_opening())
    assert len(sandbox.job_openings()) == 1


def test_plain_http_remote_url_rejected(sandbox: Sandbox) -> None:
    provider = JobOpeningProvider()
    config = {"alpharun:apiUrl": "http://alpharun.example/api/v1"}
    with pytest.raises(Exception, match="plain http would send the API key"):
        provider.configure(ConfigureRequest(Config(config, "test")))


def stored_opening(openings: JobOpeningProvider, **job_type: Any) -> tuple[str, dict]:
    result = openings.create(inline_opening(**job_type))
    return result.id, result.outs


def test_diff_none_when_only_provider_differs(openings: JobOpeningProvider) -> None:
    id_, outs = stored_opening(openings)
    news = {**inline_opening(), "__provider": "new-provider"}
    diff = openings.diff(id_, {**outs, "__provider": "old"}, news)
    assert diff.changes is False
    assert diff.replaces == []


def test_diff_inline_field_changes_in_place(openings: JobOpeningProvider) -> None:
    id_, outs = stored_opening(openings)
    diff = openings.diff(id_, outs, inline_opening(should_record_video=True))
    assert diff.changes is True
    assert diff.replaces == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("name", "Store Manager - Dallas"),
        ("location", "Dallas, TX"),
        ("pay", "$20/h"),
        ("hours", "Full-time"),
        ("link_access", {"restricted": True}),
        ("owner_emails", ["ana@example.com"]),
    ],
)
def test_diff_other_fields_replace(
    openings: JobOpeningProvider, key: str, value: Any
) -> None:
    id_, outs = stored_opening(openings)
    diff = openings.diff(id_, outs, {**inline_opening(), key: value})
    assert diff.replaces == [key]


def test_diff_unknown_name_replaces(openings: JobOpeningProvider) -> None:
    id_, outs = stored_opening(openings)
    diff = openings.diff(id_, outs, {**inline_opening(), "name": Unknown()})
    assert diff.replaces == ["name"]


def test_diff_inline_to_own_id_in_place(
    openings: JobOpeningProvider,
) -> None:
    id_, outs = stored_opening(openings)
    news = {**inline_opening(), "job_type_id": outs["job_type_id"]}
    del news["job_type"]
    diff = openings.diff(id_, outs, news)
    assert diff.changes is True
    assert diff.replaces == []


def test_diff_switch_to_other_job_type_replaces(
    openings: JobOpeningProvider, sandbox: Sandbox
) -> None:
    id_, outs = stored_opening(openings)
    other = sandbox.create_job_type(name="Cashier", job_description=DESCRIPTION)
    news = {**inline_opening(), "job_type_id": other["id"]}
    del news["job_type"]
    diff = openings.diff(id_, outs, news)
    assert sorted(diff.replaces) == ["job_type", "job_type_id"]


def test_replacement_warning_names_costs(
    openings: JobOpeningProvider, caplog: pytest.LogCaptureFixture
) -> None:
    id_, outs = stored_opening(openings)
    caplog.set_level(logging.WARNING, logger="alpharun_provider")
    openings.diff(id_, outs, {**inline_opening(), "pay": "$20/h"})
    (message,) = [record.getMessage() for record in caplog.records]
    assert f"(Alpharun id {id_}) will be replaced because pay changed" in message
    assert "new interview link" in message
    assert outs["interview_link"] in message
    assert "will reject the new opening (409)" in message


def test_replacement_with_new_name_has_no_clash_note(
    openings: JobOpeningProvider, caplog: pytest.LogCaptureFixture
) -> None:
    id_, outs = stored_opening(openings)
    caplog.set_level(logging.WARNING, logger="alpharun_provider")
    openings.diff(id_, outs, {**inline_opening(), "name": "Store Manager - ATX"})
    assert "409" not in caplog.text


def test_update_patches_changed_inline_fields(
    openings: JobOpeningProvider, sandbox: Sandbox
) -> None:
    id_, outs = stored_opening(openings)
    news = inline_opening(ai_interviewer_guidance=GUIDANCE, should_record_video=True)
    result = openings.update(id_, outs, news)
    job_type = sandbox_job_type(sandbox, outs["job_type_id"])
    assert job_type["ai_interviewer_guidance"] == GUIDANCE
    assert job_type["should_record_video"] is True
    assert result.outs == {
        **news,
        "interview_link": outs["interview_link"],
        "job_type_id": outs["job_type_id"],
    }


def test_update_clears_removed_guidance(
    openings: JobOpeningProvider, sandbox: Sandbox
) -> None:
    id_, outs = stored_opening(
        openings,
        ai_interviewer_guidance=GUIDANCE,
        resume_collection_type="before_interview",
    )
    openings.update(id_, outs, inline_opening())
    job_type = sandbox_job_type(sandbox, outs["job_type_id"])
    assert job_type["ai_interviewer_guidance"] is None
    assert job_type["resume_collection_type"] is None


def test_update_keeps_removed_boolean(
    openings: JobOpeningProvider, sandbox: Sandbox
) -> None:
    id_, outs = stored_opening(openings, should_record_video=True)
    openings.update(id_, outs, inline_opening())
    job_type = sandbox_job_type(sandbox, outs["job_type_id"])
    assert job_type["should_record_video"] is True


def test_delete_calls_nothing_and_warns(
    openings: JobOpeningProvider,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    id_, outs = stored_opening(openings)
    requests_before = sandbox.stats()["requests"]
    caplog.set_level(logging.WARNING, logger="alpharun_provider")
    openings.delete(id_, outs)
    assert sandbox.stats()["requests"] == requests_before
    assert f"'Store Manager - Austin' (Alpharun id {id_})" in caplog.text
    assert "still open in Alpharun" in caplog.text


def test_read_returns_stored_state(openings: JobOpeningProvider) -> None:
    id_, outs = stored_opening(openings)
    result = openings.read(id_, outs)
    assert result.id == id_
    assert result.outs == outs


def dashboard_job_type(sandbox: Sandbox) -> dict:
    return sandbox.create_job_type(
        name="Store Manager",
        job_description=DESCRIPTION,
        ai_interviewer_guidance=GUIDANCE,
    )


def test_job_type_create_applies_fields(
    job_types: JobTypeProvider, sandbox: Sandbox
) -> None:
    existing = dashboard_job_type(sandbox)
    result = job_types.create(
        {"job_type_id": existing["id"], "name": "Shift Lead", "__provider": "x"}
    )
    assert result.id == existing["id"]
    assert result.outs["name"] == "Shift Lead"
    assert result.outs["ai_interviewer_guidance"] == GUIDANCE
    assert result.outs["managed_properties"] == ["name"]
    assert "qualifications" in result.outs


def test_job_type_update_sends_changes_only(
    job_types: JobTypeProvider, sandbox: Sandbox
) -> None:
    existing = dashboard_job_type(sandbox)
    inputs = {"job_type_id": existing["id"], "name": "Shift Lead"}
    outs = job_types.create(inputs).outs
    news = {**inputs, "should_record_video": True}
    assert job_types.diff(existing["id"], outs, news).changes is True
    result = job_types.update(existing["id"], outs, news)
    assert result.outs["should_record_video"] is True
    assert result.outs["name"] == "Shift Lead"


def test_job_type_removed_guidance_is_cleared(
    job_types: JobTypeProvider, sandbox: Sandbox
) -> None:
    existing = dashboard_job_type(sandbox)
    inputs = {"job_type_id": existing["id"], "ai_interviewer_guidance": GUIDANCE}
    outs = job_types.create(inputs).outs
    news = {"job_type_id": existing["id"]}
    assert job_types.diff(existing["id"], outs, news).changes is True
    result = job_types.update(existing["id"], outs, news)
    assert result.outs["ai_interviewer_guidance"] is None
    assert sandbox_job_type(sandbox, existing["id"])["ai_interviewer_guidance"] is None


def test_job_type_removed_name_is_kept(
    job_types: JobTypeProvider, sandbox: Sandbox
) -> None:
    existing = dashboard_job_type(sandbox)
    inputs = {"job_type_id": existing["id"], "name": "Shift Lead"}
    outs = job_types.create(inputs).outs
    requests_before = sandbox.stats()["requests"]
    result = job_types.update(existing["id"], outs, {"job_type_id": existing["id"]})
    assert sandbox.stats()["requests"] == requests_before
    assert result.outs["name"] == "Shift Lead"
    assert result.outs["managed_properties"] == []


def test_job_type_same_inputs_no_change(
    job_types: JobTypeProvider, sandbox: Sandbox
) -> None:
    existing = dashboard_job_type(sandbox)
    inputs = {"job_type_id": existing["id"], "name": "Shift Lead"}
    outs = job_types.create(inputs).outs
    diff = job_types.diff(existing["id"], outs, {**inputs, "__provider": "y"})
    assert diff.changes is False


def test_job_type_new_id_replaces(job_types: JobTypeProvider, sandbox: Sandbox) -> None:
    existing = dashboard_job_type(sandbox)
    outs = job_types.create({"job_type_id": existing["id"]}).outs
    diff = job_types.diff(existing["id"], outs, {"job_type_id": "other-id"})
    assert diff.replaces == ["job_type_id"]


def test_job_type_name_clash_explained(
    job_types: JobTypeProvider, sandbox: Sandbox
) -> None:
    existing = dashboard_job_type(sandbox)
    sandbox.create_job_type(name="Cashier", job_description=DESCRIPTION)
    with pytest.raises(ResourceOperationError) as caught:
        job_types.create({"job_type_id": existing["id"], "name": "Cashier"})
    message = str(caught.value)
    assert f"JobType 'Cashier' (Alpharun id {existing['id']})" in message
    assert "job type names are unique" in message


def test_job_type_unknown_id_explained(job_types: JobTypeProvider) -> None:
    missing = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    with pytest.raises(ResourceOperationError) as caught:
        job_types.create({"job_type_id": missing})
    assert "HTTP 404" in str(caught.value)
    assert "Check job_type_id" in str(caught.value)


def test_job_type_delete_changes_nothing(
    job_types: JobTypeProvider,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    existing = dashboard_job_type(sandbox)
    outs = job_types.create({"job_type_id": existing["id"]}).outs
    before = sandbox.job_types()
    caplog.set_level(logging.WARNING, logger="alpharun_provider")
    job_types.delete(existing["id"], outs)
    assert sandbox.job_types() == before
    assert "unchanged in Alpharun" in caplog.text


@pytest.mark.parametrize(
    ("key", "value"),
    [("link_access", {"restricted": False}), ("link_access", {}), ("owner_emails", [])],
)
def test_diff_spelled_out_default_no_change(
    openings: JobOpeningProvider, key: str, value: Any
) -> None:
    id_, outs = stored_opening(openings)
    diff = openings.diff(id_, outs, {**inline_opening(), key: value})
    assert diff.changes is False


def test_invalid_log_level_rejected(sandbox: Sandbox) -> None:
    provider = JobOpeningProvider()
    with pytest.raises(Exception, match="Invalid alpharun:logLevel"):
        configure(provider, sandbox, **{"alpharun:logLevel": "LOUD"})


def test_job_type_partial_response_keeps_values(
    job_types: JobTypeProvider, sandbox: Sandbox
) -> None:
    existing = dashboard_job_type(sandbox)
    inputs = {"job_type_id": existing["id"], "name": "Shift Lead"}
    outs = job_types.create(inputs).outs
    sandbox.set_faults(
        script=[
            {
                "method": "PATCH",
                "path": "/job-types/*",
                "status": 200,
                "body": {"data": {"job_type": {"id": existing["id"]}}},
            }
        ]
    )
    news = {**inputs, "name": "Store Lead"}
    result = job_types.update(existing["id"], outs, news)
    assert result.outs["name"] == "Store Lead"
    assert result.outs["job_description"] == DESCRIPTION
    assert result.outs["ai_interviewer_guidance"] == GUIDANCE
