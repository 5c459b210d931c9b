"""Multi-location: one job opening per clinic of a chain, listed in stack config.

Each entry of ``multi-location:locations`` is one clinic::

    {"city": "Austin", "pay": "$21-24 per hour", "hours": "Mon-Fri 8am-5pm",
     "owners": ["austin.manager@example.com"], "version": "2025-06"}

Only ``city`` is required, and it must be unique. ``version``, when set, is
appended to the opening's name. A stack without ``locations`` uses
DEFAULT_LOCATIONS below, and a stack with it uses only its own list.

Outputs: ``interview_links`` and ``opening_names``, both keyed by city.

See README.md beside this file for rolling out a location and for what a
change of pay costs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from alpharun_provider import InlineJobTypeArgs, JobOpening

DEFAULT_COMPANY = "Brightside Dental"
DEFAULT_ROLE = "Dental Assistant"
DEFAULT_LOCATIONS: list[dict[str, Any]] = [
    {
        "city": "Austin",
        "pay": "$21-24 per hour",
        "hours": "Mon-Fri 8am-5pm",
        "owners": ["austin.manager@example.com"],
    },
    {
        "city": "Denver",
        "pay": "$22-25 per hour",
        "hours": "Tue-Sat 9am-6pm",
        "owners": ["denver.manager@example.com"],
    },
    {
        "city": "Portland",
        "pay": "$23-26 per hour",
        "hours": "Mon-Thu 7am-6pm",
        "owners": ["portland.manager@example.com", "hiring@example.com"],
    },
]
LOCATION_FIELDS = ("city", "pay", "hours", "owners", "version")
JOB_DESCRIPTION = """\
{company} is hiring a {role} to support dentists and hygienists chairside.

Qualifications:
- Dental assisting certificate, or one year of chairside experience
- Comfortable taking and processing dental X-rays
- Calm, friendly manner with nervous patients
"""
INTERVIEWER_GUIDANCE = (
    "Ask about infection control, preparing a treatment room, and calming an "
    "anxious patient. Keep questions practical and the tone friendly."
)


@dataclass(frozen=True)
class Location:
    """One clinic: where the opening is, its pay, hours and owners."""

    city: str
    pay: str | None = None
    hours: str | None = None
    owners: list[str] | None = None
    version: str | None = None

    @property
    def key(self) -> str:
        """The city in lower case with hyphens, for example 'fort-worth'."""
        return re.sub(r"[^a-z0-9]+", "-", self.city.lower()).strip("-")

    @property
    def resource_name(self) -> str:
        """Pulumi resource name; it stays the same when the version changes."""
        return f"opening-{self.key}"

    def opening_name(self, role: str) -> str:
        """Alpharun name of the opening, unique while the opening is open."""
        name = f"{role} - {self.city}"
        return f"{name} ({self.version})" if self.version else name


def parse_locations(value: Any) -> list[Location]:
    """Return the configured locations, or raise ValueError listing every problem."""
    if value is None:
        value = DEFAULT_LOCATIONS
    if not isinstance(value, list) or not value:
        raise ValueError(
            f"multi-location:locations must be a non-empty list, got {value!r}"
        )
    problems: list[str] = []
    locations = [
        _parse_location(index, item, problems) for index, item in enumerate(value)
    ]
    keys = [location.key for location in locations]
    for key in sorted({key for key in keys if keys.count(key) > 1}):
        problems.append(f"more than one location has the city {key!r}")
    if problems:
        raise ValueError(
            "Invalid multi-location:locations: " + "; ".join(problems) + "."
        )
    return locations


def _parse_location(index: int, item: Any, problems: list[str]) -> Location:
    where = f"locations[{index}]"
    if not isinstance(item, Mapping):
        problems.append(f"{where} must be an object with a city, got {item!r}")
        return Location(city=f"invalid-{index}")
    for key in item:
        if key not in LOCATION_FIELDS:
            problems.append(
                f"{where}.{key} is not a location field; the fields are "
                + ", ".join(LOCATION_FIELDS)
            )
    city = item.get("city")
    if not isinstance(city, str) or not re.search(r"[A-Za-z0-9]", city):
        problems.append(f"{where}.city must be a city name, got {city!r}")
        city = f"invalid-{index}"
    owners = item.get("owners")
    if owners is not None and not isinstance(owners, list):
        problems.append(f"{where}.owners must be a list of email addresses")
        owners = None
    version = item.get("version")
    return Location(
        city=city.strip(),
        pay=item.get("pay"),
        hours=item.get("hours"),
        owners=owners,
        version=None if version is None else str(version),
    )


config = pulumi.Config()
company = config.get("company") or DEFAULT_COMPANY
role = config.get("role") or DEFAULT_ROLE
locations = parse_locations(config.get_object("locations"))

# Each opening creates its own job type inline from this one declaration, so
# every clinic interviews the same way, and an edit here updates each job type
# in place. One JobType shared by all openings would look tidier. But the API
# creates a job type only inline with an opening, so the shared job type would
# belong to the first clinic's opening. When that opening is replaced (after a
# pay change, say), its replacement creates a new job type. Every other
# clinic's job_type_id then changes, which replaces their openings and their
# interview links too. Per-clinic job types keep a change local to one clinic.
job_type = InlineJobTypeArgs(
    job_description=JOB_DESCRIPTION.format(company=company, role=role.lower()),
    ai_interviewer_guidance=INTERVIEWER_GUIDANCE,
    resume_collection_type="before_interview",
    should_record_video=False,
)

openings = {
    location.city: JobOpening(
        location.resource_name,
        name=location.opening_name(role),
        job_type=job_type,
        location=f"{company}, {location.city}",
        pay=location.pay,
        hours=location.hours,
        owner_emails=location.owners,
    )
    for location in locations
}

pulumi.export(
    "interview_links",
    {city: opening.interview_link for city, opening in openings.items()},
)
pulumi.export(
    "opening_names",
    {city: opening.name for city, opening in openings.items()},
)
