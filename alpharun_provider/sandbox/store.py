"""SQLite state of the sandbox: job types and job openings.

One connection serves all threads, guarded by a lock, and every write runs in
an immediate transaction. Each check for a used name therefore runs in the
same critical section as the insert that depends on it, so two parallel
creates with one name give exactly one success. Partial unique indexes
enforce the same rules in the database.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from .errors import Conflict, InvalidRequest, NotFound

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS job_types (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    job_description TEXT NOT NULL,
    ai_interviewer_guidance TEXT,
    resume_collection_type TEXT,
    should_force_fullscreen INTEGER NOT NULL DEFAULT 0,
    should_record_video INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS job_openings (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    location TEXT,
    pay TEXT,
    hours TEXT,
    link_access TEXT,
    owner_emails TEXT,
    job_type_id TEXT NOT NULL REFERENCES job_types (id),
    token TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS job_openings_open_name
    ON job_openings (name) WHERE status = 'open';
"""

JOB_TYPE_COLUMNS = (
    "id",
    "name",
    "job_description",
    "ai_interviewer_guidance",
    "resume_collection_type",
    "should_force_fullscreen",
    "should_record_video",
)
JOB_TYPE_SETTINGS = JOB_TYPE_COLUMNS[1:]
BOOLEAN_COLUMNS = ("should_force_fullscreen", "should_record_video")
OPENING_TEXT_FIELDS = ("location", "pay", "hours")
OPENING_JSON_FIELDS = ("link_access", "owner_emails")
OPENING_COLUMNS = (
    "id",
    "name",
    "location",
    "pay",
    "hours",
    "link_access",
    "owner_emails",
    "job_type_id",
    "token",
    "status",
    "created_at",
)
QUALIFICATION_BULLETS = ("- ", "* ")


def derive_qualifications(job_description: str) -> list[str]:
    """Return the bullet lines ("- " or "* ") of a job description, unmarked."""
    qualifications = []
    for line in job_description.splitlines():
        stripped = line.strip()
        if stripped.startswith(QUALIFICATION_BULLETS) and stripped[2:].strip():
            qualifications.append(stripped[2:].strip())
    return qualifications


class Store:
    """Thread-safe job type and job opening records in SQLite.

    ``db_path`` None keeps the state in memory, so it ends with ``close``.
    A path that SQLite cannot open or that is not a database raises
    ``sqlite3.Error``.
    Records are plain dicts. A job opening dict carries its interview
    ``token``, and a job type dict carries the derived ``qualifications``.
    """

    def __init__(self, db_path: str | None = None) -> None:
        self.db_path = db_path
        self._lock = threading.RLock()
        connection = sqlite3.connect(
            db_path or ":memory:", check_same_thread=False, isolation_level=None
        )
        try:
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA foreign_keys = ON")
            connection.executescript(SCHEMA)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error:
            connection.close()
            raise
        self._connection: sqlite3.Connection | None = connection

    def close(self) -> None:
        """Close the database. Later calls raise ``RuntimeError``."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def reset(self) -> None:
        """Delete every job opening and job type."""
        with self._transaction() as connection:
            connection.execute("DELETE FROM job_openings")
            connection.execute("DELETE FROM job_types")

    # Job types

    def job_types(self) -> list[dict[str, Any]]:
        """Return all job types in creation order."""
        with self._transaction() as connection:
            rows = connection.execute("SELECT * FROM job_types ORDER BY rowid")
            return [_job_type_record(row) for row in rows]

    def job_type(self, job_type_id: str) -> dict[str, Any]:
        """Return one job type, or raise ``NotFound`` for an unknown id."""
        with self._transaction() as connection:
            return _job_type_record(_job_type_row(connection, job_type_id))

    def create_job_type(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Insert a job type from ``name``, ``job_description`` and optional settings.

        Raises ``Conflict`` when the name is used by another job type.
        """
        with self._transaction() as connection:
            return _insert_job_type(connection, fields)

    def update_job_type(
        self, job_type_id: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Apply the present ``changes`` to a job type and return the result.

        Raises ``NotFound`` for an unknown id and ``Conflict`` when the new
        name belongs to another job type.
        """
        with self._transaction() as connection:
            _job_type_row(connection, job_type_id)
            name = changes.get("name")
            if name is not None:
                _reject_used_job_type_name(connection, name, job_type_id)
            settings = {
                key: changes[key] for key in JOB_TYPE_SETTINGS if key in changes
            }
            if settings:
                assignments = ", ".join(f"{key} = ?" for key in settings)
                values = [_column_value(key, value) for key, value in settings.items()]
                connection.execute(
                    f"UPDATE job_types SET {assignments} WHERE id = ?",
                    [*values, job_type_id],
                )
            return _job_type_record(_job_type_row(connection, job_type_id))

    # Job openings

    def job_openings(self) -> list[dict[str, Any]]:
        """Return all job openings, open and closed, in creation order."""
        with self._transaction() as connection:
            rows = connection.execute("SELECT * FROM job_openings ORDER BY rowid")
            return [_opening_record(row) for row in rows]

    def job_opening_by_token(self, token: str) -> dict[str, Any] | None:
        """Return the job opening of an interview token with its job type name."""
        with self._transaction() as connection:
            row = connection.execute(
                "SELECT job_openings.*, job_types.name AS job_type_name"
                " FROM job_openings JOIN job_types"
                " ON job_types.id = job_openings.job_type_id"
                " WHERE token = ?",
                (token,),
            ).fetchone()
            if row is None:
                return None
            record = _opening_record(row)
            record["job_type_name"] = row["job_type_name"]
            return record

    def create_job_opening(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Insert a job opening from a validated create payload.

        With ``job_type_id`` the opening joins that job type, and an unknown id
        raises ``InvalidRequest``. With an inline ``job_type`` a new job type
        named after the opening is inserted too. A name used by an open
        opening, or by a job type for an inline one, raises ``Conflict``.
        """
        name = payload["name"]
        with self._transaction() as connection:
            job_type_id = payload.get("job_type_id")
            if job_type_id is not None and not _job_type_exists(
                connection, job_type_id
            ):
                raise InvalidRequest(
                    f"job_type_id: no job type with id {job_type_id!r} exists"
                )
            _reject_open_opening_name(connection, name)
            if job_type_id is None:
                inline = {**payload["job_type"], "name": name}
                job_type_id = _insert_job_type(connection, inline)["id"]
            return _insert_opening(connection, payload, job_type_id)

    def close_job_opening(self, opening_id: str) -> dict[str, Any]:
        """Mark a job opening closed, which frees its name, and return it.

        Closing a closed opening changes nothing. Raises ``NotFound`` for an
        unknown id.
        """
        with self._transaction() as connection:
            cursor = connection.execute(
                "UPDATE job_openings SET status = 'closed' WHERE id = ?", (opening_id,)
            )
            if cursor.rowcount == 0:
                raise NotFound(f"job opening {opening_id!r} not found")
            row = connection.execute(
                "SELECT * FROM job_openings WHERE id = ?", (opening_id,)
            ).fetchone()
            return _opening_record(row)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            connection = self._connection
            if connection is None:
                raise RuntimeError("the sandbox database is closed")
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")


def _utc_now() -> str:
    return (
        datetime.now(timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _column_value(key: str, value: Any) -> Any:
    if key in BOOLEAN_COLUMNS:
        return 1 if value else 0
    return value


def _job_type_row(connection: sqlite3.Connection, job_type_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = connection.execute(
        "SELECT * FROM job_types WHERE id = ?", (job_type_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"job type {job_type_id!r} not found")
    return row


def _job_type_exists(connection: sqlite3.Connection, job_type_id: str) -> bool:
    row = connection.execute(
        "SELECT 1 FROM job_types WHERE id = ?", (job_type_id,)
    ).fetchone()
    return row is not None


def _reject_used_job_type_name(
    connection: sqlite3.Connection, name: str, own_id: str | None = None
) -> None:
    row = connection.execute(
        "SELECT id FROM job_types WHERE name = ? AND id IS NOT ?", (name, own_id)
    ).fetchone()
    if row is not None:
        raise Conflict(f"name: a job type named {name!r} already exists ({row['id']})")


def _reject_open_opening_name(connection: sqlite3.Connection, name: str) -> None:
    row = connection.execute(
        "SELECT id FROM job_openings WHERE name = ? AND status = 'open'", (name,)
    ).fetchone()
    if row is not None:
        raise Conflict(
            f"name: an open job opening named {name!r} already exists ({row['id']})."
            " Close it or choose another name"
        )


def _insert_job_type(
    connection: sqlite3.Connection, fields: dict[str, Any]
) -> dict[str, Any]:
    _reject_used_job_type_name(connection, fields["name"])
    values = {
        "id": str(uuid.uuid4()),
        "name": fields["name"],
        "job_description": fields["job_description"],
        "ai_interviewer_guidance": fields.get("ai_interviewer_guidance"),
        "resume_collection_type": fields.get("resume_collection_type"),
        "should_force_fullscreen": bool(fields.get("should_force_fullscreen", False)),
        "should_record_video": bool(fields.get("should_record_video", False)),
    }
    columns = ", ".join(JOB_TYPE_COLUMNS)
    placeholders = ", ".join("?" for _ in JOB_TYPE_COLUMNS)
    connection.execute(
        f"INSERT INTO job_types ({columns}) VALUES ({placeholders})",
        [_column_value(key, values[key]) for key in JOB_TYPE_COLUMNS],
    )
    return _job_type_record(_job_type_row(connection, values["id"]))


def _insert_opening(
    connection: sqlite3.Connection, payload: dict[str, Any], job_type_id: str
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "name": payload["name"],
        "job_type_id": job_type_id,
        "token": secrets.token_urlsafe(12),
        "status": "open",
        "created_at": _utc_now(),
    }
    for key in OPENING_TEXT_FIELDS:
        values[key] = payload.get(key)
    for key in OPENING_JSON_FIELDS:
        values[key] = json.dumps(payload[key]) if payload.get(key) is not None else None
    placeholders = ", ".join("?" for _ in OPENING_COLUMNS)
    try:
        connection.execute(
            f"INSERT INTO job_openings ({', '.join(OPENING_COLUMNS)})"
            f" VALUES ({placeholders})",
            [values[key] for key in OPENING_COLUMNS],
        )
    except sqlite3.IntegrityError as error:
        raise Conflict(f"name: job opening {payload['name']!r} conflicts: {error}")
    row = connection.execute(
        "SELECT * FROM job_openings WHERE id = ?", (values["id"],)
    ).fetchone()
    return _opening_record(row)


def _job_type_record(row: sqlite3.Row) -> dict[str, Any]:
    record = {key: row[key] for key in JOB_TYPE_COLUMNS}
    for key in BOOLEAN_COLUMNS:
        record[key] = bool(record[key])
    record["qualifications"] = derive_qualifications(record["job_description"])
    return record


def _opening_record(row: sqlite3.Row) -> dict[str, Any]:
    record = {key: row[key] for key in OPENING_COLUMNS}
    for key in OPENING_JSON_FIELDS:
        if record[key] is not None:
            record[key] = json.loads(record[key])
    return record
