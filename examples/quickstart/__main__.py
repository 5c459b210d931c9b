"""Quickstart: one Alpharun job type and three job openings with interview links.

The first opening creates the job type inline. The other openings join that job
type through the first opening's ``job_type_id`` output. Every setting has a
default, so the stack needs only the API connection (``alpharun:apiUrl`` and
the secret ``alpharun:apiKey``). Stack config overrides the defaults::

    pulumi config set company "Northwind Coffee"
    pulumi config set role "Shift Lead"
    pulumi config set --path 'cities[0]' Austin
    pulumi config set --path 'ownerEmails[0]' ana@example.com

Outputs: ``interview_links`` (city to link), one ``<city>_interview_link`` per
opening, and ``job_type_id``.

A change to an opening's name, city, pay, hours or owners replaces that
opening: the new one gets a new interview link, and the old one stays open in
Alpharun until someone closes it in the dashboard.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi

from alpharun_provider import InlineJobTypeArgs, JobOpening

DEFAULT_COMPANY = "Northwind Coffee"
DEFAULT_ROLE = "Store Manager"
DEFAULT_CITIES = ["Austin", "Denver", "Portland"]
DEFAULT_PAY = "$24-28 per hour"
DEFAULT_HOURS = "Full time, 40 hours a week"
DEFAULT_DESCRIPTION = """\
{company} is hiring a {role} to run one of its stores.

Qualifications:
- Two years of experience leading a retail or food service team
- Comfortable with opening and closing shifts and weekend work
- Clear, friendly communication with customers and staff
"""
DEFAULT_GUIDANCE = (
    "Ask about team leadership, handling a rush, and resolving a customer "
    "complaint. Keep a warm, conversational tone."
)


def slug(text: str, separator: str) -> str:
    """Return text in lower case with each run of other characters as separator."""
    return re.sub(r"[^a-z0-9]+", separator, text.lower()).strip(separator)


def read_cities(value: Any) -> list[str]:
    """Return the configured cities, or raise ValueError naming the problem."""
    if value is None:
        return list(DEFAULT_CITIES)
    if not isinstance(value, list) or not value:
        raise ValueError(
            f"quickstart:cities must be a non-empty list of city names, got {value!r}"
        )
    cities = [city.strip() for city in value if isinstance(city, str)]
    if len(cities) != len(value) or not all(slug(city, "-") for city in cities):
        raise ValueError(f"quickstart:cities must contain only city names: {value!r}")
    if len({slug(city, "-") for city in cities}) != len(cities):
        raise ValueError(f"quickstart:cities lists a city twice: {value!r}")
    return cities


config = pulumi.Config()
company = config.get("company") or DEFAULT_COMPANY
role = config.get("role") or DEFAULT_ROLE
cities = read_cities(config.get_object("cities"))
pay = config.get("pay") or DEFAULT_PAY
hours = config.get("hours") or DEFAULT_HOURS
owner_emails = config.get_object("ownerEmails")

job_type = InlineJobTypeArgs(
    job_description=config.get("jobDescription")
    or DEFAULT_DESCRIPTION.format(company=company, role=role.lower()),
    ai_interviewer_guidance=config.get("interviewerGuidance") or DEFAULT_GUIDANCE,
    resume_collection_type="after_interview",
)

openings: dict[str, JobOpening] = {}
for city in cities:
    first = next(iter(openings.values()), None)
    openings[city] = JobOpening(
        f"opening-{slug(city, '-')}",
        name=f"{role} - {city}",
        # The first opening creates the job type, and the others join it by id.
        job_type=job_type if first is None else None,
        job_type_id=None if first is None else first.job_type_id,
        location=f"{company}, {city}",
        pay=pay,
        hours=hours,
        owner_emails=owner_emails,
    )

pulumi.export(
    "interview_links",
    {city: opening.interview_link for city, opening in openings.items()},
)
for city, opening in openings.items():
    pulumi.export(f"{slug(city, '_')}_interview_link", opening.interview_link)
pulumi.export("job_type_id", openings[cities[0]].job_type_id)
