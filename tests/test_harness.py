"""Tests of the provider and program harnesses against a small file-backed provider."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness_fixture_provider import (
    FAILING_VALUE,
    REJECTED_VALUE,
    STORE_DIR_ENV,
    StoreItem,
    item_path,
)
from program_harness import ProgramResult, run_program, stack_reference
from provider_harness import (
    PROVIDER_KEY,
    UNKNOWN,
    CheckFailedError,
    Declared,
    Engine,
    ProviderError,
    ProviderServer,
    make_urn,
    output_of,
    sdk_declare,
    sdk_provider_value,
)
from pulumi.output import Unknown

TESTS_DIR = Path(__file__).resolve().parent
PROGRAM = TESTS_DIR / "harness_fixture_program" / "__main__.py"
ITEM_TYPE = "pulumi-python:dynamic/harness:StoreItem"
GREETING = "hello from config"
TOKEN = "token-from-secret-config"
OTHER_STACK = "org/other/prod"


# ---------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("store")


@pytest.fixture(autouse=True)
def store_env(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point in-process providers (run_program) at the module's store directory."""
    monkeypatch.setenv(STORE_DIR_ENV, str(store_dir))


@pytest.fixture(scope="module")
def server(store_dir: Path) -> Iterator[ProviderServer]:
    """One provider process per module, configured before its first resource."""
    with ProviderServer(
        env={STORE_DIR_ENV: str(store_dir)},
        python_path=[TESTS_DIR],
        project="test",
    ) as provider_server:
        provider_server.configure(
            {"harness:greeting": GREETING, "harness:token": TOKEN},
            secret_keys={"harness:token"},
        )
        yield provider_server


@pytest.fixture(scope="module")
def provider_value() -> str:
    return sdk_provider_value(lambda: StoreItem("probe", key="k", value="v"))


@pytest.fixture
def engine(server: ProviderServer) -> Engine:
    return Engine(server)


def item(
    provider_value: str, name: str, key: str, value: Any, dbr: bool = False
) -> Declared:
    """Declare a StoreItem with the inputs the SDK would register."""
    inputs = {
        "key": key,
        "value": value,
        "delete_before_replace": dbr,
        PROVIDER_KEY: provider_value,
    }
    return Declared(ITEM_TYPE, name, inputs)


def calls_for(engine: Engine, urn: str, since: int = 0) -> list[str]:
    return [method for method, call_urn in engine.calls[since:] if call_urn == urn]


def stored(id_: str) -> dict[str, Any]:
    return json.loads(item_path(id_).read_text())


# ---------------------------------------------------------------------------
# SDK values and single RPCs


def test_sdk_provider_value_repeatable(provider_value: str) -> None:
    again = sdk_provider_value(lambda: StoreItem("probe", key="k", value="v"))
    assert again == provider_value


def test_sdk_declare_matches_sdk_inputs(provider_value: str) -> None:
    declared = sdk_declare(lambda: StoreItem("probe", key="k", value="v"))
    assert len(declared) == 1
    assert declared[0].urn == make_urn(ITEM_TYPE, "probe")
    assert declared[0].inputs == item(provider_value, "probe", "k", "v").inputs


def test_sdk_provider_round_trips(server: ProviderServer, provider_value: str) -> None:
    urn = make_urn(ITEM_TYPE, "round-trip")
    inputs, failures = server.check(urn, {}, item(provider_value, "r", "k", "v").inputs)
    id_, outputs = server.create(urn, inputs)
    assert failures == []
    assert id_
    assert outputs[PROVIDER_KEY] == provider_value
    assert stored(id_)["value"] == "v"


def test_check_returns_failures(server: ProviderServer, provider_value: str) -> None:
    urn = make_urn(ITEM_TYPE, "rejected")
    news = item(provider_value, "rejected", "k", REJECTED_VALUE).inputs
    _, failures = server.check(urn, {}, news)
    assert failures == [("value", f"value {REJECTED_VALUE!r} is not allowed")]


def test_check_sees_unknown(server: ProviderServer, provider_value: str) -> None:
    urn = make_urn(ITEM_TYPE, "unknown")
    news = item(provider_value, "unknown", "k", UNKNOWN).inputs
    inputs, failures = server.check(urn, {}, news)
    assert failures == []
    assert inputs["value_state"] == "unknown"
    assert isinstance(inputs["value"], Unknown)


def test_configure_reaches_provider(
    server: ProviderServer, provider_value: str
) -> None:
    urn = make_urn(ITEM_TYPE, "configured")
    inputs, _ = server.check(urn, {}, item(provider_value, "c", "k", "v").inputs)
    _, outputs = server.create(urn, inputs)
    assert outputs["greeting"] == GREETING
    assert outputs["token"] == TOKEN


def test_provider_error_text(server: ProviderServer, provider_value: str) -> None:
    urn = make_urn(ITEM_TYPE, "exploding")
    news = item(provider_value, "exploding", "k", FAILING_VALUE).inputs
    with pytest.raises(ProviderError) as caught:
        server.create(urn, news)
    expected = f"RuntimeError: create failed: the value {FAILING_VALUE!r} explodes"
    assert caught.value.method == "Create"
    assert caught.value.message == expected
    assert "Traceback" in caught.value.details


# ---------------------------------------------------------------------------
# Engine


def test_preview_unknown_no_create(engine: Engine, provider_value: str) -> None:
    declared = item(provider_value, "pending", "k", UNKNOWN)
    plan = engine.preview([declared])
    step = plan.steps[declared.urn]
    assert step.op == "create"
    assert step.inputs is not None
    assert step.inputs["value_state"] == "unknown"
    assert calls_for(engine, declared.urn) == ["Check"]
    assert engine.state == {}


def test_up_creates(engine: Engine, provider_value: str) -> None:
    declared = item(provider_value, "created", "k", "v")
    plan = engine.up([declared])
    record = engine.state[declared.urn]
    assert plan.op_of("created") == "create"
    assert calls_for(engine, declared.urn) == ["Check", "Create"]
    assert stored(record["id"])["url"] == record["outputs"]["url"]


def test_second_up_same(engine: Engine, provider_value: str) -> None:
    program = [item(provider_value, "steady", "k", "v")]
    engine.up(program)
    mark = len(engine.calls)
    plan = engine.up(program)
    assert plan.op_of("steady") == "same"
    assert calls_for(engine, program[0].urn, mark) == ["Check", "Diff"]


def test_value_change_updates(engine: Engine, provider_value: str) -> None:
    engine.up([item(provider_value, "edited", "k", "v1")])
    old_id = engine.state[make_urn(ITEM_TYPE, "edited")]["id"]
    mark = len(engine.calls)
    declared = item(provider_value, "edited", "k", "v2")
    plan = engine.up([declared])
    record = engine.state[declared.urn]
    assert plan.op_of("edited") == "update"
    assert calls_for(engine, declared.urn, mark) == ["Check", "Diff", "Update"]
    assert record["id"] == old_id
    assert record["outputs"]["value"] == "v2"
    assert stored(old_id)["value"] == "v2"


def test_key_change_replaces(engine: Engine, provider_value: str) -> None:
    engine.up([item(provider_value, "moved", "k1", "v")])
    old_id = engine.state[make_urn(ITEM_TYPE, "moved")]["id"]
    mark = len(engine.calls)
    declared = item(provider_value, "moved", "k2", "v")
    plan = engine.up([declared])
    step = plan.steps[declared.urn]
    assert step.op == "replace"
    assert step.diff is not None
    assert step.diff.replaces == ["key"]
    expected = ["Check", "Diff", "Check", "Create", "Delete"]
    assert calls_for(engine, declared.urn, mark) == expected
    assert engine.state[declared.urn]["id"] != old_id
    assert not item_path(old_id).exists()


def test_delete_before_replace_order(engine: Engine, provider_value: str) -> None:
    engine.up([item(provider_value, "swapped", "k1", "v", dbr=True)])
    mark = len(engine.calls)
    declared = item(provider_value, "swapped", "k2", "v", dbr=True)
    plan = engine.up([declared])
    expected = ["Check", "Diff", "Check", "Delete", "Create"]
    assert plan.op_of("swapped") == "replace"
    assert calls_for(engine, declared.urn, mark) == expected


def test_removed_resource_deleted(engine: Engine, provider_value: str) -> None:
    remaining = item(provider_value, "remaining", "k", "v")
    dropped = item(provider_value, "dropped", "k", "v")
    engine.up([remaining, dropped])
    dropped_id = engine.state[dropped.urn]["id"]
    plan = engine.up([remaining])
    assert plan.op_of("dropped") == "delete"
    assert engine.calls[-1] == ("Delete", dropped.urn)
    assert list(engine.state) == [remaining.urn]
    assert not item_path(dropped_id).exists()


def test_preview_changes_nothing(engine: Engine, provider_value: str) -> None:
    engine.up([item(provider_value, "previewed", "k", "v1")])
    state_before = {urn: dict(record) for urn, record in engine.state.items()}
    mark = len(engine.calls)
    declared = item(provider_value, "previewed", "k", "v2")
    plan = engine.preview([declared])
    assert plan.op_of("previewed") == "update"
    assert calls_for(engine, declared.urn, mark) == ["Check", "Diff"]
    assert engine.state == state_before


def test_output_feeds_consumer(engine: Engine, provider_value: str) -> None:
    producer = item(provider_value, "producer", "k1", "v")
    url = output_of(ITEM_TYPE, "producer", "url")
    consumer = item(provider_value, "consumer", "k2", url)
    preview = engine.preview([producer, consumer])
    engine.up([producer, consumer])
    consumer_inputs = preview.steps[consumer.urn].inputs
    assert consumer_inputs is not None
    assert consumer_inputs["value_state"] == "unknown"
    producer_url = engine.state[producer.urn]["outputs"]["url"]
    assert engine.state[consumer.urn]["outputs"]["value"] == producer_url


def test_check_failure_aborts_up(engine: Engine, provider_value: str) -> None:
    declared = item(provider_value, "invalid", "k", REJECTED_VALUE)
    with pytest.raises(CheckFailedError) as caught:
        engine.up([declared])
    reason = f"value {REJECTED_VALUE!r} is not allowed"
    assert caught.value.failures == [("value", reason)]
    assert calls_for(engine, declared.urn) == ["Check"]
    assert engine.state == {}


def test_unknown_rejected_in_up(engine: Engine, provider_value: str) -> None:
    with pytest.raises(ValueError, match="only a preview"):
        engine.up([item(provider_value, "unresolved", "k", UNKNOWN)])


def test_refresh_reads_changes(engine: Engine, provider_value: str) -> None:
    declared = item(provider_value, "drifted", "k", "v")
    engine.up([declared])
    id_ = engine.state[declared.urn]["id"]
    item_path(id_).write_text(json.dumps({**stored(id_), "value": "changed"}))
    plan = engine.refresh()
    assert plan.op_of("drifted") == "update"
    assert engine.calls[-1] == ("Read", declared.urn)
    assert engine.state[declared.urn]["outputs"]["value"] == "changed"


def test_refresh_drops_missing(engine: Engine, provider_value: str) -> None:
    declared = item(provider_value, "vanished", "k", "v")
    engine.up([declared])
    item_path(engine.state[declared.urn]["id"]).unlink()
    plan = engine.refresh()
    assert plan.op_of("vanished") == "delete"
    assert engine.state == {}


def test_destroy_in_reverse(
    engine: Engine, server: ProviderServer, provider_value: str
) -> None:
    program = [item(provider_value, name, "k", "v") for name in ("one", "two")]
    engine.up(program)
    ids = [engine.state[declared.urn]["id"] for declared in program]
    mark = len(engine.calls)
    plan = engine.destroy()
    expected = [("Delete", program[1].urn), ("Delete", program[0].urn)]
    assert engine.calls[mark:] == expected
    assert set(plan.ops.values()) == {"delete"}
    assert engine.state == {}
    assert not any(item_path(id_).exists() for id_ in ids)
    assert server.wait_for_text(f"deleted StoreItem {ids[0]}")


# ---------------------------------------------------------------------------
# Programs

PROGRAM_CONFIG = {"harness_program:prefix": "px", "harness:greeting": GREETING}
OTHER_OUTPUTS = {OTHER_STACK: {"region": "eu-west-1"}}


def run_fixture_program(config: dict[str, str] = PROGRAM_CONFIG) -> ProgramResult:
    fallback = {"pulumi:pulumi:StackReference": stack_reference(OTHER_OUTPUTS)}
    return run_program(PROGRAM, config, project="harness_program", fallback=fallback)


def test_program_exports_resolved() -> None:
    result = run_fixture_program()
    first_url = result.resource("first").outputs["url"]
    second_url = result.resource("second").outputs["url"]
    assert result.exports["second_value"] == first_url
    assert result.exports["nested"] == {"urls": [first_url, second_url]}
    assert result.exports["other_region"] == "eu-west-1"


def test_program_reads_config() -> None:
    result = run_fixture_program()
    assert result.exports["first_key"] == "px-a"
    assert result.exports["greeting"] == GREETING


def test_program_secret_export() -> None:
    result = run_fixture_program()
    assert result.exports["secret_note"] == "px-secret"
    assert result.secret_exports == {"secret_note"}


def test_program_creates_through_provider() -> None:
    result = run_fixture_program()
    first = result.resource("first")
    assert first.type == ITEM_TYPE
    assert stored(first.id)["key"] == "px-a"
    assert result.resource("second").inputs["value"] == first.outputs["url"]


def test_program_restores_interpreter() -> None:
    path_before = list(sys.path)
    cwd_before = os.getcwd()
    run_fixture_program()
    assert "naming" not in sys.modules
    assert sys.path == path_before
    assert os.getcwd() == cwd_before


def test_program_check_failure() -> None:
    config = {**PROGRAM_CONFIG, "harness_program:firstValue": REJECTED_VALUE}
    with pytest.raises(CheckFailedError, match="is not allowed"):
        run_fixture_program(config)


def test_program_missing_handler() -> None:
    with pytest.raises(LookupError, match="pulumi:pulumi:StackReference"):
        run_program(PROGRAM, PROGRAM_CONFIG, project="harness_program")
