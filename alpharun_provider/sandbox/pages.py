"""HTML pages served at the interview links ``/i/<token>``."""

from __future__ import annotations

from html import escape
from typing import Any

PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title></head>
<body>
<h1>{heading}</h1>
{content}
</body>
</html>
"""


def interview_page(opening: dict[str, Any]) -> str:
    """Render the interview page of a job opening with its job type name.

    For a closed opening the page states that it no longer takes interviews.
    """
    name = escape(opening["name"])
    lines = [f"<p>Job type: {escape(opening['job_type_name'])}</p>"]
    for label, key in (("Location", "location"), ("Pay", "pay"), ("Hours", "hours")):
        if opening.get(key):
            lines.append(f"<p>{label}: {escape(opening[key])}</p>")
    if opening["status"] == "closed":
        lines.append(
            "<p>This job opening is closed and no longer takes interviews.</p>"
        )
    else:
        lines.append("<p>Start your AI interview when you are ready.</p>")
    return PAGE.format(
        title=f"Interview: {name}", heading=name, content="\n".join(lines)
    )


def not_found_page() -> str:
    """Render the page for an unknown interview token."""
    return PAGE.format(
        title="Interview not found",
        heading="Interview not found",
        content="<p>No job opening has this interview link.</p>",
    )
