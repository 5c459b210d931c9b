"""Interview links: publish another stack's interview links for other teams.

This stack reads the ``interview_links`` output (a map from location to link)
of the stack named in ``interview-links:sourceStack`` and turns it into:

- ``<siteDir>/index.html``, a careers page listing every location's link;
- ``<siteDir>/qr/<location>.svg``, a QR code per location for store posters;
- the stack output ``announcement``, a message listing the links for chat.

``pulumi preview`` computes everything and writes nothing; ``pulumi up``
writes the files. A later step of the pipeline can upload the folder to the
web server. Config:

    pulumi config set sourceStack organization/quickstart/dev   # required
    pulumi config set linksOutput interview_links   # the default
    pulumi config set siteDir build/site            # the default
    pulumi config set title "Interview with us"     # the default
"""

from __future__ import annotations

from pathlib import Path

import careers_site
import pulumi

config = pulumi.Config()
source_stack = config.require("sourceStack")
links_output = config.get("linksOutput") or "interview_links"
site_dir = Path(config.get("siteDir") or "build/site").resolve()
title = config.get("title") or "Interview with us"


def require_links(value: object) -> object:
    """Return the referenced output, or raise ValueError saying what to set."""
    if value is None:
        raise ValueError(
            f"Stack {source_stack} has no output {links_output!r}. Set "
            "interview-links:linksOutput to the name of its map from location to "
            "interview link, or interview-links:sourceStack to another stack."
        )
    return value


source = pulumi.StackReference(source_stack)
links = source.get_output(links_output).apply(require_links)
site_files = links.apply(lambda value: careers_site.build_site(value, title))

if pulumi.runtime.is_dry_run():
    written = site_files.apply(lambda files: sorted(str(site_dir / f) for f in files))
else:
    written = site_files.apply(lambda files: careers_site.write_site(site_dir, files))

pulumi.export("interview_links", links)
pulumi.export("careers_page", str(site_dir / careers_site.PAGE_FILE))
pulumi.export(
    "qr_codes",
    links.apply(
        lambda value: {
            location: str(site_dir / careers_site.qr_path(location))
            for location in careers_site.check_links(value)
        }
    ),
)
pulumi.export("site_files", written)
pulumi.export(
    "announcement",
    links.apply(
        lambda value: careers_site.announcement(careers_site.check_links(value))
    ),
)
