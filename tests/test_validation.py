"""Check-time validation: each published limit at its boundary."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.output import Unknown

from alpharun_provider import JobOpeningProvider, JobTypeProvider

DESCRIPTION = "Runs the store: staff, stock, opening and closing."
VALID_OPENING: dict[str, Any] = {
    "name": "Store Manager - Austin",
    "job_type_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
}
INLINE: dict[str, Any] = {"job_description": DESCRIPTION}


def opening_failures(**changes: Any) -> dict[str, str]:
    news = {**VALID_OPENING, **changes}
    news = {key: value for key, value in news.items() if value is not None}
    result = JobOpeningProvider().check({}, news)
    return {failure.property: failure.reason for failure in result.failures}


def inline_failures(**changes: Any) -> dict[str, str]:
    job_type = {**INLINE, **changes}
    job_type = {key: value for key, value in job_type.items() if value is not None}
    return opening_failures(job_type_id=None, job_type=job_type)


def job_type_failures(**changes: Any) -> dict[str, str]:
    news = {"job_type_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a", **changes}
    result = JobTypeProvider().check({}, news)
    return {failure.property: failure.reason for failure in result.failures}


@pytest.mark.parametrize(
    ("field", "value", "valid"),
    [
        ("name", "x" * 3, True),
        ("name", "x" * 150, True),
        ("name", "x" * 2, False),
        ("name", "x" * 151, False),
        ("name", 42, False),
        ("location", "x" * 200, True),
        ("location", "x" * 201, False),
        ("location", "", True),
        ("pay", "x" * 200, True),
        ("pay", "x" * 201, False),
        ("hours", "x" * 200, True),
        ("hours", "x" * 201, False),
        ("owner_emails", [], True),
        ("owner_emails", ["ana@example.com", "bo@shop.co.uk"], True),
        ("owner_emails", "ana@example.com", False),
        ("owner_emails", ["ana@example"], False),
        ("owner_emails", ["ana example.com"], False),
        ("owner_emails", ["a@b@example.com"], False),
        ("owner_emails", [7], False),
        ("link_access", {"restricted": True}, True),
        ("link_access", {"restricted": False}, True),
        ("link_access", {}, True),
        ("link_access", {"restricted": "yes"}, False),
        ("link_access", {"restricted": 1}, False),
        ("link_access", {"private": True}, False),
        ("link_access", True, False),
        ("job_type_id", "", False),
        ("job_type_id", "a/b", False),
        ("job_type_id", ".", False),
        ("job_type_id", "..", False),
        ("job_type_id", "a b", False),
        ("job_type_id", "789012", True),
        ("job_type_id", 12, False),
        ("name", "Caf\u00e9 \u2615 - M\u00fcnchen", True),
        ("name", "abc\ud800", False),
        ("owner_emails", ["ana@example.com\n"], False),
    ],
)
def test_opening_field_boundary(field: str, value: Any, valid: bool) -> None:
    failures = opening_failures(**{field: value})
    assert (failures == {}) is valid, failures


@pytest.mark.parametrize(
    ("field", "value", "valid"),
    [
        ("job_description", "x" * 20, True),
        ("job_description", "x" * 10000, True),
        ("job_description", "x" * 19, False),
        ("job_description", "x" * 10001, False),
        ("ai_interviewer_guidance", "x" * 15, True),
        ("ai_interviewer_guidance", "x" * 3000, True),
        ("ai_interviewer_guidance", "x" * 14, False),
        ("ai_interviewer_guidance", "x" * 3001, False),
        ("resume_collection_type", "before_interview", True),
        ("resume_collection_type", "after_interview", True),
        ("resume_collection_type", "during_interview", False),
        ("should_force_fullscreen", True, True),
        ("should_force_fullscreen", "true", False),
        ("should_record_video", False, True),
        ("should_record_video", 0, False),
        ("name", "Store Manager", False),
    ],
)
def test_inline_job_type_boundary(field: str, value: Any, valid: bool) -> None:
    failures = inline_failures(**{field: value})
    assert (failures == {}) is valid, failures


@pytest.mark.parametrize(
    ("field", "value", "valid"),
    [
        ("name", "x" * 3, True),
        ("name", "x" * 150, True),
        ("name", "x" * 2, False),
        ("name", "x" * 151, False),
        ("job_description", "x" * 20, True),
        ("job_description", "x" * 15000, True),
        ("job_description", "x" * 19, False),
        ("job_description", "x" * 15001, False),
        ("ai_interviewer_guidance", "x" * 15, True),
        ("ai_interviewer_guidance", "x" * 3001, False),
        ("resume_collection_type", "after_interview", True),
        ("resume_collection_type", "always", False),
        ("should_record_video", True, True),
        ("should_record_video", "no", False),
    ],
)
def test_job_type_field_boundary(field: str, value: Any, valid: bool) -> None:
    failures = job_type_failures(**{field: value})
    assert (failures == {}) is valid, failures


def test_opening_name_too_short_message() -> None:
    reason = opening_failures(name="ab")["name"]
    assert "name" in reason
    assert "2 characters" in reason
    assert "'ab'" in reason
    assert "at least 3" in reason


def test_opening_name_too_long_message() -> None:
    reason = opening_failures(name="x" * 151)["name"]
    assert "151 characters" in reason
    assert "at most 150" in reason


def test_opening_name_required() -> None:
    failures = opening_failures(name=None)
    assert "required" in failures["name"]


def test_opening_without_job_type_fails() -> None:
    failures = opening_failures(job_type_id=None)
    assert "neither job_type_id nor job_type" in failures["job_type_id"]


def test_opening_with_both_job_types_fails() -> None:
    failures = opening_failures(job_type=INLINE)
    assert "both set" in failures["job_type"]


def test_inline_job_description_required() -> None:
    failures = opening_failures(
        job_type_id=None, job_type={"should_record_video": True}
    )
    assert "required" in failures["job_type.job_description"]


def test_inline_job_type_must_be_object() -> None:
    failures = opening_failures(job_type_id=None, job_type="Store Manager")
    assert "must be an object" in failures["job_type"]


def test_email_failure_names_index() -> None:
    failures = opening_failures(owner_emails=["ana@example.com", "bob"])
    assert list(failures) == ["owner_emails[1]"]
    assert "'bob'" in failures["owner_emails[1]"]


def test_enum_failure_lists_values() -> None:
    reason = inline_failures(resume_collection_type="later")[
        "job_type.resume_collection_type"
    ]
    assert "'before_interview' or 'after_interview'" in reason


def test_every_failure_reported_at_once() -> None:
    failures = opening_failures(name="ab", pay="x" * 201, owner_emails=["no"])
    assert set(failures) == {"name", "pay", "owner_emails[0]"}


def test_unknown_values_are_skipped() -> None:
    failures = opening_failures(
        name=Unknown(),
        location=Unknown(),
        owner_emails=[Unknown(), "ana@example.com"],
        link_access=Unknown(),
        job_type_id=Unknown(),
    )
    assert failures == {}


def test_unknown_inline_job_type_is_skipped() -> None:
    assert opening_failures(job_type_id=None, job_type=Unknown()) == {}


def test_unknown_inline_field_is_skipped() -> None:
    assert inline_failures(job_description=Unknown()) == {}


def test_job_type_id_required_for_job_type() -> None:
    result = JobTypeProvider().check({}, {"name": "Store Manager"})
    assert [failure.property for failure in result.failures] == ["job_type_id"]


def test_check_drops_unset_and_output_keys() -> None:
    news = {**VALID_OPENING, "pay": None, "interview_link": "x", "other": 1}
    result = JobOpeningProvider().check({}, news)
    assert result.inputs == VALID_OPENING
