"""Both resources through the SDK's provider server, in the engine's order.

The program: one opening creates a job type inline, a JobType resource takes
charge of that job type, and three more openings use it by job_type_id. Every
``__provider`` is the one the SDK itself produces for the real resource
classes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import API_KEY
from provider_harness import (
    PROVIDER_KEY,
    CheckFailedError,
    Declared,
    Engine,
    ProviderError,
    ProviderServer,
    output_of,
    sdk_declare,
)
from pulumi.output import Unknown

from alpharun_provider import JobOpening, JobType
from alpharun_provider.sandbox import Sandbox

OPENING = "pulumi-python:dynamic/alpharun:JobOpening"
JOB_TYPE = "pulumi-python:dynamic/alpharun:JobType"
DESCRIPTION = "Runs the store: staff, stock, opening and closing."
CITIES = ("denver", "boston", "miami")


@pytest.fixture(scope="module")
def server(sandbox_server: Sandbox) -> Iterator[ProviderServer]:
    """One provider process, configured the way the engine configures it."""
    with ProviderServer() as provider_server:
        provider_server.configure(
            {
                "alpharun:apiUrl": sandbox_server.base_url,
                "alpharun:apiKey": API_KEY,
            },
            secret_keys=["alpharun:apiKey"],
        )
        yield provider_server


@pytest.fixture
def engine(server: ProviderServer, sandbox: Sandbox) -> Engine:
    return Engine(server)


def declared(factory: Any) -> Declared:
    """Return the single resource a factory constructs, as the SDK registers it."""
    (resource,) = sdk_declare(factory)
    return resource


def with_inputs(resource: Declared, **inputs: Any) -> Declared:
    return Declared(resource.type, resource.name, {**resource.inputs, **inputs})


def program(
    guidance: str = "Ask about weekend availability.",
    job_type_name: str = "Store Manager",
    denver_pay: str = "$18/h",
    denver_name: str = "Store Manager - Denver",
    cities: tuple[str, ...] = CITIES,
) -> list[Declared]:
    """Build the stack's resources from the real classes."""
    austin = declared(
        lambda: JobOpening(
            "austin",
            name="Store Manager - Austin",
            location="Austin, TX",
            job_type={
                "job_description": DESCRIPTION,
                "ai_interviewer_guidance": guidance,
            },
        )
    )
    shared_id = output_of(OPENING, "austin", "job_type_id")
    job_type = declared(
        lambda: JobType("store-manager", job_type_id="placeholder", name=job_type_name)
    )
    resources = [austin, with_inputs(job_type, job_type_id=shared_id)]
    for city in cities:
        name = denver_name if city == "denver" else f"Store Manager - {city.title()}"
        pay = denver_pay if city == "denver" else "$18/h"
        opening = declared(
            lambda city=city, name=name, pay=pay: JobOpening(
                city, name=name, pay=pay, job_type_id="placeholder"
            )
        )
        resources.append(with_inputs(opening, job_type_id=shared_id))
    return resources


def outputs(engine: Engine, name: str) -> dict[str, Any]:
    """Return a resource's stored outputs with its id under "id"."""
    (record,) = [r for urn, r in engine.state.items() if urn.endswith(f"::{name}")]
    return {"id": record["id"], **record["outputs"]}


def open_openings(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    return {o["id"]: o for o in sandbox.job_openings() if o["status"] == "open"}


def new_stderr(server: ProviderServer, since: int) -> str:
    return server.stderr_text[since:]


def test_preview_new_stack_makes_no_requests(engine: Engine, sandbox: Sandbox) -> None:
    plan = engine.preview(program())
    assert set(plan.ops.values()) == {"create"}
    assert {method for method, _ in engine.calls} == {"Check"}
    assert sandbox.stats()["requests"] == 0


def test_preview_passes_unknown_job_type_id(engine: Engine) -> None:
    plan = engine.preview(program())
    denver = next(step for urn, step in plan.steps.items() if urn.endswith("denver"))
    assert denver.inputs is not None
    assert isinstance(denver.inputs["job_type_id"], Unknown)


def test_up_creates_openings_with_links(engine: Engine, sandbox: Sandbox) -> None:
    engine.up(program())
    stored = open_openings(sandbox)
    for name in ("austin", *CITIES):
        outs = outputs(engine, name)
        assert stored[outs["id"]]["interview_link"] == outs["interview_link"]
    assert len(stored) == 4


def test_up_shares_the_inline_job_type(engine: Engine, sandbox: Sandbox) -> None:
    engine.up(program())
    (job_type,) = sandbox.job_types()
    assert outputs(engine, "austin")["job_type_id"] == job_type["id"]
    assert {outputs(engine, city)["job_type_id"] for city in CITIES} == {job_type["id"]}
    assert job_type["name"] == "Store Manager"


def test_up_records_job_type_outputs(engine: Engine) -> None:
    engine.up(program())
    outs = outputs(engine, "store-manager")
    assert outs["name"] == "Store Manager"
    assert outs["job_description"] == DESCRIPTION
    assert isinstance(outs["qualifications"], list)


def test_up_calls_in_engine_order(engine: Engine) -> None:
    engine.up(program())
    methods = [method for method, _ in engine.calls]
    assert methods == ["Check", "Create"] * 5


def test_noop_preview_after_up(engine: Engine, sandbox: Sandbox) -> None:
    engine.up(program())
    requests_after_up = sandbox.stats()["requests"]
    plan = engine.preview(program())
    assert set(plan.ops.values()) == {"same"}
    assert sandbox.stats()["requests"] == requests_after_up


def test_inline_change_updates_in_place(engine: Engine, sandbox: Sandbox) -> None:
    engine.up(program())
    before = outputs(engine, "austin")
    plan = engine.up(program(guidance="Ask about opening and closing shifts."))
    after = outputs(engine, "austin")
    (job_type,) = sandbox.job_types()
    assert plan.op_of("austin") == "update"
    assert after["interview_link"] == before["interview_link"]
    assert (
        job_type["ai_interviewer_guidance"] == "Ask about opening and closing shifts."
    )


def test_job_type_rename_updates_in_place(engine: Engine, sandbox: Sandbox) -> None:
    engine.up(program())
    plan = engine.up(program(job_type_name="Store Lead"))
    assert plan.op_of("store-manager") == "update"
    assert sandbox.job_types()[0]["name"] == "Store Lead"
    assert outputs(engine, "store-manager")["name"] == "Store Lead"


def test_pay_change_replaces_with_new_link(
    engine: Engine, sandbox: Sandbox, server: ProviderServer
) -> None:
    engine.up(program())
    old = outputs(engine, "denver")
    since = len(server.stderr_text)
    plan = engine.up(
        program(denver_pay="$20/h", denver_name="Store Manager - Denver 2")
    )
    new = outputs(engine, "denver")
    assert plan.op_of("denver") == "replace"
    assert new["interview_link"] != old["interview_link"]
    assert old["id"] in open_openings(sandbox)
    assert server.wait_for_text("still open in Alpharun")
    assert f"Alpharun id {old['id']}" in new_stderr(server, since)


def test_preview_warns_about_replacement(
    engine: Engine, server: ProviderServer
) -> None:
    engine.up(program())
    old = outputs(engine, "denver")
    since = len(server.stderr_text)
    plan = engine.preview(program(denver_pay="$20/h"))
    assert plan.op_of("denver") == "replace"
    assert server.wait_for_text("will be replaced because pay changed")
    warning = new_stderr(server, since)
    assert old["interview_link"] in warning
    assert "will reject the new opening (409)" in warning


def test_replacement_keeping_name_fails_with_409(engine: Engine) -> None:
    engine.up(program())
    with pytest.raises(ProviderError) as caught:
        engine.up(program(denver_pay="$20/h"))
    assert "HTTP 409" in caught.value.details
    assert "close the existing opening in the Alpharun dashboard" in (
        caught.value.details
    )


def test_refresh_keeps_state_without_requests(engine: Engine, sandbox: Sandbox) -> None:
    engine.up(program())
    before = {urn: record["outputs"] for urn, record in engine.state.items()}
    requests_after_up = sandbox.stats()["requests"]
    plan = engine.refresh()
    assert set(plan.ops.values()) == {"same"}
    assert {urn: r["outputs"] for urn, r in engine.state.items()} == before
    assert sandbox.stats()["requests"] == requests_after_up


def test_removed_opening_is_deleted_and_left_open(
    engine: Engine, sandbox: Sandbox, server: ProviderServer
) -> None:
    engine.up(program())
    miami = outputs(engine, "miami")
    plan = engine.up(program(cities=("denver", "boston")))
    assert plan.op_of("miami") == "delete"
    assert miami["id"] in open_openings(sandbox)
    assert server.wait_for_text(f"Alpharun id {miami['id']}) is no longer managed")


def test_destroy_leaves_alpharun_unchanged(
    engine: Engine, sandbox: Sandbox, server: ProviderServer
) -> None:
    engine.up(program())
    requests_after_up = sandbox.stats()["requests"]
    plan = engine.destroy()
    assert set(plan.ops.values()) == {"delete"}
    assert engine.state == {}
    assert len(open_openings(sandbox)) == 4
    assert sandbox.stats()["requests"] == requests_after_up
    assert server.wait_for_text("unchanged in Alpharun")


def test_check_failure_stops_preview(engine: Engine, sandbox: Sandbox) -> None:
    resources = program()
    resources[2] = with_inputs(resources[2], name="ab")
    with pytest.raises(CheckFailedError) as caught:
        engine.preview(resources)
    ((prop, reason),) = caught.value.failures
    assert prop == "name"
    assert "at least 3" in reason
    assert sandbox.stats()["requests"] == 0


def test_dashboard_job_type_lifecycle(
    engine: Engine, sandbox: Sandbox, server: ProviderServer
) -> None:
    existing = sandbox.create_job_type(name="Cashier", job_description=DESCRIPTION)
    job_type = declared(
        lambda: JobType(
            "cashier",
            job_type_id=existing["id"],
            ai_interviewer_guidance="Ask about cash handling.",
        )
    )
    assert engine.up([job_type]).op_of("cashier") == "create"
    cleared = with_inputs(job_type)
    del cleared.inputs["ai_interviewer_guidance"]  # type: ignore[attr-defined]
    assert engine.up([cleared]).op_of("cashier") == "update"
    assert sandbox.job_types()[0]["ai_interviewer_guidance"] is None
    assert engine.refresh().op_of("cashier") == "same"
    engine.destroy()
    assert sandbox.job_types()[0]["name"] == "Cashier"


def test_job_type_new_id_replaces(engine: Engine, sandbox: Sandbox) -> None:
    first = sandbox.create_job_type(name="Cashier", job_description=DESCRIPTION)
    second = sandbox.create_job_type(name="Clerk", job_description=DESCRIPTION)
    job_type = declared(lambda: JobType("counter", job_type_id=first["id"]))
    engine.up([job_type])
    plan = engine.up([with_inputs(job_type, job_type_id=second["id"])])
    assert plan.op_of("counter") == "replace"
    assert outputs(engine, "counter")["job_type_id"] == second["id"]


def test_key_absent_from_state_and_output(
    engine: Engine, server: ProviderServer
) -> None:
    engine.up(program())
    engine.up(program(denver_pay="$20/h", denver_name="Store Manager - Denver 2"))
    engine.refresh()
    state_text = json.dumps(engine.state)
    assert API_KEY not in state_text
    assert API_KEY not in server.stderr_text
    assert API_KEY not in server.stdout_text


def test_provider_value_is_small_and_keyless(engine: Engine) -> None:
    engine.up(program())
    for record in engine.state.values():
        value = record["outputs"][PROVIDER_KEY]
        assert len(value) <= 200
        assert API_KEY.encode() not in base64.b64decode(value)


def test_error_text_has_no_key(engine: Engine) -> None:
    engine.up(program())
    with pytest.raises(ProviderError) as caught:
        engine.up(program(denver_pay="$20/h"))
    assert API_KEY not in caught.value.details


def test_removed_job_type_is_left_as_is(
    engine: Engine, sandbox: Sandbox, server: ProviderServer
) -> None:
    engine.up(program())
    job_type_id = outputs(engine, "store-manager")["job_type_id"]
    requests_after_up = sandbox.stats()["requests"]
    resources = [r for r in program() if r.name != "store-manager"]
    plan = engine.up(resources)
    assert plan.op_of("store-manager") == "delete"
    assert sandbox.job_types()[0]["name"] == "Store Manager"
    assert sandbox.stats()["requests"] == requests_after_up
    assert server.wait_for_text(f"JobType 'Store Manager' (Alpharun id {job_type_id})")
