"""Request validation against the OpenAPI documents shipped in ``openapi/``.

The sandbox checks bodies only against the published schemas, so a client
that passes here is held to Alpharun's rules and not to stricter ones of its
own. Each rejection becomes an ``InvalidRequest`` whose message starts with
the field path, e.g. ``job_type.job_description: ... is too short``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from importlib import resources
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator

from .errors import InvalidRequest

CREATE_JOB_OPENING_DOCUMENT = "create-job-opening.yaml"
UPDATE_JOB_TYPE_DOCUMENT = "update-job-type.yaml"

FORMAT_NAMES = {"email": "email address", "uuid": "UUID", "date-time": "date-time"}
SHOWN_VALUE_MAX_CHARS = 40


def load_document(file_name: str) -> dict[str, Any]:
    """Read one OpenAPI document from the package's ``openapi`` folder."""
    text = (
        resources.files(__package__)
        .joinpath("openapi", file_name)
        .read_text(encoding="utf-8")
    )
    document = yaml.safe_load(text)
    if not isinstance(document, dict):
        raise TypeError(f"{file_name}: expected an OpenAPI mapping at the top")
    return document


def resolve_refs(node: Any, document: dict[str, Any]) -> Any:
    """Return a copy of ``node`` with every local ``$ref`` replaced by its target.

    Only references inside the same document (``#/...``) are supported. The
    shipped documents have no reference cycles, so inlining terminates.
    """
    if isinstance(node, list):
        return [resolve_refs(item, document) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return resolve_refs(_follow_pointer(node["$ref"], document), document)
    return {key: resolve_refs(value, document) for key, value in node.items()}


def _follow_pointer(reference: str, document: dict[str, Any]) -> Any:
    if not reference.startswith("#/"):
        raise ValueError(f"unsupported $ref {reference!r}: only '#/...' is resolved")
    target: Any = document
    for part in reference[2:].split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target


def request_schema(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    """Return the resolved JSON request body schema of one operation."""
    operation = document["paths"][path][method]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    resolved: dict[str, Any] = resolve_refs(schema, document)
    _allow_null_in_nullable_enums(resolved)
    return resolved


def _allow_null_in_nullable_enums(node: Any) -> None:
    # NOTE: openapi-schema-validator 0.9 checks `enum` even for a null value in
    # a schema with `nullable: true`. The update document states that null
    # clears resume_collection_type, so null is added to such enums here.
    if isinstance(node, list):
        for item in node:
            _allow_null_in_nullable_enums(item)
        return
    if not isinstance(node, dict):
        return
    enum = node.get("enum")
    if node.get("nullable") is True and isinstance(enum, list) and None not in enum:
        node["enum"] = [*enum, None]
    for value in node.values():
        _allow_null_in_nullable_enums(value)


class PayloadValidator:
    """Validator for one request body schema, with field-named error messages."""

    def __init__(self, schema: dict[str, Any]) -> None:
        OAS30Validator.check_schema(schema)
        self.schema = schema
        self._validator = OAS30Validator(
            schema, format_checker=OAS30Validator.FORMAT_CHECKER
        )

    def validate(self, payload: Any) -> None:
        """Raise ``InvalidRequest`` naming the first field that breaks the schema.

        Strings that UTF-8 cannot encode are rejected first, because SQLite
        and the JSON responses cannot store or echo them. A body that carries
        the distinguishing required fields of more than one ``oneOf`` branch
        is rejected even when only one branch validates, because the
        published operation takes either one or the other.
        """
        check_utf8_text(payload)
        for error in self._validator.iter_errors(payload):
            raise InvalidRequest(describe_error(error))
        branches = self.schema.get("oneOf")
        if isinstance(branches, list) and isinstance(payload, dict):
            present = _present_branch_keys(branches, payload)
            if len(present) > 1:
                raise InvalidRequest(_exclusive_message(branches))


def check_utf8_text(payload: Any) -> None:
    """Raise ``InvalidRequest`` naming the first string or key UTF-8 cannot encode.

    ``json.loads`` turns an escaped lone surrogate such as ``"\\ud800"`` into a
    Python string that ``str.encode("utf-8")`` rejects. The message leaves the
    string out, so the error response itself can be encoded.
    """
    pending: list[tuple[list[Any], Any]] = [([], payload)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            _check_utf8(path, value, "the string")
        elif isinstance(value, list):
            children = [([*path, index], item) for index, item in enumerate(value)]
            pending.extend(reversed(children))
        elif isinstance(value, dict):
            for key in value:
                if isinstance(key, str):
                    _check_utf8(path, key, "a field name")
            children = [([*path, key], item) for key, item in value.items()]
            pending.extend(reversed(children))


def _check_utf8(path: list[Any], text: str, label: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        code_point = ord(text[error.start])
        raise InvalidRequest(
            f"{field_path(path)}: {label} contains U+{code_point:04X}, a lone"
            " surrogate that cannot be encoded as UTF-8"
        ) from None


def describe_error(error: Any) -> str:
    """Return ``"<field>: <problem>"`` for a jsonschema ``ValidationError``."""
    if error.validator == "oneOf":
        return _describe_one_of(error)
    if error.validator == "additionalProperties" and error.validator_value is False:
        return _describe_unknown_field(error)
    if error.validator == "required":
        missing = _missing_properties(error)
        return (
            f"{field_path([*error.absolute_path, missing])}: required field is missing"
        )
    return f"{field_path(error.absolute_path)}: {_problem(error)}"


def field_path(parts: Iterable[Any]) -> str:
    """Render a path such as ``['owner_emails', 1]`` as ``owner_emails[1]``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"


def show_value(value: Any) -> str:
    """Render a JSON value for a message, shortened past 40 characters."""
    text = json.dumps(value, ensure_ascii=False)
    if len(text) <= SHOWN_VALUE_MAX_CHARS:
        return text
    return text[: SHOWN_VALUE_MAX_CHARS - 3] + "..."


def _problem(error: Any) -> str:
    kind = error.validator
    limit = error.validator_value
    shown = show_value(error.instance)
    if kind in ("minLength", "maxLength"):
        bound = "short" if kind == "minLength" else "long"
        word = "minimum" if kind == "minLength" else "maximum"
        size = len(error.instance)
        return f"{shown} is too {bound} ({size} characters), {word} {limit} characters"
    if kind == "type":
        return f"{shown} is not of type {limit}"
    if kind == "format":
        return f"{shown} is not a valid {FORMAT_NAMES.get(limit, limit)}"
    if kind == "enum":
        allowed = ", ".join(json.dumps(item) for item in limit)
        return f"{shown} is not one of {allowed}"
    if kind in ("minimum", "maximum"):
        return _bound_problem(error, shown)
    return str(error.message)


def _bound_problem(error: Any, shown: str) -> str:
    limit = error.validator_value
    if error.validator == "minimum":
        if error.schema.get("exclusiveMinimum") is True:
            return f"{shown} must be greater than {limit}"
        return f"{shown} is less than the minimum of {limit}"
    if error.schema.get("exclusiveMaximum") is True:
        return f"{shown} must be less than {limit}"
    return f"{shown} is more than the maximum of {limit}"


def _describe_unknown_field(error: Any) -> str:
    known = error.schema.get("properties", {})
    unknown = [name for name in error.instance if name not in known]
    allowed = ", ".join(sorted(known))
    return (
        f"{field_path([*error.absolute_path, unknown[0]])}: unknown field,"
        f" expected one of {allowed}"
    )


def _missing_properties(error: Any) -> str:
    instance = error.instance if isinstance(error.instance, dict) else {}
    for name in error.validator_value:
        if name not in instance:
            return str(name)
    return str(error.validator_value[0])


def _describe_one_of(error: Any) -> str:
    branches = error.validator_value
    payload = error.instance
    if not isinstance(payload, dict):
        shown = show_value(payload)
        return f"{field_path(error.absolute_path)}: {shown} is not of type object"
    present = _present_branch_keys(branches, payload)
    if len(present) > 1:
        return _exclusive_message(branches)
    if not present:
        names = " or ".join(_distinct_keys(branches))
        return f"{names}: exactly one of them is required"
    index = present[0]
    for sub_error in error.context:
        if (
            sub_error.relative_schema_path
            and sub_error.relative_schema_path[0] == index
        ):
            return describe_error(sub_error)
    return f"{field_path(error.absolute_path)}: {error.message}"


def _distinct_keys(branches: list[dict[str, Any]]) -> list[str]:
    """Return, per branch, the first required key that no other branch requires."""
    keys = []
    for index, branch in enumerate(branches):
        others = {
            name
            for other_index, other in enumerate(branches)
            if other_index != index
            for name in other.get("required", [])
        }
        own = [name for name in branch.get("required", []) if name not in others]
        keys.append(own[0] if own else "")
    return keys


def _present_branch_keys(
    branches: list[dict[str, Any]], payload: dict[str, Any]
) -> list[int]:
    keys = _distinct_keys(branches)
    return [index for index, key in enumerate(keys) if key and key in payload]


def _exclusive_message(branches: list[dict[str, Any]]) -> str:
    names = " and ".join(_distinct_keys(branches))
    return f"{names}: send exactly one of them, not both"


def create_job_opening_validator() -> PayloadValidator:
    """Build the validator for ``POST /job-openings`` bodies."""
    document = load_document(CREATE_JOB_OPENING_DOCUMENT)
    return PayloadValidator(request_schema(document, "/job-openings", "post"))


def update_job_type_schema() -> dict[str, Any]:
    """Return the resolved ``PATCH /job-types/{JOB_TYPE_ID}`` body schema."""
    document = load_document(UPDATE_JOB_TYPE_DOCUMENT)
    return request_schema(document, "/job-types/{JOB_TYPE_ID}", "patch")


def update_job_type_validator() -> PayloadValidator:
    """Build the validator for ``PATCH /job-types/{id}`` bodies."""
    return PayloadValidator(update_job_type_schema())


def dashboard_job_type_validator() -> PayloadValidator:
    """Build the validator for job types made as in the dashboard.

    The limits are those of the update payload, with ``name`` and
    ``job_description`` required because a new job type needs both.
    """
    schema = copy.deepcopy(update_job_type_schema())
    schema["required"] = ["name", "job_description"]
    return PayloadValidator(schema)
