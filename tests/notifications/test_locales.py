from __future__ import annotations

import pytest

from notifications.content import LocalizedContent, PushContent
from notifications.locales import (
    content_for_locale,
    locale_choose,
    locale_code_error,
    locale_fallbacks,
    locale_normalize,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("fr_CA", "fr_CA"),
        ("fr-CA", "fr_CA"),
        ("FR_ca", "fr_CA"),
        ("fr", "fr"),
        (" de-de ", "de_DE"),
        ("fr_CA.UTF-8", "fr_CA"),
        ("sr_RS@latin", "sr_RS"),
        ("zh-Hant-TW", "zh_TW"),
        ("zh-Hant", "zh"),
        ("es-419", "es"),
        ("", ""),
        ("C", ""),
        ("123", ""),
        ("_CA", ""),
    ],
)
def test_locale_normalize(raw, expected):
    assert locale_normalize(raw) == expected


@pytest.mark.parametrize("raw", ["fr", "fr_CA", "fr-ca", "DE"])
def test_locale_code_accepts_language_and_region(raw):
    assert locale_code_error(raw) is None


@pytest.mark.parametrize("raw", ["", "f", "fra", "fr_CAN", "fr_CA.UTF-8", "zh-Hant", "fr CA"])
def test_locale_code_refuses_anything_else_naming_the_rule(raw):
    assert "such as fr_CA" in (locale_code_error(raw) or "")


def test_fallback_chain_is_full_code_then_language():
    assert locale_fallbacks("fr-ca") == ("fr_CA", "fr")
    assert locale_fallbacks("fr") == ("fr",)
    assert locale_fallbacks("") == ()


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        ("fr_FR", "fr"),
        ("fr_CA", "fr_CA"),
        ("fr-ca", "fr_CA"),
        ("de_DE", "de"),
        ("de_AT", "de"),
        ("ja_JP", None),
        ("", None),
        ("pt_BR", None),
    ],
)
def test_locale_choose(device, expected):
    assert locale_choose({"fr": 1, "fr_CA": 2, "de": 3}, device) == expected


def test_content_for_locale_merges_the_translation_over_the_default():
    push = LocalizedContent.from_dict(
        {
            **PushContent(
                message="Hello", title="Sale", image_url="https://x/en.png", tap_action="url"
            ).to_dict(),
            "translations": {
                "fr": {
                    "title": "",
                    "subtitle": "",
                    "message": "Bonjour",
                    "image_url": "",
                    "tap_uri": "https://x/fr",
                },
            },
        }
    )
    code, french = content_for_locale(push, "fr_BE")
    assert code == "fr"
    assert (french.message, french.title, french.image_url, french.tap_uri) == (
        "Bonjour",
        "",  # a blank title is no title, not the English one
        "https://x/en.png",  # a blank image keeps the default's
        "https://x/fr",
    )
    assert french.tap_action == "url"
    assert content_for_locale(push, "ja_JP") == ("", push.default)
