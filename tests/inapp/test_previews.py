from __future__ import annotations

import pytest
from django.template.loader import render_to_string

from inapp.previews import (
    LAYOUTS,
    InAppButton,
    InAppContent,
    contrast_ratio,
    contrast_warnings,
    preview_build,
)


def _content(layout: str, **fields) -> InAppContent:
    defaults = {
        "title": "Hi {{lead.First Name:default=there}}",
        "body": "Free shipping today",
        "image_url": "https://cdn.example.com/banner.png",
        "buttons": (InAppButton("Shop now", "deep_link", "shop://now", "url", "https://x.io"),),
    }
    defaults.update(fields)
    return InAppContent(layout=layout, **defaults)


def test_contrast_ratio_matches_wcag_reference_values():
    assert contrast_ratio("#000000", "#ffffff") == 21.0
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#ffffff", "#FFFFFF") == 1.0
    assert contrast_ratio("#fff", "#000000") is None  # still being typed
    assert contrast_ratio("red", "#ffffff") is None


def test_low_contrast_warns_with_both_colours_and_the_ratio():
    warnings = contrast_warnings(_content("popup_text", text_color="#777777"))
    assert len(warnings) == 1
    assert "#777777" in warnings[0] and "#ffffff" in warnings[0] and "4.48:1" in warnings[0]
    assert contrast_warnings(_content("popup_text")) == []


def test_popup_body_is_cut_to_three_lines_with_an_ellipsis():
    body = " ".join(["word"] * 60)
    preview = preview_build(_content("popup_text", body=body), values={})
    frame = preview["frames"]["android"][0]
    assert frame["body"]["truncated"] is True
    assert frame["body"]["text"].endswith("…")
    assert len(frame["body"]["text"]) <= 3 * 50 + 2
    assert preview["body_truncated"] is True


def test_tokens_are_filled_for_the_lead_and_defaults_otherwise():
    for_lead = preview_build(_content("popup_text"), values={"First Name": "Ada"})
    anonymous = preview_build(_content("popup_text"), values={})
    assert for_lead["frames"]["ios"][0]["title"]["text"] == "Hi Ada"
    assert anonymous["frames"]["ios"][0]["title"]["text"] == "Hi there"


def test_a_broken_token_is_shown_as_typed_and_reported():
    preview = preview_build(_content("popup_text", body="Hi {{lead.First Name"), values={})
    assert preview["frames"]["ios"][0]["body"]["text"] == "Hi {{lead.First Name"
    assert "body" in preview["token_errors"]


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_each_layout_has_the_right_frames_and_parts(layout):
    family, has_image, has_text = LAYOUTS[layout]
    preview = preview_build(_content(layout), values={})
    orientations = [f["orientation"] for f in preview["frames"]["ios"]]
    assert orientations == (["portrait", "landscape"] if family == "fullscreen" else ["portrait"])
    frame = preview["frames"]["android"][0]
    assert bool(frame["image"]) is has_image
    assert (frame["title"] is not None) is has_text
    assert len(frame["buttons"]) == (1 if has_text else 0)


def test_button_actions_are_per_platform():
    preview = preview_build(_content("popup_text"), values={})
    assert preview["frames"]["android"][0]["buttons"][0]["action"] == "deep_link"
    assert preview["frames"]["ios"][0]["buttons"][0]["uri"] == "https://x.io"


def test_phone_template_draws_every_frame_and_the_warnings():
    preview = preview_build(
        _content("fullscreen_image_text", text_color="#eeeeee"), values={"First Name": "Ada"}
    )
    html = render_to_string("inapp/_phones.html", {"preview": preview})
    assert html.count('class="inapp-phone ') == 4  # 2 platforms × portrait + landscape
    assert html.count("Hi Ada") == 4
    assert 'data-note="contrast"' in html
    assert "Shop now" in html
