"""The example programs, run under mocks with their providers calling a sandbox.

Each program runs through ``program_harness.run_program``: its JobOpening
resources are created by the real providers against the session's sandbox,
and its exports are compared with the openings the sandbox stored.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pulumi
import pytest
import yaml
from conftest import API_KEY
from program_harness import ProgramResult, run_program, stack_reference

from alpharun_provider.sandbox import Sandbox

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
QUICKSTART = EXAMPLES / "quickstart" / "__main__.py"
MULTI_LOCATION = EXAMPLES / "multi-location" / "__main__.py"
INTERVIEW_LINKS = EXAMPLES / "interview-links" / "__main__.py"
SOURCE_STACK = "organization/quickstart/dev"
STACK_REFERENCE = "pulumi:pulumi:StackReference"


def connection(sandbox: Sandbox) -> dict[str, str]:
    """Return the stack config that points the providers at the sandbox."""
    return {"alpharun:apiUrl": sandbox.base_url, "alpharun:apiKey": API_KEY}


def run_quickstart(sandbox: Sandbox, **config: str) -> ProgramResult:
    settings = {f"quickstart:{key}": value for key, value in config.items()}
    return run_program(
        QUICKSTART, {**connection(sandbox), **settings}, project="quickstart"
    )


def run_multi_location(sandbox: Sandbox, locations: Any = None) -> ProgramResult:
    config = connection(sandbox)
    if locations is not None:
        config["multi-location:locations"] = json.dumps(locations)
    return run_program(MULTI_LOCATION, config, project="multi-location")


def run_interview_links(
    site_dir: Path, source_exports: dict[str, Any], **config: str
) -> ProgramResult:
    settings = {
        "interview-links:sourceStack": SOURCE_STACK,
        "interview-links:siteDir": str(site_dir),
        **{f"interview-links:{key}": value for key, value in config.items()},
    }
    handler = stack_reference({SOURCE_STACK: source_exports})
    return run_program(
        INTERVIEW_LINKS,
        settings,
        project="interview-links",
        fallback={STACK_REFERENCE: handler},
    )


def issued_links(sandbox: Sandbox) -> dict[str, str]:
    """Return the sandbox's open openings as name -> interview link."""
    return {
        opening["name"]: opening["interview_link"]
        for opening in sandbox.job_openings()
        if opening["status"] == "open"
    }


def load_careers_site() -> ModuleType:
    """Import examples/interview-links/careers_site.py under a private name."""
    path = INTERVIEW_LINKS.parent / "careers_site.py"
    spec = importlib.util.spec_from_file_location("example_careers_site", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Project files


@pytest.mark.parametrize(
    ("folder", "project"),
    [
        ("quickstart", "quickstart"),
        ("multi-location", "multi-location"),
        ("interview-links", "interview-links"),
    ],
)
def test_example_project_file(folder: str, project: str) -> None:
    settings = yaml.safe_load((EXAMPLES / folder / "Pulumi.yaml").read_text())
    assert settings["name"] == project
    assert settings["runtime"]["name"] == "python"
    assert (EXAMPLES / folder / "__main__.py").is_file()


def test_root_project_runs_quickstart() -> None:
    root = EXAMPLES.parent
    settings = yaml.safe_load((root / "Pulumi.yaml").read_text())
    assert settings["name"] == "quickstart"
    assert settings["runtime"]["name"] == "python"
    assert (root / settings["main"]).resolve() == QUICKSTART.parent


# Quickstart


def test_quickstart_links_issued(sandbox: Sandbox) -> None:
    result = run_quickstart(sandbox)

    issued = issued_links(sandbox)
    links = result.exports["interview_links"]
    assert set(links) == {"Austin", "Denver", "Portland"}
    for city, link in links.items():
        assert link == issued[f"Store Manager - {city}"], city


def test_quickstart_per_city_exports(sandbox: Sandbox) -> None:
    result = run_quickstart(sandbox)

    links = result.exports["interview_links"]
    assert result.exports["austin_interview_link"] == links["Austin"]
    assert result.exports["denver_interview_link"] == links["Denver"]
    assert result.exports["portland_interview_link"] == links["Portland"]


def test_quickstart_one_job_type(sandbox: Sandbox) -> None:
    result = run_quickstart(sandbox)

    job_types = sandbox.job_types()
    assert len(job_types) == 1
    assert result.exports["job_type_id"] == job_types[0]["id"]
    openings = sandbox.job_openings()
    assert len(openings) == 3
    assert {opening["job_type_id"] for opening in openings} == {job_types[0]["id"]}


def test_quickstart_inline_then_by_id(sandbox: Sandbox) -> None:
    result = run_quickstart(sandbox)

    first = result.resource("opening-austin").inputs
    assert "job_type" in first
    assert "job_type_id" not in first
    for name in ("opening-denver", "opening-portland"):
        inputs = result.resource(name).inputs
        assert inputs["job_type_id"] == result.exports["job_type_id"], name
        assert "job_type" not in inputs, name


def test_quickstart_config_overrides(sandbox: Sandbox) -> None:
    result = run_quickstart(
        sandbox,
        company="Acme Bakery",
        role="Shift Lead",
        cities=json.dumps(["New York", "Boise"]),
        pay="$19 per hour",
    )

    assert set(result.exports["interview_links"]) == {"New York", "Boise"}
    assert "new_york_interview_link" in result.exports
    opening = next(
        item for item in sandbox.job_openings() if item["name"] == "Shift Lead - Boise"
    )
    assert opening["location"] == "Acme Bakery, Boise"
    assert opening["pay"] == "$19 per hour"


def test_quickstart_duplicate_city_rejected(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="lists a city twice"):
        run_quickstart(sandbox, cities=json.dumps(["Austin", "austin"]))

    assert sandbox.job_openings() == []


def test_quickstart_api_key_not_exported(sandbox: Sandbox) -> None:
    result = run_quickstart(sandbox)

    assert API_KEY not in json.dumps(result.exports)


# Multi-location


def test_multi_location_links_issued(sandbox: Sandbox) -> None:
    result = run_multi_location(sandbox)

    issued = issued_links(sandbox)
    links = result.exports["interview_links"]
    names = result.exports["opening_names"]
    assert set(links) == {"Austin", "Denver", "Portland"}
    assert set(names) == set(links)
    for city, link in links.items():
        assert link == issued[names[city]], city


def test_multi_location_job_type_each(sandbox: Sandbox) -> None:
    run_multi_location(sandbox)

    openings = sandbox.job_openings()
    assert len(openings) == 3
    assert len({opening["job_type_id"] for opening in openings}) == 3
    descriptions = {job_type["job_description"] for job_type in sandbox.job_types()}
    assert len(descriptions) == 1


def test_multi_location_new_location(sandbox: Sandbox) -> None:
    locations = [
        {"city": "Austin", "pay": "$21-24 per hour"},
        {
            "city": "Fort Worth",
            "pay": "$20-23 per hour",
            "hours": "Mon-Fri 8am-5pm",
            "owners": ["fortworth.manager@example.com"],
        },
    ]

    result = run_multi_location(sandbox, locations)

    issued = issued_links(sandbox)
    assert set(issued) == {"Dental Assistant - Austin", "Dental Assistant - Fort Worth"}
    assert (
        result.exports["interview_links"]["Fort Worth"]
        == issued["Dental Assistant - Fort Worth"]
    )
    stored = next(item for item in sandbox.job_openings() if "Fort" in item["name"])
    assert stored["owner_emails"] == ["fortworth.manager@example.com"]
    assert stored["hours"] == "Mon-Fri 8am-5pm"
    assert result.resource("opening-fort-worth").id == stored["id"]


def test_multi_location_readme_list(sandbox: Sandbox) -> None:
    readme = (MULTI_LOCATION.parent / "README.md").read_text()
    block = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    locations = yaml.safe_load(block)["config"]["multi-location:locations"]

    result = run_multi_location(sandbox, locations)

    assert set(result.exports["interview_links"]) == {"Austin", "Denver"}
    assert set(issued_links(sandbox)) == {
        "Dental Assistant - Austin",
        "Dental Assistant - Denver",
    }


def test_multi_location_version_in_name(sandbox: Sandbox) -> None:
    result = run_multi_location(sandbox, [{"city": "Austin", "version": "2025-06"}])

    assert result.exports["opening_names"] == {
        "Austin": "Dental Assistant - Austin (2025-06)"
    }
    assert set(issued_links(sandbox)) == {"Dental Assistant - Austin (2025-06)"}


def test_multi_location_bad_list_rejected(sandbox: Sandbox) -> None:
    locations = [{"city": "Austin"}, {"city": "austin"}, {"town": "Boise"}]

    with pytest.raises(ValueError) as raised:
        run_multi_location(sandbox, locations)

    message = str(raised.value)
    assert "more than one location has the city 'austin'" in message
    assert "locations[2].town is not a location field" in message
    assert "locations[2].city must be a city name" in message
    assert sandbox.job_openings() == []


# Interview links


def test_interview_links_from_quickstart(sandbox: Sandbox, tmp_path: Path) -> None:
    quickstart = run_quickstart(sandbox)

    result = run_interview_links(tmp_path, quickstart.exports)

    issued = set(issued_links(sandbox).values())
    links = result.exports["interview_links"]
    assert links == quickstart.exports["interview_links"]
    assert set(links.values()) == issued


def test_interview_links_careers_page(sandbox: Sandbox, tmp_path: Path) -> None:
    quickstart = run_quickstart(sandbox)

    result = run_interview_links(tmp_path, quickstart.exports, title="Work with us")

    page_path = Path(result.exports["careers_page"])
    assert page_path == tmp_path / "index.html"
    page = page_path.read_text()
    assert "<title>Work with us</title>" in page
    for link in issued_links(sandbox).values():
        assert f'href="{link}"' in page, link


def test_interview_links_qr_codes(sandbox: Sandbox, tmp_path: Path) -> None:
    quickstart = run_quickstart(sandbox)
    careers_site = load_careers_site()

    result = run_interview_links(tmp_path, quickstart.exports)

    links = quickstart.exports["interview_links"]
    qr_codes = result.exports["qr_codes"]
    assert set(qr_codes) == set(links)
    for city, path in qr_codes.items():
        expected = careers_site.qr_svg(links[city], city)
        assert Path(path).read_text() == expected, city


def test_interview_links_announcement(sandbox: Sandbox, tmp_path: Path) -> None:
    quickstart = run_quickstart(sandbox)

    result = run_interview_links(tmp_path, quickstart.exports)

    for city, link in quickstart.exports["interview_links"].items():
        assert f"- {city}: {link}" in result.exports["announcement"], city


def test_interview_links_from_multi_location(sandbox: Sandbox, tmp_path: Path) -> None:
    chain = run_multi_location(sandbox)

    result = run_interview_links(tmp_path, chain.exports)

    assert result.exports["interview_links"] == chain.exports["interview_links"]
    assert sorted(path.name for path in (tmp_path / "qr").iterdir()) == [
        "austin.svg",
        "denver.svg",
        "portland.svg",
    ]


def test_interview_links_removes_stale_qr(sandbox: Sandbox, tmp_path: Path) -> None:
    stale = tmp_path / "qr" / "closed-store.svg"
    stale.parent.mkdir()
    stale.write_text("<svg/>")
    quickstart = run_quickstart(sandbox)

    run_interview_links(tmp_path, quickstart.exports)

    assert not stale.exists()
    assert (tmp_path / "qr" / "austin.svg").is_file()


def test_interview_links_preview_writes_nothing(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    quickstart = run_quickstart(sandbox)
    monkeypatch.setattr(pulumi.runtime, "is_dry_run", lambda: True)

    result = run_interview_links(tmp_path / "site", quickstart.exports)

    assert not (tmp_path / "site").exists()
    assert str(tmp_path / "site" / "index.html") in result.exports["site_files"]


def test_interview_links_rejects_non_http(tmp_path: Path) -> None:
    exports = {"interview_links": {"Austin": "javascript:alert(1)"}}

    with pytest.raises(ValueError, match="not an http"):
        run_interview_links(tmp_path, exports)

    assert not (tmp_path / "index.html").exists()


def test_interview_links_missing_output(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="has no output 'interview_links'"):
        run_interview_links(tmp_path, {"other": 1})
