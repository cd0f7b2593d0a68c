from __future__ import annotations

import pytest
from django.urls import reverse

from notifications.history import HistoryLine, history_line


@pytest.mark.parametrize(
    ("action", "details", "text"),
    [
        ("created", {}, "Created"),
        ("approved", {}, "Approved"),
        ("edited", {"fields": ["title", "tap_uri"]}, "Changed the title and link"),
        ("edited", {"fields": ["message"]}, "Changed the message"),
        (
            "sample_sent",
            {"run_id": 3, "devices": ["Ana's iPhone", "Pixel 8"], "rendered_as": "ana@example.com"},
            "Sample sent to Ana's iPhone and Pixel 8, personalized for ana@example.com",
        ),
        (
            "sample_sent",
            {"run_id": 3, "devices": ["Pixel 8"], "rendered_as": ""},
            "Sample sent to Pixel 8",
        ),
        (
            "delete_refused",
            {"campaigns": ["Weekly", "Spring"]},
            "Not deleted: Weekly and Spring use it",
        ),
        ("something_new", {"secret_key": 1}, "Something new"),
    ],
)
def test_history_entry_reads_as_a_sentence(action, details, text):
    line = history_line(action, details)
    assert line == HistoryLine(text)
    assert "run_id" not in line.text and "rendered_as" not in line.text


def test_clone_links_the_other_push(db):
    line = history_line("cloned", {"from_id": 7})
    assert line == HistoryLine(
        "Created as a copy of", reverse("notification-detail", args=[7]), "push #7"
    )


@pytest.mark.parametrize(
    ("details", "text"),
    [
        ({"fields": [], "translations": ["fr"]}, "Changed the fr translation"),
        (
            {"fields": ["title"], "translations": ["de", "fr_CA"]},
            "Changed the title and de and fr_CA translations",
        ),
    ],
)
def test_edited_translations_are_named(details, text):
    assert history_line("edited", details) == HistoryLine(text)
