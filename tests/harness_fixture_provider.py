"""A small dynamic resource that the harness tests drive.

``StoreItem`` keeps one JSON file per resource in the directory named by the
``HARNESS_STORE_DIR`` environment variable. Its ``value`` input changes in place,
while a change of ``key`` replaces the item, deleting the old one first when
``delete_before_replace`` is true. The provider rejects the value ``"bad"``,
raises in ``create`` for the value ``"explode"`` and copies the config values
``harness:greeting`` and ``harness:token`` into its outputs.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown

STORE_DIR_ENV = "HARNESS_STORE_DIR"
REJECTED_VALUE = "bad"
FAILING_VALUE = "explode"
_PROVIDER_KEY = "__provider"


def _store_dir() -> Path:
    directory = os.environ.get(STORE_DIR_ENV)
    if not directory:
        raise RuntimeError(f"set {STORE_DIR_ENV} to the directory for StoreItem files")
    return Path(directory)


def item_path(id_: str) -> Path:
    """Return the file that stores the item with this id."""
    return _store_dir() / f"{id_}.json"


class StoreProvider(ResourceProvider):
    """Provider for ``StoreItem``. Instances hold nothing until ``configure``."""

    def configure(self, req: ConfigureRequest) -> None:
        self.greeting = req.config.get("harness:greeting")
        self.token = req.config.get("harness:token")

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = dict(news)
        value = news.get("value")
        if isinstance(value, Unknown):
            inputs["value_state"] = "unknown"
            return CheckResult(inputs, [])
        if value == REJECTED_VALUE:
            reason = f"value {REJECTED_VALUE!r} is not allowed"
            return CheckResult(inputs, [CheckFailure("value", reason)])
        return CheckResult(inputs, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [
            key
            for key in ("key", "value")
            if key in olds or key in news
            if olds.get(key) != news.get(key)
        ]
        replaces = [key for key in changed if key == "key"]
        return DiffResult(
            changes=bool(changed),
            replaces=replaces,
            delete_before_replace=bool(news.get("delete_before_replace")),
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        if props.get("value") == FAILING_VALUE:
            raise RuntimeError(f"create failed: the value {FAILING_VALUE!r} explodes")
        id_ = uuid.uuid4().hex
        outputs = self._outputs(id_, props)
        item_path(id_).write_text(json.dumps(outputs))
        return CreateResult(id_, outputs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        path = item_path(id_)
        if not path.exists():
            return ReadResult(None, {})
        return ReadResult(id_, json.loads(path.read_text()))

    def update(
        self, id_: str, _olds: dict[str, Any], news: dict[str, Any]
    ) -> UpdateResult:
        outputs = self._outputs(id_, news)
        item_path(id_).write_text(json.dumps(outputs))
        return UpdateResult(outputs)

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        item_path(id_).unlink(missing_ok=True)
        print(f"deleted StoreItem {id_}", flush=True)

    def _outputs(self, id_: str, props: dict[str, Any]) -> dict[str, Any]:
        outputs = {key: val for key, val in props.items() if key != _PROVIDER_KEY}
        outputs["url"] = f"store://{id_}"
        outputs["greeting"] = self.greeting
        outputs["token"] = self.token
        return outputs


class StoreItem(Resource, module="harness", name="StoreItem"):
    """A JSON file in the store directory."""

    key: pulumi.Output[str]
    value: pulumi.Output[str]
    url: pulumi.Output[str]
    greeting: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        *,
        key: pulumi.Input[str],
        value: pulumi.Input[str],
        delete_before_replace: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "key": key,
            "value": value,
            "delete_before_replace": delete_before_replace,
            "url": None,
            "greeting": None,
        }
        super().__init__(StoreProvider(), resource_name, props, opts)
