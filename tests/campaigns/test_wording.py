from __future__ import annotations

import pytest

from campaigns.wording import (
    audience_error_text,
    audience_row_sentence,
    audience_sentences,
    schedule_sentence,
    trigger_sentence,
)


@pytest.mark.parametrize(
    ("row", "sentence"),
    [
        (
            {
                "field": "lead_field",
                "lead_field": "City",
                "op": "equals",
                "value": "London",
                "negate": True,
            },
            "City is not London",
        ),
        (
            {"field": "lead_field", "lead_field": "City", "op": "equals", "value": "London"},
            "City is London",
        ),
        (
            {"field": "lead_field", "lead_field": "Email", "op": "is_empty", "negate": True},
            "Email is not empty",
        ),
        ({"field": "locale", "op": "starts_with", "value": "fr"}, "Locale starts with “fr”"),
        (
            {"field": "device_model", "op": "contains", "value": "Pixel", "negate": True},
            "Device model does not contain “Pixel”",
        ),
        ({"field": "platform", "value": "ios"}, "Platform is iOS"),
        (
            {"field": "platform", "value": ["ios", "android"], "negate": True},
            "Platform is not iOS or Android",
        ),
        ({"field": "push_enabled", "value": True}, "Push is turned on"),
        ({"field": "push_enabled", "value": True, "negate": True}, "Push is turned off"),
        ({"field": "is_test_device", "value": False}, "Is not a test device"),
        ({"field": "opened", "within_days": 7}, "Opened the app in the last 7 days"),
        (
            {"field": "installed", "within_days": 1, "negate": True},
            "Did not install the app in the last day",
        ),
        ({"field": "session"}, "Had an app session"),
        ({"field": "app_activity", "action_name": "purchase"}, "Did the in-app action “purchase”"),
        ({"field": "tapped_push"}, "Tapped any push"),
        (
            {"field": "was_sent_push", "notification_id": 4, "negate": True, "within_days": 30},
            "Was not sent the push “Welcome” in the last 30 days",
        ),
        ({"field": "app", "value": 2}, "Has the app “Acme”"),
    ],
)
def test_filter_row_reads_as_a_sentence(row, sentence):
    assert audience_row_sentence(row, app_names={2: "Acme"}, push_names={4: "Welcome"}) == sentence


def test_sentences_never_show_field_codes():
    rows = [
        {
            "field": "lead_field",
            "lead_field": "City",
            "op": "equals",
            "value": "London",
            "negate": True,
        },
        {"field": "push_enabled", "value": True, "negate": False},
    ]
    text = " ".join(audience_sentences(rows))
    for code in ("lead_field", "op:", "NOT", "negate", "push_enabled"):
        assert code not in text


@pytest.mark.parametrize(
    ("field", "rule", "text"),
    [
        (
            "audience[1].lead_field",
            "is required (a standard or custom field name)",
            "Filter 2: the lead field name is required.",
        ),
        ("audience[0].value", "is required", "Filter 1: the value is required."),
        (
            "audience[2].within_days",
            "must be a whole number of days, 1-3650",
            "Filter 3: the number of days must be a whole number of days, 1-3650.",
        ),
        ("app", "is required: pick a mobile app", "App is required: pick a mobile app."),
    ],
)
def test_audience_errors_read_as_sentences(field, rule, text):
    assert audience_error_text(field, rule) == text


@pytest.mark.parametrize(
    ("kind", "spec", "text"),
    [
        (
            "recurring",
            {"frequency": "weekly", "weekday": "monday", "time": "09:00"},
            "Every Monday at 09:00 UTC",
        ),
        ("recurring", {"frequency": "daily", "time": "18:30"}, "Every day at 18:30 UTC"),
        (
            "local_time",
            {"date": "2026-12-24", "time": "10:00"},
            "On 2026-12-24 at 10:00 in each device's time zone",
        ),
        ("now", {}, ""),
    ],
)
def test_schedules_read_as_sentences(kind, spec, text):
    assert schedule_sentence(kind, spec) == text


def test_trigger_constraints_read_as_words():
    trigger = {
        "event": "custom_action",
        "action_name": "purchase",
        "details": "",
        "notification_id": 4,
    }
    assert trigger_sentence(trigger, push_name="Welcome") == [
        "named “purchase”",
        "the push “Welcome”",
    ]
