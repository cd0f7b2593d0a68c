"""Campaign settings as sentences a marketer reads: audience rows ("City is not London"),
their errors ("Filter 2: the value is required.") and the schedule ("Every Monday at 09:00
UTC").

Pure functions over the stored values (campaigns.audience documents the rows' shape); the
names of apps and pushes a row refers to by id are passed in, so one page renders every row
without a query per row."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from campaigns.audience import FILTERS

PLATFORM_NAMES = {"ios": "iOS", "android": "Android"}
# (holds, does not hold) per bool column.
BOOL_PHRASES = {
    "push_enabled": ("Push is turned on", "Push is turned off"),
    "is_test_device": ("Is a test device", "Is not a test device"),
}
# (did, did not) per activity filter.
ACTIVITY_PHRASES = {
    "installed": ("Installed the app", "Did not install the app"),
    "opened": ("Opened the app", "Did not open the app"),
    "session": ("Had an app session", "Had no app session"),
    "app_activity": ("Did an in-app action", "Did no in-app action"),
    "tapped_push": ("Tapped", "Did not tap"),
    "was_sent_push": ("Was sent", "Was not sent"),
}
# op -> (holds, does not hold)
TEXT_PHRASES = {
    "equals": ("is", "is not"),
    "contains": ("contains", "does not contain"),
    "starts_with": ("starts with", "does not start with"),
    "is_empty": ("is empty", "is not empty"),
}


def _quoted(value: Any) -> str:
    return f"“{value}”"


def _within(row: Mapping[str, Any]) -> str:
    days = row.get("within_days")
    if days in (None, ""):
        return ""
    return " in the last day" if days == 1 else f" in the last {days} days"


def _text(subject: str, row: Mapping[str, Any], negate: bool) -> str:
    op = row.get("op") or "equals"
    holds, fails = TEXT_PHRASES.get(op, TEXT_PHRASES["equals"])
    verb = fails if negate else holds
    if op == "is_empty":
        return f"{subject} {verb}"
    value = row.get("value", "")
    return f"{subject} {verb} {value}" if op == "equals" else f"{subject} {verb} {_quoted(value)}"


def _activity(
    field: str, row: Mapping[str, Any], negate: bool, push_names: Mapping[int, str]
) -> str:
    did, did_not = ACTIVITY_PHRASES[field]
    text = did_not if negate else did
    if field == "app_activity":
        name, kind = row.get("action_name"), row.get("action_type")
        if name:
            text = f"{'Did not do' if negate else 'Did'} the in-app action {_quoted(name)}"
        if kind:
            text += f" of type {_quoted(kind)}"
    elif field in ("tapped_push", "was_sent_push"):
        push_id = row.get("notification_id")
        text += (
            f" the push {_quoted(push_names.get(push_id, f'#{push_id}'))}"
            if push_id
            else " any push"
        )
    return text + _within(row)


def audience_row_sentence(
    row: Mapping[str, Any],
    *,
    app_names: Mapping[int, str] | None = None,
    push_names: Mapping[int, str] | None = None,
) -> str:
    """One filter row as a sentence (negation folded into the verb)."""
    field = row.get("field", "")
    negate = bool(row.get("negate"))
    spec = FILTERS.get(field)
    if spec is None:
        return f"Unknown filter {_quoted(field)}"
    if field == "platform":
        values = row.get("value")
        names = [
            PLATFORM_NAMES.get(str(v), str(v))
            for v in (values if isinstance(values, list) else [values])
        ]
        return f"Platform {'is not' if negate else 'is'} {' or '.join(names)}"
    if field == "app":
        app_id = row.get("value")
        name = (app_names or {}).get(app_id, f"#{app_id}") if isinstance(app_id, int) else "?"
        return f"{'Does not have' if negate else 'Has'} the app {_quoted(name)}"
    if spec.kind == "bool":
        holds = bool(row.get("value", True)) != negate
        yes, no = BOOL_PHRASES[field]
        return yes if holds else no
    if spec.kind == "text":
        return _text(str(spec.label), row, negate)
    if spec.kind == "lead_field":
        return _text(str(row.get("lead_field", "")).strip() or "Lead field", row, negate)
    return _activity(field, row, negate, push_names or {})


def audience_sentences(
    rows: list[dict[str, Any]],
    *,
    app_names: Mapping[int, str] | None = None,
    push_names: Mapping[int, str] | None = None,
) -> list[str]:
    return [audience_row_sentence(r, app_names=app_names, push_names=push_names) for r in rows]


AUDIENCE_FIELD_RE = re.compile(r"^audience\[(\d+)\]\.?(\w*)$")
OPERAND_NAMES = {
    "field": "the filter",
    "value": "the value",
    "op": "the comparison",
    "lead_field": "the lead field name",
    "within_days": "the number of days",
    "negate": "the NOT switch",
    "notification_id": "the push",
    "action_name": "the action name",
    "action_type": "the action type",
    "details": "the details",
}


def audience_error_text(field: str, rule: str) -> str:
    """A RuleError about a filter row as a sentence: "Filter 2: the value is required."."""
    match = AUDIENCE_FIELD_RE.match(field)
    if match is None:
        return f"{field.replace('_', ' ').capitalize()} {rule}."
    index, operand = match.groups()
    subject = OPERAND_NAMES.get(operand, operand.replace("_", " ")) if operand else "it"
    rule = rule.split(" (")[0]  # the hint in brackets is for API callers
    return f"Filter {int(index) + 1}: {subject} {rule}."


def schedule_sentence(kind: str, spec: Mapping[str, Any]) -> str:
    """A recurring or local-time schedule in words ("" for the other kinds)."""
    if kind == "recurring":
        day = spec.get("weekday") if spec.get("frequency") == "weekly" else None
        every = f"Every {str(day).capitalize()}" if day else "Every day"
        return f"{every} at {spec.get('time')} UTC"
    if kind == "local_time":
        return f"On {spec.get('date')} at {spec.get('time')} in each device's time zone"
    return ""


def trigger_sentence(trigger: Mapping[str, Any], *, push_name: str = "") -> list[str]:
    """The trigger's constraints beyond its event, in words."""
    names = {"action_name": "named", "action_type": "of type", "details": "with details"}
    parts = [
        f"{names[key]} {_quoted(value)}"
        for key, value in trigger.items()
        if key in names and value not in (None, "")
    ]
    if trigger.get("notification_id"):
        parts.append(f"the push {_quoted(push_name or '#' + str(trigger['notification_id']))}")
    return parts
