from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from tests.i18n_checks import catalogue_entries, unmarked_in_directory, unmarked_strings

TEMPLATES = Path(settings.BASE_DIR) / "templates"
CATALOGUE = Path(settings.BASE_DIR) / "locale" / "fr" / "LC_MESSAGES" / "django.po"


def test_every_template_string_is_marked_for_translation():
    found = unmarked_in_directory(TEMPLATES)
    assert found == {}, "Mark these with {% translate %} / {% blocktranslate %}: " + repr(found)


def test_checker_finds_plain_text():
    source = '{% load i18n %}<h1>{% translate "Campaigns" %}</h1><p>Send now</p>'
    assert unmarked_strings(source) == ["Send now"]


def test_checker_finds_text_around_variables():
    assert unmarked_strings("<p>{{ n }} devices</p>") == ["… devices"]


@pytest.mark.parametrize("attribute", ["title", "aria-label", "placeholder", "alt", "data-confirm"])
def test_checker_finds_user_facing_attributes(attribute):
    source = f'<input {attribute}="Search leads" name="q" class="wide">'
    assert unmarked_strings(source) == [f'{attribute}="Search leads"']


def test_checker_finds_submit_button_values():
    assert unmarked_strings('<input type="submit" value="Save">') == ['value="Save"']


def test_checker_accepts_marked_text_brands_and_code():
    source = (
        '{% load i18n %}<a href="/x" class="btn">{% translate "Open" %}</a> FCM · APNs '
        "{% blocktranslate with n=count %}{{ n }} devices{% endblocktranslate %}"
        "{# a note #}{% comment %}Why: here{% endcomment %}"
        '<input name="q" value="{{ q }}" placeholder="{% translate "Search" %}">'
        '<script>const label = "ignored";</script><style>.a{color:red}</style>&nbsp;— 12'
        '<code>pm_data</code><input placeholder="lead@example.com">'
    )
    assert unmarked_strings(source) == []


def test_catalogue_translates_every_string():
    entries = catalogue_entries(CATALOGUE)
    assert len(entries) > 300  # the whole UI, not a stub
    assert [entry.msgid for entry in entries if not entry.translated] == []
