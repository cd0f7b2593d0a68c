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

from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from campaigns.audience import FILTERS

PLATFORM_NAMES = {"ios": "iOS", "android": "Android"}
# The weekdays as the schedule sentence names them (their stored keys are English).
WEEKDAY_NAMES = {
    "monday": pgettext_lazy("weekday in a sentence", "Monday"),
    "tuesday": pgettext_lazy("weekday in a sentence", "Tuesday"),
    "wednesday": pgettext_lazy("weekday in a sentence", "Wednesday"),
    "thursday": pgettext_lazy("weekday in a sentence", "Thursday"),
    "friday": pgettext_lazy("weekday in a sentence", "Friday"),
    "saturday": pgettext_lazy("weekday in a sentence", "Saturday"),
    "sunday": pgettext_lazy("weekday in a sentence", "Sunday"),
}
# (holds, does not hold) per bool column.
BOOL_PHRASES = {
    "push_enabled": (_("Push is turned on"), _("Push is turned off")),
    "is_test_device": (_("Is a test device"), _("Is not a test device")),
}
# (did, did not) per activity filter.
ACTIVITY_PHRASES = {
    "installed": (_("Installed the app"), _("Did not install the app")),
    "opened": (_("Opened the app"), _("Did not open the app")),
    "session": (_("Had an app session"), _("Had no app session")),
    "app_activity": (_("Did an in-app action"), _("Did no in-app action")),
    "tapped_push": (pgettext_lazy("audience filter", "Tapped"), _("Did not tap")),
    "was_sent_push": (_("Was sent"), _("Was not sent")),
}
# op -> (holds, does not hold)
TEXT_PHRASES = {
    "equals": (_("is"), _("is not")),
    "contains": (_("contains"), _("does not contain")),
    "starts_with": (_("starts with"), _("does not start with")),
    "is_empty": (_("is empty"), _("is not empty")),
}


def _quoted(value: Any) -> str:
    return f"“{value}”"


def _within(row: Mapping[str, Any]) -> str:
    days = row.get("within_days")
    if days in (None, ""):
        return ""
    if not isinstance(days, int):
        return gettext(" in the last %(days)s days") % {"days": days}
    return ngettext(" in the last day", " in the last %(days)s days", days) % {"days": days}


def _text(subject: str, row: Mapping[str, Any], negate: bool) -> str:
    op = row.get("op") or "equals"
    holds, fails = TEXT_PHRASES.get(op, TEXT_PHRASES["equals"])
    verb = str(fails if negate else holds)
    if op == "is_empty":
        return f"{subject} {verb}"
    value = row.get("value", "")
    return f"{subject} {verb} {value}" if op == "equals" else f"{subject} {verb} {_quoted(value)}"


def _activity(
    field: str, row: Mapping[str, Any], negate: bool, push_names: Mapping[int, str]
) -> str:
    did, did_not = ACTIVITY_PHRASES[field]
    text = str(did_not if negate else did)
    if field == "app_activity":
        name, kind = row.get("action_name"), row.get("action_type")
        if name:
            text = (
                gettext("Did not do the in-app action %(name)s")
                if negate
                else gettext("Did the in-app action %(name)s")
            ) % {"name": _quoted(name)}
        if kind:
            text += gettext(" of type %(kind)s") % {"kind": _quoted(kind)}
    elif field in ("tapped_push", "was_sent_push"):
        push_id = row.get("notification_id")
        if push_id:
            pushed = _quoted(push_names.get(push_id, f"#{push_id}"))
            text += gettext(" the push %(push)s") % {"push": pushed}
        else:
            text += gettext(" any push")
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
        return gettext("Unknown filter %(field)s") % {"field": _quoted(field)}
    if field == "platform":
        values = row.get("value")
        names = [
            PLATFORM_NAMES.get(str(v), str(v))
            for v in (values if isinstance(values, list) else [values])
        ]
        either = gettext(" or ").join(names)
        if negate:
            return gettext("Platform is not %(platforms)s") % {"platforms": either}
        return gettext("Platform is %(platforms)s") % {"platforms": either}
    if field == "app":
        app_id = row.get("value")
        name = (app_names or {}).get(app_id, f"#{app_id}") if isinstance(app_id, int) else "?"
        if negate:
            return gettext("Does not have the app %(app)s") % {"app": _quoted(name)}
        return gettext("Has the app %(app)s") % {"app": _quoted(name)}
    if spec.kind == "bool":
        holds = bool(row.get("value", True)) != negate
        yes, no = BOOL_PHRASES[field]
        return str(yes if holds else no)
    if spec.kind == "text":
        return _text(str(spec.label), row, negate)
    if spec.kind == "lead_field":
        subject = str(row.get("lead_field", "")).strip() or gettext("Lead field")
        return _text(subject, row, negate)
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
        if day:
            day_name = WEEKDAY_NAMES.get(str(day), str(day).capitalize())
            return gettext("Every %(day)s at %(time)s UTC") % {
                "day": day_name,
                "time": spec.get("time"),
            }
        return gettext("Every day at %(time)s UTC") % {"time": spec.get("time")}
    if kind == "local_time":
        return gettext("On %(date)s at %(time)s in each device's time zone") % {
            "date": spec.get("date"),
            "time": spec.get("time"),
        }
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


def ab_send_note(*, control_percent: int, winner_mode: bool, test_percent: int | None) -> str:
    """What a send's confirmation adds for an A/B test, whose reach counts every device of the
    audience: the share held out as the control, and in winner mode the share tested first."""
    notes = []
    if winner_mode and test_percent:
        # xgettext:no-python-format
        note = gettext("The test goes to {percent}% of them first; the winner to the rest.")
        notes.append(note.format(percent=test_percent))
    if control_percent:
        # xgettext:no-python-format
        note = gettext("A control group of {percent}% gets nothing.")
        notes.append(note.format(percent=control_percent))
    return " ".join(notes)
