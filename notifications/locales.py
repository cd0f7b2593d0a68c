"""Which language a device gets: the one choice between a push's default content and its
translations. Pure functions, no I/O, so the send path (once per device), the composer's
previews and the audience panel all make the same choice.

A/B tests pick *which push* a device gets; this module then picks *which language of that
push*: `content_for_locale(push, device_locale)` is the only call the send path makes.

Device locales are free text from the SDK (`fr_CA`, `fr-CA`, `fr`, `FR_ca`, `fr_CA.UTF-8`,
`zh-Hant-TW`); `locale_normalize` turns them into the stored form of translation codes:
`ll` or `ll_RR` (language lower case, region upper case). The fallback chain is the device's
full code, then its language alone, then the default content: `fr_CA` → `fr` → default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar

from django.utils.translation import gettext_lazy

from notifications.content import LocalizedContent, PushContent

# The codes a translation may have: a two-letter language, optionally a two-letter region.
LOCALE_CODE_RE = re.compile(r"^[a-z]{2}(_[A-Z]{2})?$")
LOCALE_CODE_RULE = gettext_lazy(
    "must be a language code such as fr, or a language and region such as fr_CA"
)
# POSIX locales carry an encoding and a modifier (fr_CA.UTF-8@euro); neither names a language.
_POSIX_SUFFIX_RE = re.compile(r"[.@].*$")
_SUBTAG_SPLIT_RE = re.compile(r"[-_\s]+")

T = TypeVar("T")


def locale_normalize(raw: str) -> str:
    """A device or typed locale in the stored form (`fr_CA`, `fr`), or "" when it names no
    language. Script subtags (`Hant`) and variants are dropped: translations are per language
    and region only."""
    subtags = _SUBTAG_SPLIT_RE.split(_POSIX_SUFFIX_RE.sub("", raw.strip()))
    if not re.fullmatch(r"[A-Za-z]{2}", subtags[0]):
        return ""
    language = subtags[0].lower()
    region = next((s.upper() for s in subtags[1:] if re.fullmatch(r"[A-Za-z]{2}", s)), "")
    return f"{language}_{region}" if region else language


def locale_code_error(raw: str) -> str | None:
    """Why `raw` cannot be a translation's code (None when it can, once normalised).
    Accepts `fr`, `fr_CA` and `fr-CA` in any case; refuses scripts, encodings and junk so a
    typo never becomes a translation no device can match."""
    if not re.fullmatch(r"[A-Za-z]{2}([-_][A-Za-z]{2})?", raw.strip()):
        return str(LOCALE_CODE_RULE)
    return None


def locale_fallbacks(device_locale: str) -> tuple[str, ...]:
    """The translation codes to try, most specific first: `fr-ca` → ("fr_CA", "fr")."""
    code = locale_normalize(device_locale)
    if not code:
        return ()
    language = code.split("_", 1)[0]
    return (code, language) if language != code else (code,)


def locale_choose(available: Mapping[str, T], device_locale: str) -> str | None:
    """The code of the translation a device with `device_locale` gets, or None for the
    default content."""
    return next((code for code in locale_fallbacks(device_locale) if code in available), None)


def content_for_locale(push: LocalizedContent, device_locale: str) -> tuple[str, PushContent]:
    """What one device is sent: (translation code or "" for the default, the content)."""
    code = locale_choose(push.translations, device_locale)
    if code is None:
        return "", push.default
    return code, push.translations[code]
