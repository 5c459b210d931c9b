"""Drive a Pulumi dynamic provider over gRPC in the order the Pulumi engine does.

- ``ProviderServer`` runs the SDK's own provider process (``python -u -m
  pulumi.dynamic``, the command the Pulumi CLI launches) and exposes one method per
  engine RPC, taking and returning plain Python values.
- ``Engine`` is a small in-memory engine over one ``ProviderServer``: it keeps
  resource state and replays ``pulumi preview``, ``up``, ``refresh`` and
  ``destroy`` as sequences of those RPCs.
- ``sdk_provider_value`` returns the ``__provider`` input that the SDK computes
  when a program constructs a dynamic resource, and ``sdk_declare`` returns all
  inputs of the resources a function constructs, ready for ``Engine``.
- ``run_under_mocks`` runs code under ``pulumi.runtime.set_mocks`` without leaking
  runtime settings, config or an event loop into the caller.

Values that are not known yet are written as ``UNKNOWN`` (``pulumi.output.UNKNOWN``).
They travel to the provider as the engine's unknown sentinel, and the SDK hands
them to ``check`` and ``diff`` as ``pulumi.output.Unknown`` instances.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import os
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import grpc
from google.protobuf import struct_pb2
from pulumi.output import UNKNOWN, Unknown
from pulumi.runtime import Mocks, rpc, set_all_config, set_mocks
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.stack import wait_for_rpcs

__all__ = [
    "PROVIDER_KEY",
    "UNKNOWN",
    "CheckFailedError",
    "Declared",
    "DiffOutcome",
    "Engine",
    "Plan",
    "ProviderError",
    "ProviderServer",
    "ReadOutcome",
    "Step",
    "contains_unknown",
    "make_urn",
    "output_of",
    "run_under_mocks",
    "sdk_declare",
    "sdk_provider_value",
    "unawaited_coroutine_warnings_ignored",
]

PROVIDER_KEY = "__provider"
"""Input that carries the pickled provider of a dynamic resource."""

_T = TypeVar("_T")


# ---------------------------------------------------------------------------
# Errors


class ProviderError(Exception):
    """A gRPC call to the provider failed.

    The SDK's provider server aborts a failed call with the formatted traceback as
    the status details, so ``details`` contains the whole traceback and ``message`` its
    last line (``ExceptionType: text``), which is what the user reads first.
    """

    def __init__(self, method: str, code: grpc.StatusCode, details: str) -> None:
        self.method = method
        self.code = code
        self.details = details
        self.message = _last_line(details)
        super().__init__(f"{method} failed with {code.name}: {details}")


class CheckFailedError(Exception):
    """``Check`` returned failures, so the deployment stops as the engine does."""

    def __init__(self, urn: str, failures: list[tuple[str, str]]) -> None:
        self.urn = urn
        self.failures = failures
        listed = "; ".join(f"{prop}: {reason}" for prop, reason in failures)
        super().__init__(f"check failed for {urn}: {listed}")


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


# ---------------------------------------------------------------------------
# Property serialization


def _run_coroutine(awaitable: Any) -> Any:
    """Run one coroutine on a private event loop, as the SDK's provider server does.

    A private loop leaves the caller's current event loop untouched.
    """
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(awaitable)
    finally:
        loop.close()


def to_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    """Serialize a property map as the SDK does. ``UNKNOWN`` becomes the sentinel."""
    return _run_coroutine(rpc.serialize_properties(dict(props), {}))


def from_struct(struct: struct_pb2.Struct, keep_unknowns: bool = False) -> Any:
    """Deserialize a property map. Null properties are dropped, as in the SDK."""
    return rpc.deserialize_properties(struct, keep_unknowns)


def contains_unknown(value: Any) -> bool:
    """Return whether ``value`` is, or contains at any depth, an unknown value."""
    if isinstance(value, Unknown):
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_unknown(item) for item in value)
    return False


def unwrap_secrets(value: Any) -> Any:
    """Return ``value`` with every RPC secret wrapper replaced by its plain value."""
    value = rpc.unwrap_rpc_secret(value)
    if isinstance(value, Mapping):
        return {key: unwrap_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(item) for item in value]
    return value


# ---------------------------------------------------------------------------
# Provider process


@dataclass(frozen=True)
class DiffOutcome:
    """Result of ``Diff`` as the engine reads it."""

    changes: Literal["none", "some", "unknown"]
    replaces: list[str] = field(default_factory=list)
    delete_before_replace: bool = False


@dataclass(frozen=True)
class ReadOutcome:
    """Result of ``Read``. An empty ``id`` means the resource no longer exists."""

    id: str
    outputs: dict[str, Any]
    inputs: dict[str, Any] | None


_DIFF_CHANGES: dict[int, Literal["none", "some", "unknown"]] = {
    provider_pb2.DiffResponse.DIFF_NONE: "none",
    provider_pb2.DiffResponse.DIFF_SOME: "some",
    provider_pb2.DiffResponse.DIFF_UNKNOWN: "unknown",
}


class _StreamCollector:
    """Collector of a binary stream's text, read on a daemon thread.

    With ``keep_first_line``, the first line goes to ``first_line`` instead of
    ``text``, and ``first_line_read`` is set once it has arrived.
    """

    def __init__(self, stream: Any, name: str, keep_first_line: bool) -> None:
        self._stream = stream
        self._keep_first_line = keep_first_line
        self._chunks: list[str] = []
        self._lock = threading.Lock()
        self.first_line: str | None = None
        self.first_line_read = threading.Event()
        self._thread = threading.Thread(target=self._pump, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _pump(self) -> None:
        if self._keep_first_line:
            self.first_line = self._stream.readline().decode("utf-8", "replace")
            self.first_line_read.set()
        for raw in iter(self._stream.readline, b""):
            with self._lock:
                self._chunks.append(raw.decode("utf-8", "replace"))
        self.first_line_read.set()

    @property
    def text(self) -> str:
        with self._lock:
            return "".join(self._chunks)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


class ProviderServer:
    """The SDK's dynamic provider server in a subprocess, called over gRPC.

    ``env`` is merged onto ``os.environ``. ``python_path`` entries are put in front
    of ``PYTHONPATH`` so the process can import the providers that ``__provider``
    values refer to. ``project`` sets ``PULUMI_PROJECT``, the namespace the SDK
    uses for config keys given without one in ``Config.get``. Without it, the SDK
    uses ``"project"``.

    Each RPC method mirrors one engine call and raises ``ProviderError`` when the
    provider fails. The SDK calls ``configure`` on a provider only when it first
    deserializes a given ``__provider`` value, so call ``configure`` before any
    other method: later config changes need a new process.
    """

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        *,
        python_path: Sequence[str | Path] = (),
        project: str | None = None,
        start_timeout: float = 30.0,
        call_timeout: float = 60.0,
    ) -> None:
        self._env = _child_env(env or {}, python_path, project)
        self._cwd = str(cwd) if cwd is not None else None
        self._start_timeout = start_timeout
        self._call_timeout = call_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: grpc.Channel | None = None
        self._stub: provider_pb2_grpc.ResourceProviderStub | None = None
        self._stdout: _StreamCollector | None = None
        self._stderr: _StreamCollector | None = None
        self.port: int | None = None

    # Lifecycle -------------------------------------------------------------

    def start(self) -> ProviderServer:
        """Start the process and connect to it. Raise RuntimeError if it fails."""
        self._process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self._env,
            cwd=self._cwd,
        )
        self._stdout = _StreamCollector(self._process.stdout, "provider-stdout", True)
        self._stderr = _StreamCollector(self._process.stderr, "provider-stderr", False)
        self._stderr.start()
        self._stdout.start()
        self.port = self._read_port()
        self._connect()
        return self

    def _read_port(self) -> int:
        assert self._stdout is not None
        self._stdout.first_line_read.wait(self._start_timeout)
        line = (self._stdout.first_line or "").strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError(
                "the provider process failed to start: its first stdout line was "
                f"{line!r}, not a port number. stderr:\n{self.stderr_text}"
            )
        return int(line)

    def _connect(self) -> None:
        self._channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        grpc.channel_ready_future(self._channel).result(timeout=self._start_timeout)
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)

    def stop(self, timeout: float = 5.0) -> None:
        """Close the channel and end the process. Safe to call more than once."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout)
        for collector in (self._stdout, self._stderr):
            if collector is not None:
                collector.join(timeout)
        if self._process is not None:
            for stream in (self._process.stdout, self._process.stderr):
                if stream is not None:
                    stream.close()

    def __enter__(self) -> ProviderServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # Output ----------------------------------------------------------------

    @property
    def stderr_text(self) -> str:
        """Everything the process has written to stderr so far."""
        return self._stderr.text if self._stderr is not None else ""

    @property
    def stdout_text(self) -> str:
        """Everything written to stdout after the port line so far."""
        return self._stdout.text if self._stdout is not None else ""

    def wait_for_text(self, fragment: str, timeout: float = 5.0) -> bool:
        """Wait for ``fragment`` on stdout or stderr and return whether it appeared.

        Output is read on background threads, so text printed during a call can
        arrive shortly after the call returns.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if fragment in self.stdout_text or fragment in self.stderr_text:
                return True
            time.sleep(0.02)
        return fragment in self.stdout_text or fragment in self.stderr_text

    # RPCs ------------------------------------------------------------------

    def _call(self, method: str, request: Any) -> Any:
        if self._stub is None:
            raise RuntimeError("the provider server is not running: call start() first")
        try:
            return getattr(self._stub, method)(request, timeout=self._call_timeout)
        except grpc.RpcError as error:
            raise ProviderError(method, error.code(), error.details() or "") from None

    def configure(
        self, config: Mapping[str, Any], secret_keys: Iterable[str] = ()
    ) -> None:
        """Send the stack config with namespaced keys (``"alpharun:apiKey"``).

        ``variables`` carries the values as strings and ``args`` as properties, with
        ``secret_keys`` wrapped as secrets. The SDK reads only ``args`` and unwraps
        secrets before it calls the provider's ``configure``.
        """
        secrets = set(secret_keys)
        args = {
            key: rpc.wrap_rpc_secret(value) if key in secrets else value
            for key, value in config.items()
        }
        request = provider_pb2.ConfigureRequest(
            variables={key: str(value) for key, value in config.items()},
            args=to_struct(args),
            acceptSecrets=True,
            acceptResources=True,
        )
        self._call("Configure", request)

    def check(
        self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Call ``Check`` and return the checked inputs and the failures.

        Each failure is a (property, reason) pair.
        """
        request = provider_pb2.CheckRequest(
            urn=urn, olds=to_struct(olds), news=to_struct(news), **_name_type(urn)
        )
        response = self._call("Check", request)
        failures = [(item.property, item.reason) for item in response.failures]
        return from_struct(response.inputs, keep_unknowns=True), failures

    def diff(
        self,
        urn: str,
        id: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        old_inputs: Mapping[str, Any] | None = None,
    ) -> DiffOutcome:
        """Call ``Diff`` with ``olds`` = old outputs and ``news`` = checked inputs."""
        request = provider_pb2.DiffRequest(
            id=id,
            urn=urn,
            olds=to_struct(olds),
            news=to_struct(news),
            old_inputs=to_struct(old_inputs or {}),
            **_name_type(urn),
        )
        response = self._call("Diff", request)
        return DiffOutcome(
            changes=_DIFF_CHANGES[response.changes],
            replaces=list(response.replaces),
            delete_before_replace=response.deleteBeforeReplace,
        )

    def create(
        self, urn: str, props: Mapping[str, Any], preview: bool = False
    ) -> tuple[str, dict[str, Any]]:
        """Call ``Create`` with checked inputs and return the new id and outputs."""
        request = provider_pb2.CreateRequest(
            urn=urn, properties=to_struct(props), preview=preview, **_name_type(urn)
        )
        response = self._call("Create", request)
        return response.id, from_struct(response.properties)

    def update(
        self,
        urn: str,
        id: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        old_inputs: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Call ``Update`` with ``olds`` = old outputs and return the new outputs."""
        request = provider_pb2.UpdateRequest(
            id=id,
            urn=urn,
            olds=to_struct(olds),
            news=to_struct(news),
            old_inputs=to_struct(old_inputs or {}),
            **_name_type(urn),
        )
        return from_struct(self._call("Update", request).properties)

    def read(
        self,
        urn: str,
        id: str,
        props: Mapping[str, Any],
        inputs: Mapping[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """Call ``Read`` with ``props`` = old outputs and return the id and outputs."""
        outcome = self.read_outcome(urn, id, props, inputs)
        return outcome.id, outcome.outputs

    def read_outcome(
        self,
        urn: str,
        id: str,
        props: Mapping[str, Any],
        inputs: Mapping[str, Any] | None = None,
    ) -> ReadOutcome:
        """Call ``Read`` and also return the inputs the provider sent back, if any."""
        request = provider_pb2.ReadRequest(
            id=id,
            urn=urn,
            properties=to_struct(props),
            inputs=to_struct(inputs or {}),
            **_name_type(urn),
        )
        response = self._call("Read", request)
        new_inputs = None
        if response.HasField("inputs"):
            new_inputs = from_struct(response.inputs)
        return ReadOutcome(response.id, from_struct(response.properties), new_inputs)

    def delete(
        self,
        urn: str,
        id: str,
        props: Mapping[str, Any],
        old_inputs: Mapping[str, Any] | None = None,
    ) -> None:
        """Call ``Delete`` with ``props`` = old outputs."""
        request = provider_pb2.DeleteRequest(
            id=id,
            urn=urn,
            properties=to_struct(props),
            old_inputs=to_struct(old_inputs or {}),
            **_name_type(urn),
        )
        self._call("Delete", request)


def _child_env(
    env: Mapping[str, str], python_path: Sequence[str | Path], project: str | None
) -> dict[str, str]:
    merged = {**os.environ, **env}
    entries = [str(Path(entry)) for entry in python_path]
    if merged.get("PYTHONPATH"):
        entries.append(merged["PYTHONPATH"])
    if entries:
        merged["PYTHONPATH"] = os.pathsep.join(entries)
    if project is not None:
        merged["PULUMI_PROJECT"] = project
    return merged


def _name_type(urn: str) -> dict[str, str]:
    """Return the ``name`` and ``type`` request fields that the engine fills in."""
    parts = urn.split("::")
    if len(parts) < 4:
        return {}
    return {"type": parts[2].split("$")[-1], "name": parts[3]}


# ---------------------------------------------------------------------------
# In-memory engine

STACK = "test"
PROJECT = "test"


def make_urn(type_token: str, name: str) -> str:
    """Return the URN of a top-level resource in stack ``test`` of project ``test``."""
    return f"urn:pulumi:{STACK}::{PROJECT}::{type_token}::{name}"


@dataclass(frozen=True)
class Declared:
    """A resource as a program declares it.

    ``inputs`` must contain ``__provider``. Any value may be a callable that takes
    the engine state ``{urn: {"type", "id", "inputs", "outputs"}}`` and returns the
    value, which is how one resource's output feeds another (see ``output_of``).
    """

    type: str
    name: str
    inputs: Mapping[str, Any]

    @property
    def urn(self) -> str:
        return make_urn(self.type, self.name)


@dataclass(frozen=True)
class Step:
    """What a deployment did, or a preview would do, to one resource."""

    op: Literal["create", "update", "replace", "same", "delete"]
    diff: DiffOutcome | None = None
    inputs: dict[str, Any] | None = None
    """The checked inputs, or None for a delete."""


@dataclass
class Plan:
    """Steps by URN, in the order the engine took them."""

    steps: dict[str, Step] = field(default_factory=dict)

    @property
    def ops(self) -> dict[str, str]:
        return {urn: step.op for urn, step in self.steps.items()}

    def op_of(self, name: str) -> str:
        """Return the step of the resource with this name or raise KeyError."""
        for urn, step in self.steps.items():
            if urn.rsplit("::", 1)[-1] == name:
                return step.op
        names = list(self.steps)
        raise KeyError(f"no step found for a resource named {name!r} in {names}")


class _PreviewOutputs(dict):  # type: ignore[type-arg]
    """Outputs during a preview: inputs are known, every other key is unknown.

    The engine gives a resource that it would create its inputs as outputs in a
    preview, because a dynamic provider does not implement preview.
    """

    def __missing__(self, key: str) -> Any:
        return UNKNOWN


@dataclass(frozen=True)
class _OutputRef:
    urn: str
    key: str

    def __call__(self, state: Mapping[str, Mapping[str, Any]]) -> Any:
        if self.urn not in state:
            raise LookupError(
                f"{self.urn} not found in the state: declare it before its consumers"
            )
        try:
            return state[self.urn]["outputs"][self.key]
        except KeyError:
            raise LookupError(f"{self.urn} has no output {self.key!r}") from None


def output_of(type_token: str, name: str, key: str) -> Callable[[Any], Any]:
    """Return an input value that resolves to output ``key`` of another resource.

    The producer must be declared earlier in the program. In a preview, an output
    that the producer's pending create, update or replace would set is unknown.
    """
    return _OutputRef(make_urn(type_token, name), key)


def _resolve(value: Any, state: Mapping[str, Any]) -> Any:
    if callable(value) and not isinstance(value, type):
        return value(state)
    if isinstance(value, Mapping):
        return {key: _resolve(item, state) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, state) for item in value]
    return value


@dataclass
class _Planned:
    decl: Declared
    inputs: dict[str, Any]
    old: dict[str, Any] | None
    step: Step

    @property
    def urn(self) -> str:
        return self.decl.urn


class Engine:
    """An in-memory Pulumi engine over one provider server.

    ``state`` maps each URN to ``{"type", "id", "inputs", "outputs"}``, with the
    checked inputs and the outputs that Create, Update or Read returned. ``calls``
    lists every RPC as ``(method, urn)`` in the order the engine made them.

    Per declared resource, in program order, the engine calls ``Check(olds=old
    inputs, news)``, then for an existing resource ``Diff(olds=old outputs,
    news=checked inputs)``. A replacement calls ``Check`` again with empty
    ``olds`` before its ``Create``. When ``Diff`` returns "unknown", the engine
    compares old and new inputs itself.
    """

    def __init__(self, server: ProviderServer) -> None:
        self.server = server
        self.state: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []

    # Public operations -----------------------------------------------------

    def preview(self, program: Sequence[Declared]) -> Plan:
        """Plan ``program`` with Check and Diff only, leaving the state unchanged."""
        _require_unique_urns(program)
        plan = Plan()
        view = dict(self.state)
        for decl in program:
            planned = self._plan(decl, view, preview=True)
            plan.steps[planned.urn] = planned.step
            view[planned.urn] = _preview_record(planned)
        for urn in self._removed(program):
            plan.steps[urn] = Step("delete")
        return plan

    def up(self, program: Sequence[Declared]) -> Plan:
        """Deploy ``program`` and return what was done.

        Deletes of replaced (create-before-delete) and removed resources run after
        every create and update, in reverse order of the old state, as in the
        engine. A Check failure raises ``CheckFailedError`` after the steps of the
        resources declared before it have run.
        """
        _require_unique_urns(program)
        plan = Plan()
        old_order = list(self.state)
        deletes: list[tuple[str, dict[str, Any], bool]] = []
        for decl in program:
            planned = self._plan(decl, self.state, preview=False)
            plan.steps[planned.urn] = planned.step
            self._apply(planned, deletes)
        for urn in self._removed(program):
            deletes.append((urn, self.state[urn], True))
            plan.steps[urn] = Step("delete")
        self._delete_in_reverse(deletes, old_order)
        self._reorder_state(program)
        return plan

    def refresh(self) -> Plan:
        """Read every resource with its old outputs and store what Read returns."""
        plan = Plan()
        for urn, record in list(self.state.items()):
            plan.steps[urn] = self._refresh_one(urn, record)
        return plan

    def destroy(self) -> Plan:
        """Delete every resource in reverse order and empty the state."""
        plan = Plan()
        for urn in reversed(list(self.state)):
            self._delete(urn, self.state.pop(urn))
            plan.steps[urn] = Step("delete")
        return plan

    # Planning --------------------------------------------------------------

    def _plan(self, decl: Declared, view: Mapping[str, Any], preview: bool) -> _Planned:
        news = _resolve(decl.inputs, view)
        if not preview and contains_unknown(news):
            raise ValueError(
                f"{decl.urn}: inputs contain unknown values, which only a preview "
                f"accepts: {news!r}"
            )
        old = self.state.get(decl.urn)
        inputs = self._check(decl.urn, old["inputs"] if old else {}, news)
        if old is None:
            return _Planned(decl, inputs, old, Step("create", None, inputs))
        diff = self.server.diff(
            decl.urn, old["id"], old["outputs"], inputs, old_inputs=old["inputs"]
        )
        self.calls.append(("Diff", decl.urn))
        op = _step_op(diff, old["inputs"], inputs)
        if op == "replace":
            inputs = self._check(decl.urn, {}, news)
        return _Planned(decl, inputs, old, Step(op, diff, inputs))

    def _check(
        self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> dict[str, Any]:
        inputs, failures = self.server.check(urn, olds, news)
        self.calls.append(("Check", urn))
        if failures:
            raise CheckFailedError(urn, failures)
        return inputs

    def _removed(self, program: Sequence[Declared]) -> list[str]:
        declared = {decl.urn for decl in program}
        return [urn for urn in self.state if urn not in declared]

    # Execution -------------------------------------------------------------

    def _apply(
        self, planned: _Planned, deletes: list[tuple[str, dict[str, Any], bool]]
    ) -> None:
        urn, old, op = planned.urn, planned.old, planned.step.op
        if op == "same":
            assert old is not None
            self.state[urn] = {**old, "inputs": planned.inputs}
        elif op == "update":
            assert old is not None
            self._update(planned, old)
        elif op == "replace":
            assert old is not None and planned.step.diff is not None
            if planned.step.diff.delete_before_replace:
                self._delete(urn, old)
            else:
                deletes.append((urn, old, False))
            self._create(planned)
        else:
            self._create(planned)

    def _create(self, planned: _Planned) -> None:
        id_, outputs = self.server.create(planned.urn, planned.inputs)
        self.calls.append(("Create", planned.urn))
        self.state[planned.urn] = _record(planned, id_, outputs)

    def _update(self, planned: _Planned, old: Mapping[str, Any]) -> None:
        outputs = self.server.update(
            planned.urn,
            old["id"],
            old["outputs"],
            planned.inputs,
            old_inputs=old["inputs"],
        )
        self.calls.append(("Update", planned.urn))
        self.state[planned.urn] = _record(planned, old["id"], outputs)

    def _delete(self, urn: str, record: Mapping[str, Any]) -> None:
        self.server.delete(
            urn, record["id"], record["outputs"], old_inputs=record["inputs"]
        )
        self.calls.append(("Delete", urn))

    def _delete_in_reverse(
        self, deletes: list[tuple[str, dict[str, Any], bool]], old_order: list[str]
    ) -> None:
        position = {urn: index for index, urn in enumerate(old_order)}
        for urn, record, removed in sorted(
            deletes, key=lambda item: position[item[0]], reverse=True
        ):
            self._delete(urn, record)
            if removed:
                del self.state[urn]

    def _reorder_state(self, program: Sequence[Declared]) -> None:
        self.state = {decl.urn: self.state[decl.urn] for decl in program}

    def _refresh_one(self, urn: str, record: dict[str, Any]) -> Step:
        outcome = self.server.read_outcome(
            urn, record["id"], record["outputs"], inputs=record["inputs"]
        )
        self.calls.append(("Read", urn))
        if not outcome.id:
            del self.state[urn]
            return Step("delete")
        inputs = outcome.inputs if outcome.inputs is not None else record["inputs"]
        self.state[urn] = {
            **record,
            "id": outcome.id,
            "inputs": inputs,
            "outputs": outcome.outputs,
        }
        op = "same" if outcome.outputs == record["outputs"] else "update"
        return Step(op, None, inputs)


def _require_unique_urns(program: Sequence[Declared]) -> None:
    urns = [decl.urn for decl in program]
    duplicates = sorted({urn for urn in urns if urns.count(urn) > 1})
    if duplicates:
        raise ValueError(f"the program declares these URNs twice or more: {duplicates}")


def _step_op(
    diff: DiffOutcome, old_inputs: Mapping[str, Any], inputs: Mapping[str, Any]
) -> Literal["update", "replace", "same"]:
    if diff.changes == "unknown":
        changed = dict(old_inputs) != dict(inputs)
    else:
        changed = diff.changes == "some"
    if not changed:
        return "same"
    return "replace" if diff.replaces else "update"


def _record(planned: _Planned, id_: str, outputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": planned.decl.type,
        "id": id_,
        "inputs": planned.inputs,
        "outputs": outputs,
    }


def _preview_record(planned: _Planned) -> dict[str, Any]:
    """Return the state a preview shows to resources declared after this one."""
    if planned.step.op == "same":
        assert planned.old is not None
        return {**planned.old, "inputs": planned.inputs}
    # NOTE: an update is previewed like a create (inputs known, the rest unknown).
    # The engine's exact preview outputs for an update were not checked.
    old_id = UNKNOWN
    if planned.old is not None and planned.step.op == "update":
        old_id = planned.old["id"]
    return {
        "type": planned.decl.type,
        "id": old_id,
        "inputs": planned.inputs,
        "outputs": _PreviewOutputs(planned.inputs),
    }


# ---------------------------------------------------------------------------
# Running code under the SDK's mocks


def run_under_mocks(
    mocks: Mocks,
    body: Callable[[asyncio.AbstractEventLoop], _T],
    *,
    project: str = PROJECT,
    stack: str = STACK,
    preview: bool = False,
    monitor: MockMonitor | None = None,
    config: Mapping[str, str] | None = None,
    secret_keys: Iterable[str] = (),
) -> _T:
    """Run ``body(loop)`` with the Pulumi runtime set up by ``set_mocks``.

    Settings, config and the root stack live in context variables, so the run uses
    a copy of the caller's context and leaves the caller's runtime as it was. The
    run gets its own event loop, which is closed afterwards.
    """

    def run() -> _T:
        set_all_config(dict(config or {}), list(secret_keys))
        with _private_event_loop() as loop:
            set_mocks(
                mocks,
                project=project,
                stack=stack,
                preview=preview,
                monitor=monitor,
            )
            # set_mocks keeps the pending-output set, which every context copied
            # from the import-time context shares. A failed run leaves tasks of its
            # closed loop there, so each run gets a set of its own.
            SETTINGS.outputs = set()
            return body(loop)

    return contextvars.copy_context().run(run)


@contextlib.contextmanager
def _private_event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """Install a new event loop as the thread's current loop, then restore the old."""
    previous = _current_event_loop()
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_ignore_unretrieved_exceptions)
    loop.set_default_executor(_LoopClosingExecutor(thread_name_prefix="pulumi-mocks"))
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        with unawaited_coroutine_warnings_ignored():
            try:
                _cancel_pending_tasks(loop)
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()
                asyncio.set_event_loop(previous)
                gc.collect()


class _LoopClosingExecutor(ThreadPoolExecutor):
    """A thread pool that closes the event loop a task left on its worker thread.

    The SDK's mock monitor creates an event loop on each executor thread and never
    closes it, so Python would warn about every such loop when it is freed.
    """

    def submit(  # type: ignore[override]
        self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any
    ) -> Future[_T]:
        return super().submit(_call_then_close_thread_loop, fn, *args, **kwargs)


def _call_then_close_thread_loop(
    fn: Callable[..., _T], *args: Any, **kwargs: Any
) -> _T:
    try:
        return fn(*args, **kwargs)
    finally:
        loop = _current_event_loop()
        if loop is not None and not loop.is_running():
            loop.close()
            asyncio.set_event_loop(None)


def _ignore_unretrieved_exceptions(
    loop: asyncio.AbstractEventLoop, context: dict[str, Any]
) -> None:
    """Drop asyncio's reports of unretrieved exceptions and pass on the rest.

    When a program fails, every output of the failed resource contains the same
    exception, which already reached the caller through the program's run.
    """
    if "never retrieved" in str(context.get("message", "")):
        return
    loop.default_exception_handler(context)


@contextlib.contextmanager
def unawaited_coroutine_warnings_ignored() -> Iterator[None]:
    """Silence Python's warning about coroutines freed without being awaited.

    When a program fails, the SDK leaves ``Output.future`` and ``Output.is_known``
    coroutines that will never run. Freeing them inside this block keeps the
    warning out of whichever later test would otherwise free them.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="coroutine .* was never awaited", category=RuntimeWarning
        )
        yield


def _cancel_pending_tasks(loop: asyncio.AbstractEventLoop) -> None:
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def _current_event_loop() -> asyncio.AbstractEventLoop | None:
    # NOTE: asyncio has no public way to read the current loop without creating
    # one, so this reads the default policy's thread-local slot (checked on CPython
    # 3.11).
    local = getattr(asyncio.get_event_loop_policy(), "_local", None)
    loop = getattr(local, "_loop", None)
    return loop if isinstance(loop, asyncio.AbstractEventLoop) else None


class _CaptureMocks(Mocks):
    """Mocks that record every custom resource with its inputs, secrets unwrapped."""

    def __init__(self) -> None:
        self.declared: list[Declared] = []

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.custom:
            inputs = unwrap_secrets(args.inputs)
            self.declared.append(Declared(args.typ, args.name, inputs))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], None]:
        raise NotImplementedError(f"no mock for function {args.token!r}")


def sdk_declare(resource_factory: Callable[[], object]) -> list[Declared]:
    """Return every custom resource that ``resource_factory`` constructs.

    Each ``Declared`` carries the inputs exactly as the SDK registers them: names
    as the engine receives them, ``None`` inputs dropped and ``__provider`` included.
    Secrets are unwrapped, which is what the engine sends to a provider that does
    not accept secrets. An output of one resource that feeds another resolves to
    the mock value (``"<name>-id"`` for ids, the inputs for other outputs).
    """
    mocks = _CaptureMocks()

    def construct(loop: asyncio.AbstractEventLoop) -> None:
        resource_factory()
        loop.run_until_complete(wait_for_rpcs())

    run_under_mocks(mocks, construct)
    return mocks.declared


def sdk_provider_value(resource_factory: Callable[[], object]) -> str:
    """Return the ``__provider`` string that the SDK stores for a dynamic resource.

    ``resource_factory`` constructs exactly one dynamic resource. The SDK marks the
    value secret, and this returns the plain string.
    """
    values = [
        decl.inputs[PROVIDER_KEY]
        for decl in sdk_declare(resource_factory)
        if PROVIDER_KEY in decl.inputs
    ]
    if len(values) != 1:
        raise ValueError(
            "resource_factory must construct exactly one dynamic resource, "
            f"but {len(values)} carried a __provider input"
        )
    return values[0]
