"""Input checks that mirror Alpharun's published limits.

The providers run these in ``check``, so ``pulumi preview`` reports bad input
before any API call. Values not known at preview (outputs of resources not yet
created) are skipped. Each failure names the property, what is wrong with the
value and the limit. Lengths count characters (code points), not bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import CheckFailure
from pulumi.output import Unknown

RESUME_COLLECTION_TYPES = ("before_interview", "after_interview")

OPENING_NAME = (3, 150)
OPENING_TEXT_MAX = 200  # location, pay, hours
JOB_TYPE_NAME = (3, 150)
DESCRIPTION_ON_CREATE = (20, 10000)
DESCRIPTION_ON_UPDATE = (20, 15000)
GUIDANCE = (15, 3000)

# PATCH /job-types accepts null for these two and clears them. The booleans,
# name and job_description cannot be cleared.
CLEARABLE_JOB_TYPE_FIELDS = ("ai_interviewer_guidance", "resume_collection_type")
INLINE_JOB_TYPE_FIELDS = (
    "job_description",
    "ai_interviewer_guidance",
    "resume_collection_type",
    "should_force_fullscreen",
    "should_record_video",
)

# A pragmatic address check: one @, no spaces, a dot in the domain.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
# Ids are opaque: the API declares UUIDs but its example returns "789012". They
# go into a URL path, so only characters that need no escaping are accepted.
_ID = re.compile(r"[A-Za-z0-9_-]+")


def is_unknown(value: Any) -> bool:
    """Return True for a value that preview does not know yet."""
    return isinstance(value, Unknown)


def check_job_opening(news: Mapping[str, Any]) -> list[CheckFailure]:
    """Return every failure in a JobOpening's inputs; empty when valid."""
    failures: list[CheckFailure] = []
    _check_text(failures, news, "name", OPENING_NAME, required=True)
    for key in ("location", "pay", "hours"):
        _check_text(failures, news, key, (0, OPENING_TEXT_MAX))
    _check_emails(failures, news.get("owner_emails"))
    _check_link_access(failures, news.get("link_access"))
    _check_job_type_choice(failures, news)
    job_type = news.get("job_type")
    if isinstance(job_type, Mapping):
        _check_inline_job_type(failures, job_type)
    return failures


def check_job_type(news: Mapping[str, Any]) -> list[CheckFailure]:
    """Return every failure in a JobType's inputs; empty when valid."""
    failures: list[CheckFailure] = []
    _check_id(failures, news, "job_type_id", required=True)
    _check_text(failures, news, "name", JOB_TYPE_NAME)
    _check_text(failures, news, "job_description", DESCRIPTION_ON_UPDATE)
    _check_text(failures, news, "ai_interviewer_guidance", GUIDANCE)
    _check_enum(failures, news, "resume_collection_type")
    for key in ("should_force_fullscreen", "should_record_video"):
        _check_bool(failures, news, key)
    return failures


def _check_job_type_choice(
    failures: list[CheckFailure], news: Mapping[str, Any]
) -> None:
    has_id = news.get("job_type_id") is not None
    has_inline = news.get("job_type") is not None
    if has_id and has_inline:
        failures.append(
            CheckFailure(
                "job_type",
                "job_type_id and job_type are both set; set exactly one: "
                "job_type_id to use an existing job type, or job_type to create "
                "a new job type with this opening.",
            )
        )
    elif not has_id and not has_inline:
        failures.append(
            CheckFailure(
                "job_type_id",
                "neither job_type_id nor job_type is set; set exactly one: "
                "job_type_id to use an existing job type, or job_type to create "
                "a new job type with this opening.",
            )
        )
    _check_id(failures, news, "job_type_id")
    job_type = news.get("job_type")
    if job_type is None or is_unknown(job_type) or isinstance(job_type, Mapping):
        return
    failures.append(
        CheckFailure(
            "job_type",
            "job_type must be an object with job_description and the optional "
            f"job type fields, got {_describe(job_type)}.",
        )
    )


def _check_inline_job_type(
    failures: list[CheckFailure], job_type: Mapping[str, Any]
) -> None:
    for key in job_type:
        if key not in INLINE_JOB_TYPE_FIELDS:
            failures.append(
                CheckFailure(
                    f"job_type.{key}",
                    f"job_type.{key} is not a field of an inline job type; the "
                    f"fields are {', '.join(INLINE_JOB_TYPE_FIELDS)}. To set a "
                    "job type's name, declare a JobType resource.",
                )
            )
    _check_text(
        failures,
        job_type,
        "job_description",
        DESCRIPTION_ON_CREATE,
        required=True,
        prefix="job_type.",
    )
    _check_text(
        failures, job_type, "ai_interviewer_guidance", GUIDANCE, prefix="job_type."
    )
    _check_enum(failures, job_type, "resume_collection_type", prefix="job_type.")
    for key in ("should_force_fullscreen", "should_record_video"):
        _check_bool(failures, job_type, key, prefix="job_type.")


def _check_text(
    failures: list[CheckFailure],
    values: Mapping[str, Any],
    key: str,
    limits: tuple[int, int],
    *,
    required: bool = False,
    prefix: str = "",
) -> None:
    value = values.get(key)
    name = prefix + key
    low, high = limits
    if value is None:
        if required:
            failures.append(
                CheckFailure(name, f"{name} is required: {low} to {high} characters.")
            )
        return
    if is_unknown(value):
        return
    if not isinstance(value, str):
        failures.append(
            CheckFailure(name, f"{name} must be a string, got {_describe(value)}.")
        )
        return
    if not _is_utf8(value):
        failures.append(
            CheckFailure(
                name,
                f"{name} contains a lone surrogate ({_show(value)}), which is not a "
                "character and cannot be sent as UTF-8. Remove it.",
            )
        )
        return
    length = len(value)
    if length < low:
        failures.append(
            CheckFailure(
                name,
                f"{name} is too short: {length} characters ({_show(value)}); "
                f"Alpharun requires at least {low}.",
            )
        )
    elif length > high:
        failures.append(
            CheckFailure(
                name,
                f"{name} is too long: {length} characters ({_show(value)}); "
                f"Alpharun allows at most {high}.",
            )
        )


def _check_id(
    failures: list[CheckFailure],
    values: Mapping[str, Any],
    key: str,
    *,
    required: bool = False,
) -> None:
    value = values.get(key)
    if value is None:
        if required:
            failures.append(
                CheckFailure(
                    key,
                    f"{key} is required: the id of a job type that exists in "
                    "Alpharun (the dashboard shows it, and a JobOpening with an "
                    "inline job_type outputs it as job_type_id).",
                )
            )
        return
    if is_unknown(value):
        return
    if not isinstance(value, str) or not _ID.fullmatch(value):
        failures.append(
            CheckFailure(
                key,
                f"{key} must be a job type id such as "
                f"'3c90c3cc-0d44-4b50-8888-8dd25736052a', got {_describe(value)}.",
            )
        )


def _check_enum(
    failures: list[CheckFailure],
    values: Mapping[str, Any],
    key: str,
    *,
    prefix: str = "",
) -> None:
    value = values.get(key)
    if value is None or is_unknown(value) or value in RESUME_COLLECTION_TYPES:
        return
    name = prefix + key
    failures.append(
        CheckFailure(
            name,
            f"{name} must be 'before_interview' or 'after_interview', got "
            f"{_describe(value)}. Leave it unset to collect no resume.",
        )
    )


def _check_bool(
    failures: list[CheckFailure],
    values: Mapping[str, Any],
    key: str,
    *,
    prefix: str = "",
) -> None:
    value = values.get(key)
    if value is None or is_unknown(value) or isinstance(value, bool):
        return
    name = prefix + key
    failures.append(
        CheckFailure(name, f"{name} must be true or false, got {_describe(value)}.")
    )


def _check_emails(failures: list[CheckFailure], emails: Any) -> None:
    if emails is None or is_unknown(emails):
        return
    if isinstance(emails, str) or not isinstance(emails, (list, tuple)):
        failures.append(
            CheckFailure(
                "owner_emails",
                "owner_emails must be a list of email addresses, got "
                f"{_describe(emails)}. Write ['ana@example.com'] even for one owner.",
            )
        )
        return
    for index, email in enumerate(emails):
        if is_unknown(email):
            continue
        if not isinstance(email, str) or not _EMAIL.fullmatch(email):
            failures.append(
                CheckFailure(
                    f"owner_emails[{index}]",
                    f"owner_emails[{index}] is not an email address: "
                    f"{_describe(email)}. Expected a form like ana@example.com.",
                )
            )


def _check_link_access(failures: list[CheckFailure], link_access: Any) -> None:
    if link_access is None or is_unknown(link_access):
        return
    if not isinstance(link_access, Mapping):
        failures.append(
            CheckFailure(
                "link_access",
                "link_access must be an object such as {'restricted': True}, got "
                f"{_describe(link_access)}.",
            )
        )
        return
    for key in link_access:
        if key != "restricted":
            failures.append(
                CheckFailure(
                    f"link_access.{key}",
                    f"link_access.{key} is not a field of link_access; the only "
                    "field is restricted (true or false).",
                )
            )
    _check_bool(failures, link_access, "restricted", prefix="link_access.")


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _show(value: str, limit: int = 40) -> str:
    shown = value if len(value) <= limit else value[: limit - 3] + "..."
    return repr(shown)


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return _show(value)
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"
