"""Run a Pulumi Python program in-process with its dynamic resources really created.

``run_program`` runs a program file under ``pulumi.runtime.set_mocks``, the way the
Python language host runs ``__main__.py``: inside a root stack, with the stack
config set, and waiting for every output before it returns. The mocks hand each new
dynamic resource to its own provider the way ``python -m pulumi.dynamic`` does:
they unpickle ``__provider``, call ``configure`` once per distinct provider value,
then ``check`` with no old inputs and ``create``. Inputs and outputs pass through
the SDK's property serialization on the way, as they do between processes.

Other resource types go to a ``fallback`` handler, for example
``stack_reference`` for ``pulumi.StackReference``.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import os
import runpy
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple, Union

import dill
from google.protobuf import empty_pb2, struct_pb2
from provider_harness import (
    PROVIDER_KEY,
    CheckFailedError,
    from_struct,
    run_under_mocks,
    to_struct,
    unawaited_coroutine_warnings_ignored,
    unwrap_secrets,
)
from pulumi.dynamic import Config, ConfigureRequest, ResourceProvider
from pulumi.runtime import Mocks, rpc
from pulumi.runtime._serialization import _deserialize
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs
from pulumi.runtime.settings import set_root_resource
from pulumi.runtime.stack import run_in_stack, wait_for_rpcs

__all__ = [
    "CallHandler",
    "ProgramResource",
    "ProgramResult",
    "ResourceHandler",
    "run_program",
    "stack_reference",
]

ResourceHandler = Callable[[MockResourceArgs], tuple[str, dict[str, Any]]]
"""Returns (id, outputs) for a resource that no dynamic provider manages."""

CallHandler = Callable[[MockCallArgs], tuple[dict[str, Any], Any]]
"""Returns (result, failures) for a provider function call, as ``Mocks.call``."""

Fallback = Union[Mapping[str, ResourceHandler], ResourceHandler, None]

_STACK_TYPE = "pulumi:pulumi:Stack"


class ProgramResource(NamedTuple):
    """One custom resource the program registered, with secrets unwrapped."""

    type: str
    name: str
    inputs: dict[str, Any]
    id: str
    outputs: dict[str, Any]


@dataclass
class ProgramResult:
    """What a program run exported and registered.

    ``exports`` contains the stack outputs as plain values, secrets unwrapped, and
    ``secret_exports`` names the outputs that were secret.
    """

    exports: dict[str, Any]
    secret_exports: set[str]
    resources: list[ProgramResource] = field(default_factory=list)

    def resource(self, name: str) -> ProgramResource:
        """Return the resource with this name or raise KeyError."""
        for resource in self.resources:
            if resource.name == name:
                return resource
        names = [resource.name for resource in self.resources]
        raise KeyError(f"resource {name!r} not found: the program registered {names}")


def stack_reference(
    outputs_by_stack: Mapping[str, Mapping[str, Any]],
) -> ResourceHandler:
    """Return a handler for ``pulumi:pulumi:StackReference`` resources.

    ``outputs_by_stack`` maps a stack name (``"org/project/stack"``) to its outputs.
    """

    def handle(args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        stack_name = args.inputs.get("name") or args.resource_id or args.name
        if stack_name not in outputs_by_stack:
            raise LookupError(
                f"no outputs found for referenced stack {stack_name!r}. "
                f"Stacks with outputs: {sorted(outputs_by_stack)}"
            )
        outputs = dict(outputs_by_stack[stack_name])
        state = {"name": stack_name, "outputs": outputs, "secretOutputNames": []}
        return stack_name, state

    return handle


def run_program(
    path: str | Path,
    config: Mapping[str, str],
    *,
    project: str = "test",
    stack: str = "test",
    fallback: Fallback = None,
    call: CallHandler | None = None,
    secret_keys: set[str] | frozenset[str] = frozenset(),
) -> ProgramResult:
    """Run the program file at ``path`` and return its exports and resources.

    ``config`` is the stack config with namespaced keys (``"quickstart:city"``). The
    program's ``pulumi.Config()`` reads it, and every dynamic provider's
    ``configure`` receives all of it. The program's folder is the working
    directory and the first ``sys.path`` entry while it runs. Afterwards
    ``sys.path``, the working directory and the modules loaded from that folder
    are restored.

    An exception raised by the program or a provider propagates, with the local
    variables of its traceback frames cleared. A Check failure raises
    ``CheckFailedError``, and a resource type without a handler ``LookupError``.
    """
    program = Path(path).resolve()
    mocks = _ForwardingMocks(config, project, fallback, call)
    monitor = _ExportCapturingMonitor(mocks)

    def body(loop: asyncio.AbstractEventLoop) -> None:
        # set_mocks registers a root stack of its own. Flush it, then run the
        # program in a fresh root stack as the language host does.
        loop.run_until_complete(wait_for_rpcs())
        monitor.stack_outputs = None
        set_root_resource(None)  # type: ignore[arg-type]

        def run() -> None:
            runpy.run_path(str(program), run_name="__main__")

        loop.run_until_complete(run_in_stack(run))

    with _program_folder(program.parent):
        try:
            run_under_mocks(
                mocks,
                body,
                project=project,
                stack=stack,
                monitor=monitor,
                config=config,
                secret_keys=secret_keys,
            )
        except BaseException as error:
            _release_failed_run(error)
            raise
    exports, secret_exports = _plain_exports(monitor.stack_outputs)
    return ProgramResult(exports, secret_exports, list(mocks.resources))


# ---------------------------------------------------------------------------
# Mocks


class _ForwardingMocks(Mocks):
    """Mocks that create dynamic resources with their real providers."""

    def __init__(
        self,
        config: Mapping[str, str],
        project: str,
        fallback: Fallback,
        call: CallHandler | None,
    ) -> None:
        self._config = dict(config)
        self._project = project
        self._fallback = fallback
        self._call = call
        self._providers: dict[str, ResourceProvider] = {}
        self._lock = threading.Lock()
        self.resources: list[ProgramResource] = []

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.custom is False:
            return "", {}
        if _is_dynamic(args):
            id_, outputs = self._create_dynamic(args)
        else:
            id_, outputs = self._handle_other(args)
        self._record(args, id_, outputs)
        return id_, outputs

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], Any]:
        if self._call is None:
            raise NotImplementedError(
                f"no handler for function {args.token!r}: pass call= to run_program"
            )
        return self._call(args)

    def _create_dynamic(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = unwrap_secrets(args.inputs)
        provider_value = inputs[PROVIDER_KEY]
        provider = self._provider_for(provider_value)
        urn = f"{args.typ}::{args.name}"

        result = provider.check({}, inputs)
        if result.failures:
            failures = [(item.property, item.reason) for item in result.failures]
            raise CheckFailedError(urn, failures)
        checked = _over_the_wire({**result.inputs, PROVIDER_KEY: provider_value})

        created = provider.create(checked)
        outputs = _over_the_wire(dict(created.outs or {}))
        outputs[PROVIDER_KEY] = args.inputs[PROVIDER_KEY]
        return created.id, outputs

    def _provider_for(self, provider_value: str) -> ResourceProvider:
        with self._lock:
            provider = self._providers.get(provider_value)
            if provider is None:
                provider = _unpickle_provider(provider_value)
                config = Config(dict(self._config), self._project)
                provider.configure(ConfigureRequest(config))
                self._providers[provider_value] = provider
            return provider

    def _handle_other(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        handler = self._fallback
        if isinstance(handler, Mapping):
            handler = handler.get(args.typ)
        if handler is None:
            raise LookupError(
                f"no handler for resource {args.name!r} of type {args.typ!r}: "
                f"pass fallback={{{args.typ!r}: handler}} to run_program"
            )
        return handler(args)

    def _record(
        self, args: MockResourceArgs, id_: str, outputs: dict[str, Any]
    ) -> None:
        inputs = unwrap_secrets(args.inputs)
        resource = ProgramResource(
            args.typ, args.name, inputs, id_, unwrap_secrets(outputs)
        )
        with self._lock:
            self.resources.append(resource)


def _is_dynamic(args: MockResourceArgs) -> bool:
    return args.typ.startswith("pulumi-python:dynamic") and PROVIDER_KEY in args.inputs


def _unpickle_provider(provider_value: str) -> ResourceProvider:
    """Unpickle a ``__provider`` value the way ``python -m pulumi.dynamic`` does."""
    return _deserialize(lambda: dill.loads(base64.b64decode(provider_value)))


def _over_the_wire(props: dict[str, Any]) -> dict[str, Any]:
    """Return ``props`` after protobuf serialization, as the other process gets it.

    Numbers come back as floats, tuples as lists, and null properties are dropped.
    """
    return from_struct(to_struct(props))


class _ExportCapturingMonitor(MockMonitor):
    """A mock monitor that keeps the outputs registered for the root stack."""

    stack_outputs: struct_pb2.Struct | None = None

    def RegisterResourceOutputs(self, request: Any) -> empty_pb2.Empty:
        if f"::{_STACK_TYPE}::" in request.urn:
            self.stack_outputs = request.outputs
        return super().RegisterResourceOutputs(request)


def _plain_exports(
    outputs: struct_pb2.Struct | None,
) -> tuple[dict[str, Any], set[str]]:
    if outputs is None:
        raise RuntimeError("the program finished without registering stack outputs")
    exports = from_struct(outputs, keep_unknowns=True)
    secret_names = {name for name, value in exports.items() if rpc.is_rpc_secret(value)}
    return unwrap_secrets(exports), secret_names


def _release_failed_run(error: BaseException) -> None:
    """Free the outputs of a failed run while the SDK's warning about them is off.

    Frames in the traceback refer to the program's outputs, and some of those own SDK
    coroutines that will never run, so Python would warn about them whenever the
    exception is freed, in whichever test that happens. Clearing the frames' local
    variables frees them now, and the traceback still shows every file and line.
    """
    with unawaited_coroutine_warnings_ignored():
        traceback.clear_frames(error.__traceback__)
        gc.collect()


# ---------------------------------------------------------------------------
# Program folder


@contextmanager
def _program_folder(folder: Path) -> Iterator[None]:
    """Make ``folder`` the working directory and importable, then undo both.

    Modules loaded from the folder are removed from ``sys.modules`` afterwards, and
    entries the program replaced are put back.
    """
    saved_path = list(sys.path)
    saved_modules = dict(sys.modules)
    saved_cwd = os.getcwd()
    sys.path.insert(0, str(folder))
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        _restore_modules(saved_modules, folder)


def _restore_modules(saved: dict[str, ModuleType], folder: Path) -> None:
    for name, module in list(sys.modules.items()):
        if name in saved:
            if saved[name] is not module:
                sys.modules[name] = saved[name]
        elif _loaded_from(module, folder):
            del sys.modules[name]


def _loaded_from(module: ModuleType, folder: Path) -> bool:
    locations = [getattr(module, "__file__", None)]
    locations += list(getattr(module, "__path__", []) or [])
    return any(
        location is not None and Path(location).resolve().is_relative_to(folder)
        for location in locations
    )
