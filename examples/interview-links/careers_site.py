"""Build a careers page and poster QR codes from a map of interview links.

``build_site`` is pure: it returns the files as text, so a preview can compute
them without writing anything. ``write_site`` writes them.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Mapping
from pathlib import Path

import segno

PAGE_FILE = "index.html"
QR_FOLDER = "qr"
QR_SCALE = 10  # pixels per module in the SVG's nominal size
QR_BORDER = 4  # quiet zone in modules, the minimum ISO/IEC 18004 sets

PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
</head>
<body>
<h1>{title}</h1>
<p>Pick your location and start a short AI interview, any time of day.</p>
<ul>
{items}
</ul>
</body>
</html>
"""
ITEM = """\
<li>
<h2>{location}</h2>
<p><a href="{link}">Start your interview</a></p>
<img src="{qr_path}" alt="QR code of the {location} interview link" width="200">
</li>"""


def file_key(location: str) -> str:
    """Return the location in lower case with hyphens, for file names."""
    return re.sub(r"[^a-z0-9]+", "-", location.lower()).strip("-")


def qr_path(location: str) -> str:
    """Return the path of a location's QR code, relative to the site folder."""
    return f"{QR_FOLDER}/{file_key(location)}.svg"


def check_links(links: object) -> dict[str, str]:
    """Return links as a dict, or raise ValueError naming the first bad entry."""
    if not isinstance(links, Mapping) or not links:
        raise ValueError(
            f"expected a non-empty map from location to interview link, got {links!r}"
        )
    checked: dict[str, str] = {}
    for location, link in links.items():
        if not isinstance(link, str) or not link.startswith(("https://", "http://")):
            raise ValueError(
                f"the interview link of {location!r} is not an http(s) URL: {link!r}"
            )
        if not file_key(str(location)):
            raise ValueError(f"location {location!r} has no letters or digits")
        checked[str(location)] = link
    keys = [file_key(location) for location in checked]
    if len(set(keys)) != len(keys):
        raise ValueError(f"two locations share a QR code file name: {sorted(checked)}")
    return checked


def qr_svg(link: str, location: str) -> str:
    """Return a QR code of the link as an SVG document titled with the location."""
    code = segno.make(link, error="m")
    buffer = io.BytesIO()
    code.save(
        buffer,
        kind="svg",
        scale=QR_SCALE,
        border=QR_BORDER,
        title=f"{location} interview link",
    )
    return buffer.getvalue().decode("utf-8")


def careers_page(links: Mapping[str, str], title: str) -> str:
    """Return the careers page: one entry per location with link and QR code."""
    items = [
        ITEM.format(
            location=html.escape(location),
            link=html.escape(links[location], quote=True),
            qr_path=qr_path(location),
        )
        for location in sorted(links)
    ]
    return PAGE.format(title=html.escape(title), items="\n".join(items))


def announcement(links: Mapping[str, str]) -> str:
    """Return a plain-text message listing every link, for a team chat."""
    lines = [f"- {location}: {links[location]}" for location in sorted(links)]
    return "Interview links for every location:\n" + "\n".join(lines)


def build_site(links: object, title: str) -> dict[str, str]:
    """Return every file of the site as relative path -> text."""
    checked = check_links(links)
    files = {PAGE_FILE: careers_page(checked, title)}
    for location, link in checked.items():
        files[qr_path(location)] = qr_svg(link, location)
    return files


def write_site(folder: Path, files: Mapping[str, str]) -> list[str]:
    """Write the files under folder and return their paths, sorted.

    QR codes left in the QR folder from locations no longer listed are
    removed, so posters cannot be printed from a stale link.
    """
    (folder / QR_FOLDER).mkdir(parents=True, exist_ok=True)
    for stale in (folder / QR_FOLDER).glob("*.svg"):
        if f"{QR_FOLDER}/{stale.name}" not in files:
            stale.unlink()
    written = []
    for relative, text in files.items():
        path = folder / relative
        path.write_text(text, encoding="utf-8")
        written.append(str(path))
    return sorted(written)
