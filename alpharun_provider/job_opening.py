"""JobOpening: one Alpharun job opening and its interview link.

Alpharun publishes only ``POST /job-openings`` for job openings, so:

* a change to ``name``, ``location``, ``pay``, ``hours``, ``link_access``,
  ``owner_emails`` or ``job_type_id`` replaces the opening: a new opening with a
  new interview link is created, and the old one stays open in Alpharun until
  someone closes it in the dashboard. Because names are unique, a replacement
  that keeps the name is rejected with 409 until the old opening is closed;
* a change to a field of an inline ``job_type`` updates that job type in place
  through ``PATCH /job-types/{job_type_id}``, and swapping the inline
  ``job_type`` for ``job_type_id`` of that same job type changes nothing;
* spelling out a default (``link_access={"restricted": False}``, an empty
  ``owner_emails``) where nothing was set before is no change;
* delete removes the opening from the stack only; it stays open in Alpharun;
* refresh keeps the stored state, because there is no endpoint to read it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    UpdateResult,
)

from .errors import AlpharunError
from .provider import (
    INTERNAL_KEYS,
    AlpharunProvider,
    client_for,
    differs,
    explain,
    note_refresh_once,
    notices,
    user_inputs,
)
from .validation import (
    CLEARABLE_JOB_TYPE_FIELDS,
    INLINE_JOB_TYPE_FIELDS,
    check_job_opening,
    is_unknown,
)

KIND = "JobOpening"
INPUT_KEYS = (
    "name",
    "job_type_id",
    "job_type",
    "location",
    "pay",
    "hours",
    "link_access",
    "owner_emails",
)


@dataclasses.dataclass
class LinkAccessArgs:
    """Access settings of the interview link."""

    restricted: pulumi.Input[bool] | None = None
    """True limits the link to pre-registered candidates. Alpharun's default,
    when unset, is false: anyone with the link can interview."""


@dataclasses.dataclass
class InlineJobTypeArgs:
    """A new job type created together with the opening.

    Alpharun has no field for the new job type's name in this request; declare
    a ``JobType`` resource on the opening's ``job_type_id`` output to name it.
    Changes to these fields update the job type in place.
    """

    job_description: pulumi.Input[str]
    """Description of the job: 20 to 10,000 characters. Required."""

    ai_interviewer_guidance: pulumi.Input[str] | None = None
    """Instructions for the AI interviewer: 15 to 3,000 characters. Removing it
    later clears it in Alpharun."""

    resume_collection_type: pulumi.Input[str] | None = None
    """``before_interview`` or ``after_interview``; unset collects no resume.
    Removing it later turns resume collection off."""

    should_force_fullscreen: pulumi.Input[bool] | None = None
    """Whether candidates must interview in fullscreen. Removing it later leaves
    Alpharun's value as it is."""

    should_record_video: pulumi.Input[bool] | None = None
    """Whether the interview records video. Removing it later leaves Alpharun's
    value as it is."""


@dataclasses.dataclass
class JobOpeningArgs:
    """Inputs of a JobOpening. A change to any field replaces the opening,
    except a change inside the inline job type, or swapping the inline job type
    for job_type_id of that same job type."""

    name: pulumi.Input[str]
    """Name of the opening, unique among open openings: 3 to 150 characters,
    for example 'Store Manager - Austin'."""

    job_type_id: pulumi.Input[str] | None = None
    """Id of an existing job type. Set exactly one of job_type_id and job_type."""

    job_type: pulumi.Input[InlineJobTypeArgs | Mapping[str, Any]] | None = None
    """A new job type to create with this opening."""

    location: pulumi.Input[str] | None = None
    """Location of the job, at most 200 characters."""

    pay: pulumi.Input[str] | None = None
    """Pay information, at most 200 characters."""

    hours: pulumi.Input[str] | None = None
    """Working hours, at most 200 characters."""

    link_access: pulumi.Input[LinkAccessArgs | Mapping[str, Any]] | None = None
    """Access to the interview link; open to anyone when unset."""

    owner_emails: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    """Email addresses of teammates who own the opening."""


class JobOpeningProvider(AlpharunProvider):
    """Creates job openings; see the module docstring for what changes cost."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate the inputs against Alpharun's limits. Makes no API call."""
        return CheckResult(user_inputs(news, INPUT_KEYS), check_job_opening(news))

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Compare stored outputs with new inputs; warn what a replacement costs."""
        changes = _changed_keys(olds, news)
        replaces = [key for key in changes if _forces_replacement(key, olds, news)]
        if replaces:
            _warn_replacement(id_, olds, news, replaces)
        return DiffResult(
            changes=bool(changes), replaces=replaces, delete_before_replace=False
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Send POST /job-openings once; return the id and the interview link."""
        inputs = user_inputs(props, INPUT_KEYS)
        client = client_for(KIND, inputs.get("name"), "Creating")

        try:
            created = client.create_job_opening(_request_body(inputs))
        except AlpharunError as error:
            raise explain(
                error,
                kind=KIND,
                name=inputs.get("name"),
                alpharun_id=None,
                action="Creating",
            ) from None

        outs = {**inputs, "interview_link": created.interview_link}
        outs["job_type_id"] = created.job_type_id
        return CreateResult(created.id, outs)

    def update(
        self, id_: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> UpdateResult:
        """Apply inline job type changes through PATCH /job-types/{id}."""
        inputs = user_inputs(news, INPUT_KEYS)
        patch = _job_type_patch(olds.get("job_type"), inputs.get("job_type"))
        job_type_id = olds["job_type_id"]

        if patch:
            client = client_for(KIND, inputs.get("name"), "Updating")
            try:
                client.update_job_type(job_type_id, patch)
            except AlpharunError as error:
                raise explain(
                    error,
                    kind=KIND,
                    name=inputs.get("name"),
                    alpharun_id=id_,
                    action="Updating the job type of",
                ) from None

        outs = {**inputs, "interview_link": olds["interview_link"]}
        outs["job_type_id"] = job_type_id
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Remove the opening from the stack; Alpharun keeps it open."""
        notices.warning(
            "JobOpening %r (Alpharun id %s) is no longer managed by this stack but "
            "is still open in Alpharun, because the API has no endpoint to close "
            "it. Close it in the Alpharun dashboard if candidates should stop "
            "using %s.",
            props.get("name"),
            id_,
            props.get("interview_link"),
        )

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Return the stored state: Alpharun has no endpoint to read an opening."""
        note_refresh_once()
        return ReadResult(id_, props)


class JobOpening(Resource, module="alpharun", name="JobOpening"):
    """An Alpharun job opening: one instance of a job type with its own name,
    location, pay, hours, owners and interview link.

    Outputs: every input, plus ``interview_link`` (the link candidates open to
    start the AI interview) and ``job_type_id`` (the job type used or created).
    The resource id is Alpharun's job opening id.

    A change to any input other than an inline ``job_type`` field replaces the
    opening: the new one gets a new interview link, the old one stays open in
    Alpharun, and keeping the same name is rejected until the old opening is
    closed in the dashboard. Deleting the resource leaves the opening open in
    Alpharun. Refresh keeps the stored state.
    """

    name: pulumi.Output[str]
    job_type_id: pulumi.Output[str]
    job_type: pulumi.Output[dict[str, Any] | None]
    location: pulumi.Output[str | None]
    pay: pulumi.Output[str | None]
    hours: pulumi.Output[str | None]
    link_access: pulumi.Output[dict[str, Any] | None]
    owner_emails: pulumi.Output[list[str] | None]
    interview_link: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: JobOpeningArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        *,
        name: pulumi.Input[str] | None = None,
        job_type_id: pulumi.Input[str] | None = None,
        job_type: pulumi.Input[InlineJobTypeArgs | Mapping[str, Any]] | None = None,
        location: pulumi.Input[str] | None = None,
        pay: pulumi.Input[str] | None = None,
        hours: pulumi.Input[str] | None = None,
        link_access: pulumi.Input[LinkAccessArgs | Mapping[str, Any]] | None = None,
        owner_emails: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
    ) -> None:
        if args is None:
            args = JobOpeningArgs(
                name=name,  # type: ignore[arg-type]
                job_type_id=job_type_id,
                job_type=job_type,
                location=location,
                pay=pay,
                hours=hours,
                link_access=link_access,
                owner_emails=owner_emails,
            )
        props = {key: plain(getattr(args, key)) for key in INPUT_KEYS}
        props["interview_link"] = None
        super().__init__(JobOpeningProvider(), resource_name, props, opts)


def plain(value: Any) -> Any:
    """Turn Args dataclasses into dicts and drop unset (None) fields."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {
            field.name: getattr(value, field.name)
            for field in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items() if item is not None}
    return value


def _changed_keys(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    changed = [
        key
        for key in INPUT_KEYS
        if differs(_effective(key, olds.get(key)), _effective(key, news.get(key)))
    ]
    # An inline job type's id is an output, so it is absent from the inputs.
    if news.get("job_type") is not None and news.get("job_type_id") is None:
        changed = [key for key in changed if key != "job_type_id"]
    return changed


def _effective(key: str, value: Any) -> Any:
    """Return the value Alpharun applies, so that spelling out a default is no
    change: no link_access means unrestricted, no owner_emails means none."""
    unrestricted = (
        key == "link_access"
        and isinstance(value, Mapping)
        and set(value) <= {"restricted"}
        and value.get("restricted") in (None, False)
    )
    no_owners = key == "owner_emails" and isinstance(value, (list, tuple)) and not value
    return None if unrestricted or no_owners else value


def _forces_replacement(
    key: str, olds: Mapping[str, Any], news: Mapping[str, Any]
) -> bool:
    if key != "job_type":
        return True
    old, new = olds.get("job_type"), news.get("job_type")
    if old is not None and new is not None:
        return False  # inline fields change in place
    # Dropping the inline job type for job_type_id of that same job type keeps
    # the opening as it is in Alpharun.
    return not (
        old is not None
        and new is None
        and news.get("job_type_id") == olds.get("job_type_id")
    )


def _request_body(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Build the POST body: only the fields that are set, no internal keys."""
    body = {
        key: value
        for key, value in inputs.items()
        if key not in INTERNAL_KEYS and value is not None
    }
    if isinstance(body.get("job_type"), Mapping):
        body["job_type"] = {
            key: value
            for key, value in body["job_type"].items()
            if key in INLINE_JOB_TYPE_FIELDS and value is not None
        }
    return body


def _job_type_patch(old: Any, new: Any) -> dict[str, Any]:
    """Return the PATCH body for an inline job type change, or {}."""
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return {}
    patch = {
        key: new[key]
        for key in INLINE_JOB_TYPE_FIELDS
        if new.get(key) is not None and differs(old.get(key), new[key])
    }
    for key in CLEARABLE_JOB_TYPE_FIELDS:
        if old.get(key) is not None and new.get(key) is None:
            patch[key] = None
    return patch


def _warn_replacement(
    id_: str,
    olds: Mapping[str, Any],
    news: Mapping[str, Any],
    replaces: list[str],
) -> None:
    old_name, new_name = olds.get("name"), news.get("name")
    same_name = not is_unknown(new_name) and new_name == old_name
    message = (
        "JobOpening %r (Alpharun id %s) will be replaced because %s changed: the "
        "new opening gets a new interview link, and the old opening and its link "
        "%s stay open in Alpharun until you close it in the dashboard."
    )
    if same_name:
        message += (
            " The name stays the same, so Alpharun will reject the new opening "
            "(409) until the old one is closed; close it first, or change name."
        )
    notices.warning(
        message, old_name, id_, ", ".join(replaces), olds.get("interview_link")
    )
