"""The Resource classes: what a program registers with the engine."""

from __future__ import annotations

import base64

import dill
from provider_harness import PROVIDER_KEY, sdk_declare

from alpharun_provider import (
    InlineJobTypeArgs,
    JobOpening,
    JobOpeningArgs,
    JobOpeningProvider,
    JobType,
    JobTypeArgs,
    LinkAccessArgs,
)

DESCRIPTION = "Runs the store: staff, stock, opening and closing."


def registered(factory: object) -> dict:
    (resource,) = sdk_declare(factory)  # type: ignore[arg-type]
    return {"type": resource.type, **resource.inputs}


def test_opening_type_token() -> None:
    inputs = registered(lambda: JobOpening("a", name="Cook", job_type_id="jt-1"))
    assert inputs["type"] == "pulumi-python:dynamic/alpharun:JobOpening"


def test_job_type_type_token() -> None:
    inputs = registered(lambda: JobType("a", job_type_id="jt-1"))
    assert inputs["type"] == "pulumi-python:dynamic/alpharun:JobType"


def test_args_classes_match_dicts() -> None:
    with_args = registered(
        lambda: JobOpening(
            "a",
            JobOpeningArgs(
                name="Cook - Austin",
                job_type=InlineJobTypeArgs(
                    job_description=DESCRIPTION, should_record_video=True
                ),
                link_access=LinkAccessArgs(restricted=True),
                owner_emails=["ana@example.com"],
            ),
        )
    )
    with_dicts = registered(
        lambda: JobOpening(
            "a",
            name="Cook - Austin",
            job_type={"job_description": DESCRIPTION, "should_record_video": True},
            link_access={"restricted": True},
            owner_emails=["ana@example.com"],
        )
    )
    assert with_args == with_dicts


def test_unset_inputs_are_not_registered() -> None:
    inputs = registered(lambda: JobOpening("a", name="Cook", job_type_id="jt-1"))
    assert set(inputs) == {"type", "name", "job_type_id", PROVIDER_KEY}


def test_job_type_args_class() -> None:
    inputs = registered(
        lambda: JobType("a", JobTypeArgs(job_type_id="jt-1", name="Cashier"))
    )
    assert inputs["job_type_id"] == "jt-1"
    assert inputs["name"] == "Cashier"


def test_provider_value_unpickles_to_empty_provider() -> None:
    inputs = registered(lambda: JobOpening("a", name="Cook", job_type_id="jt-1"))
    provider = dill.loads(base64.b64decode(inputs[PROVIDER_KEY]))
    assert type(provider) is JobOpeningProvider
    assert vars(provider) == {}


def test_output_attributes_exist() -> None:
    def build() -> None:
        opening = JobOpening("a", name="Cook", job_type_id="jt-1")
        job_type = JobType("b", job_type_id="jt-1")
        for attribute in ("interview_link", "job_type_id", "pay", "owner_emails"):
            assert hasattr(opening, attribute), attribute
        for attribute in ("qualifications", "managed_properties", "name"):
            assert hasattr(job_type, attribute), attribute

    assert len(sdk_declare(build)) == 2
