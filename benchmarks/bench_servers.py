"""The processes a benchmark runs: the sandbox API server and the provider server.

``SandboxProcess`` runs ``python -m alpharun_provider.sandbox`` and controls it
through its ``/_sandbox`` endpoints, with the same methods as the in-process
``alpharun_provider.sandbox.Sandbox``. ``ProviderProcess`` runs the SDK's
dynamic provider server (``python -m pulumi.dynamic``, the command the Pulumi
engine starts) and sends it engine RPCs over gRPC.

Every server listens on 127.0.0.1, and every request goes there.
"""

from __future__ import annotations

import asyncio
import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, Protocol

import grpc
import psutil
import requests
from google.protobuf import struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

if TYPE_CHECKING:
    from typing_extensions import Self

START_TIMEOUT = 30.0  # seconds for a process to print its address
CONTROL_TIMEOUT = 10.0  # seconds for a /_sandbox control request
LOOPBACK_HOSTS = "127.0.0.1,localhost"


class SandboxControl(Protocol):
    """Sandbox controls the benchmarks use, in process or not."""

    @property
    def base_url(self) -> str: ...

    def stats(self) -> dict[str, Any]: ...

    def reset(self) -> None: ...

    def set_faults(
        self, rate_limit: float | None = None, burst: int | None = None
    ) -> None: ...

    def create_job_type(self, name: str, job_description: str) -> dict[str, Any]: ...


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return this process's environment for a child, without HTTP proxies.

    ``ALPHARUN_*`` variables are dropped too, so a child reads its settings
    only from the stack config the benchmark sends.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.lower().endswith("_proxy") and not name.startswith("ALPHARUN_")
    }
    env["NO_PROXY"] = env["no_proxy"] = LOOPBACK_HOSTS
    env.update(extra or {})
    return env


def _first_line(stream: IO[bytes], timeout: float) -> str:
    """Read one line of a child's stdout, then discard the rest on a thread."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        lines.put(stream.readline().decode("utf-8", "replace").strip())
        for _ in iter(stream.readline, b""):
            pass

    threading.Thread(target=pump, daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return ""


class _ChildProcess:
    """A child process whose first stdout line is its address.

    stderr goes to a temporary file, so a failure can show what it printed.
    """

    def __init__(self, command: list[str], env: Mapping[str, str]) -> None:
        # Closed in stop(), because the file outlives this method.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=dict(env),
        )
        assert self._process.stdout is not None
        self.address = _first_line(self._process.stdout, START_TIMEOUT)
        if not self.address:
            self.stop()
            raise RuntimeError(
                f"{' '.join(command)} printed no address within {START_TIMEOUT:g} s; "
                f"stderr:\n{self.stderr_text()}"
            )

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self._process.pid

    def stderr_text(self) -> str:
        """Return what the child has written to stderr so far."""
        # pread leaves the file offset alone, which the child shares for writing.
        fd = self._stderr.fileno()
        data = os.pread(fd, os.fstat(fd).st_size, 0)
        return data.decode("utf-8", "replace")

    def stop(self) -> None:
        """Terminate the child and wait for it; kill it after 5 s."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        self._stderr.close()


class SandboxProcess:
    """``alpharun-sandbox`` in a child process, so it has its own GIL."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        command = [
            sys.executable,
            "-m",
            "alpharun_provider.sandbox",
            "--port",
            "0",
            "--api-key",
            api_key,
            "--log-level",
            "WARNING",
        ]
        self._child = _ChildProcess(command, child_env())
        self.base_url = self._child.address
        self._root_url = self.base_url.rsplit("/api/", 1)[0]
        self._session = requests.Session()
        self._session.trust_env = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the server process."""
        self._session.close()
        self._child.stop()

    def stats(self) -> dict[str, Any]:
        """Return the request counters of ``GET /_sandbox/stats``."""
        return dict(self._control("GET", "/stats"))

    def reset(self) -> None:
        """Delete every job type and opening; clear faults and counters."""
        self._control("POST", "/reset")

    def set_faults(
        self, rate_limit: float | None = None, burst: int | None = None
    ) -> None:
        """Replace the faults with a rate limit, or with none for None."""
        limit = None if rate_limit is None else {"rps": rate_limit, "burst": burst or 1}
        self._control("PUT", "/faults", {"latency_ms": 0, "rate_limit": limit})

    def create_job_type(self, name: str, job_description: str) -> dict[str, Any]:
        """Create a job type as the dashboard would and return it."""
        body = {"name": name, "job_description": job_description}
        return dict(self._control("POST", "/job-types", body)["job_type"])

    def _control(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> Any:
        url = f"{self._root_url}/_sandbox{path}"
        response = self._session.request(
            method, url, json=body, timeout=CONTROL_TIMEOUT
        )
        if response.status_code != 200:
            raise RuntimeError(
                f"{method} {url} failed with HTTP {response.status_code}: "
                f"{response.text[:300]}"
            )
        return response.json()


def to_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    """Serialize a property map as the SDK does, on a private event loop."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(dict(props), {}))
    finally:
        loop.close()


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    """Deserialize a property map as the SDK does."""
    return dict(rpc.deserialize_properties(struct))


class ProviderError(RuntimeError):
    """A gRPC call to the provider server failed; the text is its traceback."""


class ProviderProcess:
    """The SDK's dynamic provider server in a child process, called over gRPC.

    ``python_path`` lists directories the child must import providers from.
    """

    def __init__(self, python_path: Sequence[str] = (), call_timeout: float = 60.0):
        path = os.pathsep.join([*python_path, os.environ.get("PYTHONPATH", "")])
        env = child_env({"PYTHONPATH": path.rstrip(os.pathsep)})
        command = [sys.executable, "-u", "-m", "pulumi.dynamic"]
        self._child = _ChildProcess(command, env)
        if not self._child.address.isdigit():
            self._child.stop()
            raise RuntimeError(
                f"the provider server printed {self._child.address!r} instead of "
                "its port"
            )
        self._channel = grpc.insecure_channel(f"127.0.0.1:{self._child.address}")
        grpc.channel_ready_future(self._channel).result(timeout=START_TIMEOUT)
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)
        self._call_timeout = call_timeout
        self._process = psutil.Process(self._child.pid)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Close the channel and stop the process."""
        self._channel.close()
        self._child.stop()

    def rss(self) -> int:
        """Return the resident set size of the provider process in bytes."""
        return int(self._process.memory_info().rss)

    def cpu_seconds(self) -> float:
        """Return the user and system CPU seconds the provider process used."""
        times = self._process.cpu_times()
        return float(times.user + times.system)

    def stderr_text(self) -> str:
        """Return what the provider process has written to stderr."""
        return self._child.stderr_text()

    def configure(self, config: Mapping[str, str], secret_keys: Sequence[str]) -> None:
        """Send the stack config as the engine does, secrets marked."""
        args = {
            key: rpc.wrap_rpc_secret(value) if key in secret_keys else value
            for key, value in config.items()
        }
        request = provider_pb2.ConfigureRequest(
            variables=dict(config),
            args=to_struct(args),
            acceptSecrets=True,
            acceptResources=True,
        )
        self.call("Configure", request)

    def call(self, method: str, request: Any) -> Any:
        """Send one RPC; raise ProviderError with the provider's traceback."""
        try:
            return getattr(self._stub, method)(request, timeout=self._call_timeout)
        except grpc.RpcError as error:
            message = f"{method} failed with {error.code().name}: {error.details()}"
            if error.code() == grpc.StatusCode.UNAVAILABLE:
                message += f"\nprovider stderr:\n{self.stderr_text()[-3000:]}"
            raise ProviderError(message) from None
