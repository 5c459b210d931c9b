"""Run the quickstart example against a local Alpharun sandbox.

The script starts ``alpharun-sandbox`` on a free loopback port with a generated
API key and copies ``examples/quickstart`` into a temporary folder. There it
creates a Pulumi stack in a local backend (``PULUMI_BACKEND_URL=file://...``,
with a generated passphrase), sets ``alpharun:apiUrl`` and the secret
``alpharun:apiKey``, runs ``pulumi up --yes`` and prints the interview links.
At the end it stops the sandbox and deletes the folder, so nothing is written
to the working tree or to a Pulumi Cloud account.

Usage: ``python scripts/quickstart.py [--keep]``. With ``--keep``, the
sandbox and the stack stay up until Ctrl-C, for trying more ``pulumi``
commands. The script needs the ``pulumi`` CLI on PATH and this package
installed in the Python that runs it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import queue
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

REPOSITORY = Path(__file__).resolve().parent.parent
EXAMPLE = REPOSITORY / "examples" / "quickstart"
STACK = "sandbox"
SANDBOX_START_TIMEOUT = 30.0  # seconds to wait for the sandbox's first lines
SANDBOX_STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL
LOG_TAIL_LINES = 20

INSTALL_PULUMI = """\
The Pulumi CLI (`pulumi`) is not on PATH, and this script needs it.
Install it, open a new shell so that PATH includes it, and run this again:

    curl -fsSL https://get.pulumi.com | sh

Homebrew, Windows and other installers are listed at
https://www.pulumi.com/docs/iac/download-install/
"""


class QuickstartError(Exception):
    """Raised when a step fails, with a message naming the step and the fix."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Sandbox:
    """The alpharun-sandbox process: its URL, API key and log file."""

    def __init__(self, process: subprocess.Popen[str], log_path: Path) -> None:
        self.process = process
        self.log_path = log_path
        self.base_url = ""
        self.api_key = ""

    def log_tail(self) -> str:
        """Return the last lines the sandbox logged."""
        if not self.log_path.exists():
            return ""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-LOG_TAIL_LINES:])


def main(argv: list[str] | None = None) -> int:
    """Run the quickstart and return the exit status."""
    args = parse_args(argv)
    # SIGTERM raises SystemExit, so the sandbox is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    try:
        check_prerequisites()
        with tempfile.TemporaryDirectory(prefix="alpharun-quickstart-") as folder:
            run_quickstart(Path(folder), keep=args.keep)
    except QuickstartError as error:
        print(f"\nquickstart: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("\nquickstart: interrupted, and the sandbox is stopped.", file=sys.stderr)
        return 130
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line options."""
    parser = argparse.ArgumentParser(
        prog="python scripts/quickstart.py",
        description="Run examples/quickstart with pulumi against a local sandbox.",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the sandbox and the stack until Ctrl-C, and print how to use them",
    )
    return parser.parse_args(argv)


def check_prerequisites() -> None:
    """Raise QuickstartError unless pulumi and alpharun_provider are available."""
    if shutil.which("pulumi") is None:
        raise QuickstartError(INSTALL_PULUMI)
    if importlib.util.find_spec("alpharun_provider") is None:
        raise QuickstartError(
            f"alpharun_provider is not installed in {sys.executable}. From the "
            "repository root, run: python -m pip install -e '.[dev]'"
        )


def run_quickstart(folder: Path, *, keep: bool) -> None:
    """Start the sandbox, deploy the quickstart stack and print its links."""
    print("Starting the local Alpharun sandbox...")
    with running_sandbox(folder / "sandbox.log") as sandbox:
        print(f"Sandbox API: {sandbox.base_url}")
        project = folder / "project"
        shutil.copytree(
            EXAMPLE,
            project,
            ignore=shutil.ignore_patterns("__pycache__", "Pulumi.*.yaml"),
        )
        env = pulumi_environment(folder)
        try:
            deploy(project, env, sandbox)
            print_links(stack_outputs(project, env))
        except QuickstartError:
            tail = sandbox.log_tail()
            if tail:
                print(f"Last lines of the sandbox log:\n{tail}", file=sys.stderr)
            raise
        if keep:
            wait_for_interrupt(project, env, sandbox)


@contextmanager
def running_sandbox(log_path: Path) -> Iterator[Sandbox]:
    """Run alpharun-sandbox on a free port with a generated key, then stop it."""
    command = [sys.executable, "-m", "alpharun_provider.sandbox"]
    command += ["--host", "127.0.0.1", "--port", "0"]
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, text=True
        )
        sandbox = Sandbox(process, log_path)
        try:
            read_sandbox_banner(sandbox)
            yield sandbox
        finally:
            stop(process)


def read_sandbox_banner(sandbox: Sandbox) -> None:
    """Read the base URL and the generated API key from the sandbox's stdout."""
    assert sandbox.process.stdout is not None
    lines = _lines_of(sandbox.process.stdout)
    try:
        sandbox.base_url = lines.get(timeout=SANDBOX_START_TIMEOUT).strip()
        key_line = lines.get(timeout=SANDBOX_START_TIMEOUT).strip()
    except queue.Empty:
        raise QuickstartError(
            f"alpharun-sandbox printed no URL and key within "
            f"{SANDBOX_START_TIMEOUT:g} s.\n{sandbox.log_tail()}"
        ) from None
    prefix = "API key: "
    if not sandbox.base_url.startswith("http://") or not key_line.startswith(prefix):
        raise QuickstartError(
            "alpharun-sandbox did not start: it printed no base URL and API key."
            f"\n{sandbox.log_tail()}"
        )
    sandbox.api_key = key_line[len(prefix) :]


def _lines_of(stream: IO[str]) -> queue.Queue[str]:
    """Return a queue fed with the stream's lines by a daemon thread.

    An empty string marks the end of the stream.
    """
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, name="sandbox-stdout", daemon=True).start()
    return lines


def stop(process: subprocess.Popen[str]) -> None:
    """Stop the process with SIGTERM, then SIGKILL if it does not exit in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(SANDBOX_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def pulumi_environment(folder: Path) -> dict[str, str]:
    """Return the environment for pulumi: a local backend in folder, no Cloud."""
    state = folder / "state"
    state.mkdir()
    env = dict(os.environ)
    env.update(
        {
            "PULUMI_BACKEND_URL": state.as_uri(),
            # The stack is deleted at the end, so a random passphrase is enough
            # to keep the secret config encrypted while it exists.
            "PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(24),
            # Run the program and the providers with this script's Python, where
            # alpharun_provider is installed.
            "PULUMI_PYTHON_CMD": sys.executable,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "NO_PROXY": _with_loopback(env.get("NO_PROXY")),
            "no_proxy": _with_loopback(env.get("no_proxy")),
        }
    )
    env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    return env


def _with_loopback(value: str | None) -> str:
    hosts = [host for host in (value or "").split(",") if host]
    return ",".join([*hosts, "127.0.0.1", "localhost"])


def deploy(project: Path, env: dict[str, str], sandbox: Sandbox) -> None:
    """Create the stack, point it at the sandbox and run pulumi up."""
    print(f"Creating stack {STACK!r} in a temporary local backend...")
    pulumi(["stack", "init", STACK, "--non-interactive"], project, env)
    pulumi(["config", "set", "alpharun:apiUrl", sandbox.base_url], project, env)
    # The key goes through stdin, so it never appears in a process listing.
    pulumi(
        ["config", "set", "--secret", "alpharun:apiKey"],
        project,
        env,
        stdin=sandbox.api_key,
    )
    print("Running pulumi up...\n")
    pulumi(["up", "--yes"], project, env)


def stack_outputs(project: Path, env: dict[str, str]) -> dict[str, Any]:
    """Return the stack's outputs from pulumi stack output --json."""
    text = pulumi(["stack", "output", "--json"], project, env, capture=True)
    try:
        outputs = json.loads(text)
    except ValueError:
        raise QuickstartError(
            f"pulumi stack output --json printed something other than JSON: {text!r}"
        ) from None
    if not isinstance(outputs, dict):
        raise QuickstartError(f"pulumi stack output --json printed {outputs!r}")
    return outputs


def pulumi(
    arguments: list[str],
    project: Path,
    env: dict[str, str],
    *,
    stdin: str | None = None,
    capture: bool = False,
) -> str:
    """Run pulumi in the project folder and raise QuickstartError if it fails."""
    completed = subprocess.run(
        ["pulumi", *arguments],
        cwd=project,
        env=env,
        input=stdin,
        stdout=subprocess.PIPE if capture else None,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        command_line = " ".join(["pulumi", *arguments])
        raise QuickstartError(
            f"`{command_line}` failed with exit status {completed.returncode}. "
            "Its messages are above.",
            exit_code=completed.returncode,
        )
    return completed.stdout or ""


def print_links(outputs: dict[str, Any]) -> None:
    """Print the interview links, one city a line."""
    links = outputs.get("interview_links")
    if not isinstance(links, dict) or not links:
        raise QuickstartError(
            f"the stack exported no interview_links map; its outputs: {outputs!r}"
        )
    width = max(len(city) for city in links)
    print("\nInterview links (served by the sandbox while it runs):")
    for city, link in links.items():
        print(f"  {city:<{width}}  {link}")
    print(f"\nJob type id: {outputs.get('job_type_id')}")


def wait_for_interrupt(project: Path, env: dict[str, str], sandbox: Sandbox) -> None:
    """Print how to use the kept stack, then wait for Ctrl-C."""
    exports = [
        f"PULUMI_BACKEND_URL={env['PULUMI_BACKEND_URL']}",
        f"PULUMI_CONFIG_PASSPHRASE={env['PULUMI_CONFIG_PASSPHRASE']}",
        f"PULUMI_PYTHON_CMD={env['PULUMI_PYTHON_CMD']}",
    ]
    root_url = sandbox.base_url.rsplit("/api/", 1)[0]
    print(
        "\nThe sandbox and the stack stay up until you press Ctrl-C. "
        "In another shell:\n"
        f"    cd {project}\n"
        f"    export {' '.join(exports)}\n"
        "    pulumi config set pay '$30 per hour' && pulumi up\n"
        f"Sandbox state: {root_url}/_sandbox/job-openings"
    )
    try:
        status = sandbox.process.wait()
    except KeyboardInterrupt:
        status = 0
    if status == 0:
        # Ctrl-C reaches the sandbox too, and it exits with status 0.
        print("\nStopping the sandbox and deleting the stack.")
        return
    raise QuickstartError(
        f"the sandbox exited with status {sandbox.process.returncode}."
        f"\n{sandbox.log_tail()}"
    )


if __name__ == "__main__":
    sys.exit(main())
