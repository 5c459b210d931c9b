"""JobType: takes charge of an existing Alpharun job type.

Alpharun publishes no endpoint to create, read or delete a job type on its own,
only ``PATCH /job-types/{id}``. A job type comes into being in the dashboard or
through a JobOpening's inline ``job_type``; this resource then keeps the
declared settings:

* create and update send the declared fields with ``PATCH`` (update sends only
  what changed);
* a removed ``ai_interviewer_guidance`` or ``resume_collection_type`` is
  cleared with ``null``. A removed ``name``, ``job_description`` or boolean is
  left as it is in Alpharun, because the API cannot clear them;
* a new ``job_type_id`` replaces the resource, which leaves the old job type
  as it is;
* delete changes nothing in Alpharun, and refresh keeps the stored state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
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

from .client import AlpharunClient
from .errors import AlpharunError
from .provider import (
    AlpharunProvider,
    client_for,
    differs,
    explain,
    note_refresh_once,
    notices,
    user_inputs,
)
from .validation import CLEARABLE_JOB_TYPE_FIELDS, check_job_type

KIND = "JobType"
FIELDS = (
    "name",
    "job_description",
    "ai_interviewer_guidance",
    "resume_collection_type",
    "should_force_fullscreen",
    "should_record_video",
)
INPUT_KEYS = ("job_type_id", *FIELDS)
RETURNED_FIELDS = (
    "name",
    "job_description",
    "ai_interviewer_guidance",
    "qualifications",
    "should_force_fullscreen",
    "should_record_video",
)


@dataclasses.dataclass
class JobTypeArgs:
    """Inputs of a JobType. Only ``job_type_id`` replaces the resource."""

    job_type_id: pulumi.Input[str]
    """Id of the existing job type to manage."""

    name: pulumi.Input[str] | None = None
    """Name, unique among the company's job types: 3 to 150 characters."""

    job_description: pulumi.Input[str] | None = None
    """Description of the job: 20 to 15,000 characters."""

    ai_interviewer_guidance: pulumi.Input[str] | None = None
    """Instructions for the AI interviewer: 15 to 3,000 characters. Removing it
    clears it in Alpharun."""

    resume_collection_type: pulumi.Input[str] | None = None
    """``before_interview`` or ``after_interview``. Removing it turns resume
    collection off."""

    should_force_fullscreen: pulumi.Input[bool] | None = None
    """Whether candidates must interview in fullscreen."""

    should_record_video: pulumi.Input[bool] | None = None
    """Whether the interview records video."""


class JobTypeProvider(AlpharunProvider):
    """Keeps a job type's declared settings through PATCH /job-types/{id}."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate the inputs against Alpharun's limits. Makes no API call."""
        return CheckResult(user_inputs(news, INPUT_KEYS), check_job_type(news))

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Report changed and removed fields; a new job_type_id replaces."""
        changes = [key for key in FIELDS if _field_changed(key, olds, news)]
        replaces = []
        if differs(olds.get("job_type_id"), news.get("job_type_id")):
            replaces = ["job_type_id"]
        return DiffResult(
            changes=bool(changes or replaces),
            replaces=replaces,
            delete_before_replace=False,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Apply every declared field to the existing job type."""
        inputs = user_inputs(props, INPUT_KEYS)
        body = {key: inputs[key] for key in FIELDS if key in inputs}

        job_type = _patch(inputs, inputs["job_type_id"], body, "Taking charge of")

        return CreateResult(inputs["job_type_id"], _outputs(inputs, job_type))

    def update(
        self, id_: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> UpdateResult:
        """Send only the changed fields, and null for removed clearable ones."""
        inputs = user_inputs(news, INPUT_KEYS)
        body = {
            key: inputs.get(key)
            for key in FIELDS
            if _field_changed(key, olds, news)
            and (key in inputs or key in CLEARABLE_JOB_TYPE_FIELDS)
        }

        if not body:
            return UpdateResult(_outputs(inputs, olds))
        job_type = _patch(inputs, id_, body, "Updating")

        return UpdateResult(_outputs(inputs, job_type, olds))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Leave the job type as it is; Alpharun has no delete endpoint."""
        notices.warning(
            "JobType %r (Alpharun id %s) is no longer managed by this stack; it "
            "is unchanged in Alpharun, because the API has no endpoint to delete "
            "a job type.",
            props.get("name"),
            id_,
        )

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Return the stored state: Alpharun has no endpoint to read a job type."""
        note_refresh_once()
        return ReadResult(id_, props)


class JobType(Resource, module="alpharun", name="JobType"):
    """An existing Alpharun job type whose settings this stack keeps.

    A job type contains the interview setup shared by its openings. This resource
    does not create one: it takes charge of a job type made in the dashboard or
    by a JobOpening's inline ``job_type`` (pass that opening's
    ``job_type_id`` output) and applies the declared fields with PATCH.

    Outputs: the job type as Alpharun returns it (``name``,
    ``job_description``, ``ai_interviewer_guidance``, ``qualifications``,
    ``should_force_fullscreen``, ``should_record_video``), plus
    ``job_type_id``, the declared ``resume_collection_type`` (Alpharun does not
    return it) and ``managed_properties``, the inputs this stack sets.

    Removing ``ai_interviewer_guidance`` or ``resume_collection_type`` clears
    it in Alpharun; removing another field leaves Alpharun's value. A new
    ``job_type_id`` replaces the resource. Delete and refresh change nothing in
    Alpharun.
    """

    job_type_id: pulumi.Output[str]
    name: pulumi.Output[str]
    job_description: pulumi.Output[str]
    ai_interviewer_guidance: pulumi.Output[str | None]
    resume_collection_type: pulumi.Output[str | None]
    qualifications: pulumi.Output[list[str]]
    should_force_fullscreen: pulumi.Output[bool]
    should_record_video: pulumi.Output[bool]
    managed_properties: pulumi.Output[list[str]]

    def __init__(
        self,
        resource_name: str,
        args: JobTypeArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        *,
        job_type_id: pulumi.Input[str] | None = None,
        name: pulumi.Input[str] | None = None,
        job_description: pulumi.Input[str] | None = None,
        ai_interviewer_guidance: pulumi.Input[str] | None = None,
        resume_collection_type: pulumi.Input[str] | None = None,
        should_force_fullscreen: pulumi.Input[bool] | None = None,
        should_record_video: pulumi.Input[bool] | None = None,
    ) -> None:
        if args is None:
            args = JobTypeArgs(
                job_type_id=job_type_id,  # type: ignore[arg-type]
                name=name,
                job_description=job_description,
                ai_interviewer_guidance=ai_interviewer_guidance,
                resume_collection_type=resume_collection_type,
                should_force_fullscreen=should_force_fullscreen,
                should_record_video=should_record_video,
            )
        props: dict[str, Any] = {key: getattr(args, key) for key in INPUT_KEYS}
        props["qualifications"] = None
        props["managed_properties"] = None
        super().__init__(JobTypeProvider(), resource_name, props, opts)


def _field_changed(key: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    if key in news:
        return differs(olds.get(key), news[key])
    # A field the stack managed before and no longer declares.
    return key in (olds.get("managed_properties") or [])


def _patch(
    inputs: Mapping[str, Any], job_type_id: str, body: dict[str, Any], action: str
) -> dict[str, Any]:
    client: AlpharunClient = client_for(KIND, inputs.get("name"), action)
    try:
        return client.update_job_type(job_type_id, body)
    except AlpharunError as error:
        raise explain(
            error,
            kind=KIND,
            name=inputs.get("name"),
            alpharun_id=job_type_id,
            action=action,
        ) from None


def _outputs(
    inputs: Mapping[str, Any],
    job_type: Mapping[str, Any],
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Combine the API's job type with the declared-only fields.

    The API marks no field of its response as required, so a field it leaves
    out keeps the declared value, or else the previous output.
    """
    previous = previous or {}
    outs = {
        key: job_type[key] if key in job_type else inputs.get(key, previous.get(key))
        for key in RETURNED_FIELDS
    }
    outs["job_type_id"] = inputs["job_type_id"]
    outs["resume_collection_type"] = inputs.get("resume_collection_type")
    outs["managed_properties"] = sorted(key for key in FIELDS if key in inputs)
    return outs
