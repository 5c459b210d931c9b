"""The benchmark's baseline: a dynamic provider that only sends the POST.

``MinimalProvider.create`` sends the same ``POST /job-openings`` body as
``JobOpeningProvider`` with ``requests`` and returns the same outputs, with no
pacing, retries, error explanations or logging. ``check`` and ``diff`` are the
SDK's defaults. The provider process imports this module by name, so the
directory that contains it must be on its ``PYTHONPATH``.
"""

from __future__ import annotations

import threading
from typing import Any

import requests
from pulumi.dynamic import ConfigureRequest, CreateResult, ResourceProvider

PROVIDER_KEY = "__provider"

# Module state, not instance state, so the pickled provider stays a reference
# to the class, as JobOpeningProvider's does.
_endpoint: dict[str, Any] = {}
_thread_state = threading.local()


class MinimalProvider(ResourceProvider):
    """Creates job openings with one POST each; nothing else."""

    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        """Read the API URL and key from the stack config."""
        api_url = str(req.config.get("alpharun:apiUrl")).rstrip("/")
        _endpoint["url"] = api_url + "/job-openings"
        _endpoint["headers"] = {
            "Authorization": f"Bearer {req.config.get('alpharun:apiKey')}"
        }

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Send POST /job-openings and return the id and interview link."""
        body = {key: value for key, value in props.items() if key != PROVIDER_KEY}
        response = _session().post(
            _endpoint["url"], json=body, headers=_endpoint["headers"], timeout=30
        )
        response.raise_for_status()
        opening = response.json()["data"]["job_opening"]
        outputs = {**body, "interview_link": opening["interview_link"]}
        outputs["job_type_id"] = opening["job_type"]["id"]
        return CreateResult(opening["id"], outputs)


def _session() -> requests.Session:
    """Return this thread's session, so each gRPC worker reuses a connection."""
    session = getattr(_thread_state, "session", None)
    if session is None:
        session = requests.Session()
        _thread_state.session = session
    return session
