"""The README's commands exist, and the first command behaves as documented.

The install, first-command and test sections' shell blocks are parsed, and
every command in them is checked against the repository: modules, files,
extras and entry points must exist. ``scripts/quickstart.py`` runs once with
no ``pulumi`` on PATH and once with a stand-in ``pulumi`` that records its
calls and creates an opening in the sandbox the script started.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
QUICKSTART_SCRIPT = ROOT / "scripts" / "quickstart.py"
INSTALL_PAGE = "https://www.pulumi.com/docs/iac/download-install/"
INSTALL_COMMAND = "curl -fsSL https://get.pulumi.com | sh"
SHELL_LANGUAGES = {"sh", "bash", "shell", "console"}
COMMAND_SECTIONS = ("Install", "First command", "Run the tests")
# Markdown files whose relative links must resolve.
LINKED_PAGES = (
    "README.md",
    "docs/job-opening.md",
    "docs/job-type.md",
    "docs/configuration.md",
    "docs/troubleshooting.md",
    "docs/reliability.md",
    "docs/benchmarks.md",
    "examples/multi-location/README.md",
)


def sections(markdown: str) -> dict[str, str]:
    """Return the text under each second-level heading, keyed by its title."""
    found: dict[str, str] = {}
    parts = re.split(r"^## +(.+)$", markdown, flags=re.MULTILINE)
    for title, body in zip(parts[1::2], parts[2::2]):
        found[title.strip()] = body
    return found


def shell_blocks(text: str) -> list[str]:
    """Return the bodies of the fenced shell code blocks in text."""
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    return [body for language, body in blocks if language in SHELL_LANGUAGES]


def commands(block: str) -> list[str]:
    """Split a shell block into commands at newlines and '&&'."""
    found = []
    for line in block.splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            found += [part.strip() for part in line.split("&&")]
    return found


def readme_commands() -> list[str]:
    found = []
    readme_sections = sections(README.read_text())
    for title in COMMAND_SECTIONS:
        for block in shell_blocks(readme_sections[title]):
            found += commands(block)
    return found


def pyproject() -> dict[str, Any]:
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)


# Checks for each command of the README


def check_python(words: list[str]) -> None:
    if words[1] == "-m":
        module = words[2]
        assert importlib.util.find_spec(module) is not None, f"no module {module}"
        if module == "pip":
            check_pip(words[3:])
        return
    script = ROOT / words[1]
    assert script.is_file(), f"{words[1]} does not exist"


def check_pip(words: list[str]) -> None:
    assert words[0] == "install", f"unexpected pip command {words}"
    for word in words[1:]:
        if word.startswith("-"):
            continue
        match = re.fullmatch(r"(?P<path>[^\[]+)(\[(?P<extras>[\w,-]+)\])?", word)
        assert match is not None, f"cannot read the pip target {word!r}"
        assert (ROOT / match["path"] / "pyproject.toml").is_file(), word
        declared = pyproject()["project"]["optional-dependencies"]
        for extra in (match["extras"] or "").split(","):
            assert not extra or extra in declared, f"no extra {extra!r}"


def check_source(words: list[str], created_venvs: set[str]) -> None:
    script = Path(words[1])
    assert script.name == "activate", f"unexpected script {words[1]}"
    assert str(script.parent.parent) in created_venvs, f"no venv made for {script}"


def check_curl(command: str) -> None:
    assert command == INSTALL_COMMAND
    assert INSTALL_COMMAND in QUICKSTART_SCRIPT.read_text()


def check_entry_point(name: str) -> None:
    scripts = pyproject()["project"]["scripts"]
    assert name in scripts, f"{name} is not in [project.scripts]"
    module_name, _, function = scripts[name].partition(":")
    assert hasattr(importlib.import_module(module_name), function), scripts[name]


# README tests


def test_readme_has_test_command() -> None:
    blocks = shell_blocks(sections(README.read_text())["Run the tests"])

    assert "python -m pytest" in [
        line.strip() for block in blocks for line in block.splitlines()
    ]


def test_ci_runs_test_command() -> None:
    ci_script = (ROOT / ".ci" / "run").read_text().splitlines()

    assert "python -m pytest" in [line.strip() for line in ci_script]


def test_readme_has_install_command() -> None:
    blocks = shell_blocks(sections(README.read_text())["Install"])

    assert (
        "python -m venv .venv && . .venv/bin/activate && pip install -e '.[dev]'"
        in [line.strip() for block in blocks for line in block.splitlines()]
    )


def test_readme_has_first_command() -> None:
    assert "python scripts/quickstart.py" in readme_commands()


def test_readme_commands_exist() -> None:
    created_venvs: set[str] = set()
    for command in readme_commands():
        words = shlex.split(command)
        if words[0] == "python":
            check_python(words)
            if words[1:3] == ["-m", "venv"]:
                created_venvs.add(words[3])
        elif words[0] == "pip":
            check_pip(words[1:])
        elif words[0] in (".", "source"):
            check_source(words, created_venvs)
        elif words[0] == "curl":
            check_curl(command)
        else:
            pytest.fail(f"README command {command!r} is not checked by this test")


def test_sandbox_entry_point_declared() -> None:
    assert "alpharun-sandbox" in README.read_text()
    check_entry_point("alpharun-sandbox")


# Links


def slug(heading: str) -> str:
    """Return the anchor GitHub makes for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)
    headings = re.findall(r"^#+ +(.+)$", text, flags=re.MULTILINE)
    return {slug(heading) for heading in headings}


def relative_links(page: Path) -> Iterator[tuple[Path, str]]:
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        yield (page.parent / path).resolve() if path else page, anchor


@pytest.mark.parametrize("page", LINKED_PAGES)
def test_links_resolve(page: str) -> None:
    for target, anchor in relative_links(ROOT / page):
        assert target.exists(), f"{page} links to missing {target}"
        if anchor:
            assert anchor in anchors(target), f"{page}: no #{anchor} in {target}"


def test_readme_links_docs() -> None:
    text = README.read_text()

    for page in ("job-opening", "job-type", "configuration", "troubleshooting"):
        assert f"(docs/{page}.md)" in text, page
    assert "(docs/benchmarks.md)" in text
    assert "(docs/reliability.md)" in text


# scripts/quickstart.py


def test_quickstart_without_pulumi(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(QUICKSTART_SCRIPT)],
        env={"PATH": str(tmp_path)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert completed.returncode != 0
    assert INSTALL_PAGE in completed.stderr
    assert INSTALL_COMMAND in completed.stderr
    assert "not on PATH" in completed.stderr


FAKE_PULUMI = '''\
#!{python}
"""Stand-in for the pulumi CLI: records each call, and `up` creates one opening."""
import json, os, sys, urllib.request
from pathlib import Path
from urllib.parse import urlsplit

log = Path(os.environ["FAKE_PULUMI_LOG"])
data = json.loads(log.read_text()) if log.exists() else {{"calls": [], "config": {{}}}}
args = sys.argv[1:]
data["calls"].append({{
    "args": args,
    "cwd": os.getcwd(),
    "files": sorted(os.listdir()),
    "backend": os.environ.get("PULUMI_BACKEND_URL"),
    "passphrase": os.environ.get("PULUMI_CONFIG_PASSPHRASE"),
    "python": os.environ.get("PULUMI_PYTHON_CMD"),
}})
if args[:2] == ["config", "set"]:
    if "--secret" in args:
        data["config"][args[-1]] = sys.stdin.read()
    else:
        data["config"][args[2]] = args[3]
elif args[:1] == ["up"]:
    url = data["config"]["alpharun:apiUrl"]
    assert urlsplit(url).hostname == "127.0.0.1", url
    body = {{"name": "Store Manager - Austin",
             "job_type": {{"job_description": "Runs a store and its team."}}}}
    request = urllib.request.Request(
        url + "/job-openings", data=json.dumps(body).encode(), method="POST",
        headers={{"Authorization": "Bearer " + data["config"]["alpharun:apiKey"],
                  "Content-Type": "application/json"}})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({{}}))
    with opener.open(request, timeout=10) as response:
        created = json.load(response)["data"]["job_opening"]
    data["outputs"] = {{"interview_links": {{"Austin": created["interview_link"]}},
                       "job_type_id": created["job_type"]["id"]}}
elif args[:2] == ["stack", "output"]:
    print(json.dumps(data["outputs"]))
log.write_text(json.dumps(data))
'''


@dataclass
class QuickstartRun:
    completed: subprocess.CompletedProcess[str]
    log: dict[str, Any]

    def call(self, *prefix: str) -> dict[str, Any]:
        for call in self.log["calls"]:
            if call["args"][: len(prefix)] == list(prefix):
                return call
        raise AssertionError(f"pulumi {' '.join(prefix)} was not run")


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory: pytest.TempPathFactory) -> QuickstartRun:
    folder = tmp_path_factory.mktemp("fake-pulumi")
    fake = folder / "pulumi"
    fake.write_text(FAKE_PULUMI.format(python=sys.executable))
    fake.chmod(0o755)
    log = folder / "calls.json"
    completed = subprocess.run(
        [sys.executable, str(QUICKSTART_SCRIPT)],
        env={"PATH": str(folder), "FAKE_PULUMI_LOG": str(log)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    data = json.loads(log.read_text()) if log.exists() else {"calls": []}
    return QuickstartRun(completed, data)


def test_quickstart_succeeds(quickstart_run: QuickstartRun) -> None:
    assert quickstart_run.completed.returncode == 0, quickstart_run.completed.stderr


def test_quickstart_prints_links(quickstart_run: QuickstartRun) -> None:
    link = quickstart_run.log["outputs"]["interview_links"]["Austin"]

    assert link in quickstart_run.completed.stdout


def test_quickstart_command_order(quickstart_run: QuickstartRun) -> None:
    sequence = [call["args"][:2] for call in quickstart_run.log["calls"]]

    assert sequence == [
        ["stack", "init"],
        ["config", "set"],
        ["config", "set"],
        ["up", "--yes"],
        ["stack", "output"],
    ]


def test_quickstart_sets_connection(quickstart_run: QuickstartRun) -> None:
    config = quickstart_run.log["config"]

    assert urlsplit(config["alpharun:apiUrl"]).hostname == "127.0.0.1"
    assert config["alpharun:apiUrl"].endswith("/api/v1")
    assert config["alpharun:apiKey"]


def test_quickstart_key_is_secret(quickstart_run: QuickstartRun) -> None:
    key = quickstart_run.log["config"]["alpharun:apiKey"]

    secret_call = quickstart_run.call("config", "set", "--secret")
    assert secret_call["args"][-1] == "alpharun:apiKey"
    for call in quickstart_run.log["calls"]:
        assert key not in call["args"], call["args"]
    assert key not in quickstart_run.completed.stdout
    assert key not in quickstart_run.completed.stderr


def test_quickstart_local_backend(quickstart_run: QuickstartRun) -> None:
    up = quickstart_run.call("up")

    assert up["backend"].startswith("file://")
    assert up["passphrase"]
    assert up["python"] == sys.executable


def test_quickstart_temporary_project(quickstart_run: QuickstartRun) -> None:
    up = quickstart_run.call("up")

    assert not Path(up["cwd"]).is_relative_to(ROOT)
    assert "Pulumi.yaml" in up["files"]
    assert "__main__.py" in up["files"]
    assert not Path(up["cwd"]).exists()


def test_quickstart_stops_sandbox(quickstart_run: QuickstartRun) -> None:
    url = urlsplit(quickstart_run.log["config"]["alpharun:apiUrl"])

    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((url.hostname, url.port), timeout=5).close()


def test_quickstart_help() -> None:
    completed = subprocess.run(
        [sys.executable, str(QUICKSTART_SCRIPT), "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert completed.returncode == 0
    assert "--keep" in completed.stdout
