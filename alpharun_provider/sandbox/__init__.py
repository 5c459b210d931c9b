"""A local Alpharun-compatible API server for tests and demos.

``Sandbox`` serves the published endpoints (``POST /job-openings`` and
``PATCH /job-types/{id}``) under ``/api/v1``, validates bodies against the
shipped OpenAPI documents, keeps state in SQLite and can inject latency,
rate limiting and scripted failures. ``python -m alpharun_provider.sandbox``
runs it from the command line.
"""

from .errors import Conflict, InvalidRequest, NotFound, SandboxError
from .server import Sandbox

__all__ = ["Conflict", "InvalidRequest", "NotFound", "Sandbox", "SandboxError"]
