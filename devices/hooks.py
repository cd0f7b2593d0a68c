"""Hooks through which the app above the device registry (campaigns) takes part in its work
without devices importing it (the layers in DESIGN.md). Campaigns registers each one in
`CampaignsConfig.ready()`; until then, or without campaigns installed, the registry acts as if
no campaign exists: no trigger listens, no push feedback matches a delivery, and a device
has no deliveries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from devices.models import Device
from devices.services.rules import RegistryError


class PushFeedbackRecorder(Protocol):
    """Records (index, activity) push receipts/taps on the deliveries they name, inside the
    caller's transaction; raises RegistryError naming `{field_prefix}.{index}.delivery_id`
    for a delivery that was not sent to `device`."""

    def __call__(
        self, *, device: Device, items: list[tuple[int, dict[str, Any]]], field_prefix: str
    ) -> None: ...


class TriggerKindsLookup(Protocol):
    """The activity kinds the app's active trigger campaigns listen for."""

    def __call__(self, app_id: int) -> Iterable[str]: ...


class ListensSql(Protocol):
    """The same question as a PostgreSQL boolean expression: true when an active trigger
    campaign of the app (the one `%s` parameter) listens for the kind in `kind_column`."""

    def __call__(self, kind_column: str) -> str: ...


class RecentDeliveries(Protocol):
    """The latest pushes sent to a lead or a device, newest first."""

    def __call__(self, *, lead_id: int | None, device_id: int | None, limit: int) -> list[Any]: ...


@dataclass
class _Hooks:
    push_feedback: PushFeedbackRecorder | None = None
    trigger_kinds: TriggerKindsLookup | None = None
    listens_sql: ListensSql | None = None
    deliveries_recent: RecentDeliveries | None = None


_hooks = _Hooks()


def push_feedback_register(recorder: PushFeedbackRecorder) -> None:
    _hooks.push_feedback = recorder


def trigger_listeners_register(*, kinds: TriggerKindsLookup, sql: ListensSql) -> None:
    _hooks.trigger_kinds = kinds
    _hooks.listens_sql = sql


def deliveries_recent_register(lookup: RecentDeliveries) -> None:
    _hooks.deliveries_recent = lookup


def push_feedback_record(
    *, device: Device, items: list[tuple[int, dict[str, Any]]], field_prefix: str
) -> None:
    if _hooks.push_feedback is None:
        index = items[0][0]
        raise RegistryError(
            f"{field_prefix}.{index}.delivery_id",
            "No delivery with this id was sent to this device.",
        )
    _hooks.push_feedback(device=device, items=items, field_prefix=field_prefix)


def trigger_kinds_lookup(app_id: int) -> frozenset[str]:
    if _hooks.trigger_kinds is None:
        return frozenset()
    return frozenset(_hooks.trigger_kinds(app_id))


def listens_sql(kind_column: str) -> str:
    if _hooks.listens_sql is None:
        # Nothing listens; the expression still consumes its `%s` (the app id).
        return "(%s IS NULL AND FALSE)"
    return _hooks.listens_sql(kind_column)


def deliveries_recent(
    *, lead_id: int | None = None, device_id: int | None = None, limit: int = 25
) -> list[Any]:
    if _hooks.deliveries_recent is None:
        return []
    return _hooks.deliveries_recent(lead_id=lead_id, device_id=device_id, limit=limit)
