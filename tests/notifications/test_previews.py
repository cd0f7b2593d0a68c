from __future__ import annotations

import pytest

from notifications.content import PushContent
from notifications.payloads import MAX_PAYLOAD_BYTES
from notifications.previews import (
    ELLIPSIS,
    RULES,
    clip,
    payload_sizes,
    preview_build,
)
from tests.factories import MobileAppFactory

LONG = "Our biggest spring sale ever starts today with deals on every single item in the store"


def test_clip_leaves_short_text_alone():
    result = clip("Hello there", RULES["android_collapsed_body"])
    assert (result.text, result.truncated) == ("Hello there", False)


def test_android_collapsed_body_is_one_line_of_50():
    result = clip(LONG, RULES["android_collapsed_body"])
    assert result.truncated
    assert result.text.endswith(ELLIPSIS)
    assert "\n" not in result.text
    assert len(result.text) <= 50


def test_one_line_layouts_show_line_breaks_as_spaces():
    result = clip("Line one\nLine two", RULES["android_collapsed_body"])
    assert result.text == "Line one Line two"


def test_android_expanded_body_keeps_eight_lines():
    text = "\n".join(f"line {i}" for i in range(1, 12))
    result = clip(text, RULES["android_expanded_body"])
    lines = result.text.split("\n")
    assert len(lines) == 8
    assert lines[-1] == "line 8" + ELLIPSIS
    assert result.truncated


def test_ios_body_is_four_lines_and_at_most_178_characters():
    result = clip(LONG * 3, RULES["ios_body"])
    assert result.truncated
    assert len(result.text) <= 178
    assert len(result.lines) == 4
    assert all(len(line) <= 44 for line in result.lines)
    # Soft wraps come back as spaces: the text reads as the marketer wrote it.
    assert "\n" not in result.text and result.text.startswith(LONG[:60])


def test_ios_body_char_cap_applies_even_within_four_lines():
    rule = RULES["ios_body"]
    text = "x" * 44 + "\n" + "y" * 44 + "\n" + "z" * 44 + "\n" + "w" * 44  # 179 with breaks
    assert len(clip(text, rule).lines) == 4
    result = clip(text, rule)
    assert len(result.text) == rule.max_chars
    assert result.text.endswith(ELLIPSIS)


def test_ios_title_is_one_line():
    result = clip("A title that is much too long to fit on one line", RULES["ios_title"])
    assert len(result.text) <= 35 and result.truncated


@pytest.mark.django_db
def test_preview_is_derived_from_the_payloads_and_rendered_for_the_lead():
    app = MobileAppFactory(name="Acme", ios_bundle_id="com.acme")
    content = PushContent(
        title="Hi {{lead.First Name:default=there}}",
        subtitle="Spring",
        message=LONG,
        image_url="http://testserver/media/push-images/a.jpg",
        tap_action="deep_link",
        tap_uri="acme://sale/{{lead.First Name:default=all}}",
        badge=3,
    )
    result = preview_build(content, app=app, values={"First Name": "Ann"})
    android, ios = result["android"], result["ios"]
    assert android["collapsed"]["title"]["text"] == "Hi Ann"
    assert android["collapsed"]["body"]["truncated"] is True
    # With an image the expanded Android form is the big picture under a one-line body.
    assert android["image"] == content.image_url
    assert "\n" not in android["expanded"]["body"]["text"]
    assert android["tap"] == "acme://sale/Ann"
    assert android["badge"] == 3 and android["sound"] is True
    assert ios["banner"]["subtitle"]["text"] == "Spring"
    assert ios["expanded"]["body"] == LONG
    assert ios["image"] == content.image_url
    assert ios["app_name"] == "Acme"
    assert result["app_icon"] == ""
    assert result["token_errors"] == {}
    assert result["meter"]["android"]["level"] == "ok"


@pytest.mark.django_db
def test_preview_uses_defaults_without_a_lead_and_hides_disabled_platforms():
    content = PushContent(message="Hi {{lead.First Name:default=there}}", android_enabled=False)
    result = preview_build(content, app=None, values={})
    assert result["android"] is None
    assert result["meter"]["android"] is None
    assert result["ios"]["banner"]["body"]["text"] == "Hi there"
    assert result["ios"]["app_name"] == "Your app"


@pytest.mark.django_db
def test_preview_reports_token_errors_and_shows_the_text_as_typed():
    content = PushContent(message="Hi {{lead.First Name}}")
    result = preview_build(content, app=None, values={})
    assert "needs a default" in result["token_errors"]["message"]
    assert result["ios"]["banner"]["body"]["text"] == "Hi {{lead.First Name}}"


def test_meter_counts_tokens_at_field_maximum_length():
    plain = payload_sizes(PushContent(message="Hi "))
    with_token = payload_sizes(PushContent(message="Hi {{lead.First Name:default=x}}"))
    # First Name is a 100-character column: the worst case is 100 bytes more than no value.
    assert with_token.apns - plain.apns == 100
    assert with_token.fcm - plain.fcm == 100


def test_meter_counts_a_long_default_when_longer_than_the_field():
    default = "d" * 150
    plain = payload_sizes(PushContent(message="Hi "))
    sized = payload_sizes(PushContent(message="Hi {{lead.First Name:default=" + default + "}}"))
    assert sized.apns - plain.apns == 150


def test_meter_flags_oversize_payload_with_the_reason():
    sizes = payload_sizes(PushContent(message="x" * 4000))
    assert sizes.apns > MAX_PAYLOAD_BYTES
    problems = sizes.problems()
    assert any("iOS (APNs)" in p and "limit is 4,096" in p for p in problems)


def test_meter_ignores_disabled_platform():
    sizes = payload_sizes(PushContent(message="x" * 4000, ios_enabled=False, android_enabled=True))
    assert sizes.apns is None
    assert sizes.fcm > MAX_PAYLOAD_BYTES


@pytest.mark.django_db
def test_meter_levels_warn_near_the_limit():
    result = preview_build(PushContent(message="x" * 3500), app=None, values={})
    assert result["meter"]["ios"]["level"] == "warn"
    assert "fits" in result["meter"]["ios"]["text"]
    result = preview_build(PushContent(message="x" * 4100), app=None, values={})
    assert result["meter"]["ios"]["level"] == "bad"
    assert "too big by" in result["meter"]["ios"]["text"]
    assert result["meter"]["problems"]
