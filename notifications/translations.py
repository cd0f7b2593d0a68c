"""A push's translations: their rules, their snapshot, and replacing the set in one go.

The services that record history and status (notification_update, notification_translation_put,
notification_approve) call these; nothing here records events or audits on its own.

A translation follows the push's own field rules (title and subtitle up to 200 characters, the
tap link up to 2,000 and shaped for the push's tap action, tokens as in the default content),
its merged content must fit the 4,096-byte payload limit, and a push has at most one
translation per locale code (the unique constraint; codes are normalised first, so `fr-CA` and
`fr_ca` are the same translation).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.translation import gettext

from notifications.content import LocalizedContent, PushContent, translation_merge
from notifications.images import image_absolute_url, image_name_is_stored
from notifications.locales import (
    LOCALE_CODE_RULE,
    content_for_locale,
    locale_choose,
    locale_code_error,
    locale_normalize,
)
from notifications.models import PushNotification, PushTranslation
from notifications.personalization import TokenError, compile_template
from notifications.previews import payload_sizes

MAX_TRANSLATIONS = 50
# The composer posts a translation row as parallel lists tr_locale, tr_title, … (like its
# custom data rows).
TRANSLATION_INPUTS = ("locale", "title", "subtitle", "message", "tap_uri", "image")
TEXT_LIMITS = {"title": 200, "subtitle": 200, "tap_uri": 2000}
EDITABLE = ("title", "subtitle", "message", "image", "tap_uri")
DEEP_LINK_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")


def _plain_uri(uri: str) -> str:
    compiled = compile_template(uri, require_default=False)
    return compiled.render({token.field: "x" for token in compiled.tokens})


def _tap_uri_error(action: str, uri: str) -> str | None:
    if not uri:
        return None  # blank keeps the default's link
    if action == PushNotification.TapAction.APP_HOME:
        return gettext(
            "must be blank: the push opens the app's home screen (set a tap action first)"
        )
    plain = _plain_uri(uri)
    if action == PushNotification.TapAction.DEEP_LINK and not DEEP_LINK_RE.match(plain):
        return gettext("must be a deep link such as myapp://path (a scheme, ':' and no spaces)")
    if action == PushNotification.TapAction.URL:
        try:
            URLValidator(schemes=["http", "https"])(plain)
        except ValidationError:
            return gettext("must be a full web address starting with https://")
    return None


def translation_fields_clean(raw: Mapping[str, Any]) -> dict[str, str]:
    """The editable fields of one translation as stripped strings (missing ones blank)."""
    return {name: str(raw.get(name) or "").strip() for name in EDITABLE}


def translation_content(default: PushContent, fields: Mapping[str, str]) -> PushContent:
    """The merged content a device in this language gets, from unsaved fields."""
    return translation_merge(
        default,
        {
            "title": fields.get("title", ""),
            "subtitle": fields.get("subtitle", ""),
            "message": fields.get("message", ""),
            "image_url": image_absolute_url(fields.get("image", "")),
            "tap_uri": fields.get("tap_uri", ""),
        },
    )


# A problem: the key it is reported under (`translations.<code>.<field>`, so the API can name
# the body field and the composer the row) and a message that names the locale and field.
Problem = tuple[str, str]


def _problem(code: str, field: str, rule: str) -> Problem:
    if field:
        message = gettext("Translation '%(code)s', %(field)s: %(rule)s")
    else:
        message = gettext("Translation '%(code)s': %(rule)s")
    key = f"translations.{code}.{field or 'content'}"
    return key, message % {"code": code, "field": field, "rule": rule}


def translation_problems(
    *,
    locale: str,
    fields: Mapping[str, str],
    default: PushContent,
    known_fields: Iterable[str],
    stored_images: Collection[str] = (),
) -> list[Problem]:
    """Every rule one translation breaks, each naming the locale and the field."""
    code = locale_normalize(locale) or locale
    if locale_code_error(locale):
        return [_problem(code, "locale", f"{LOCALE_CODE_RULE}.")]
    problems: list[Problem] = []
    if not fields.get("message", "").strip():
        problems.append(_problem(code, "message", gettext("is required.")))
    for name, limit in TEXT_LIMITS.items():
        if len(fields.get(name, "")) > limit:
            rule = gettext("must be at most %(limit)s characters.") % {"limit": f"{limit:,}"}
            problems.append(_problem(code, name, rule))
    known = list(known_fields)
    for name in ("title", "subtitle", "message", "tap_uri"):
        try:
            compile_template(fields.get(name, ""), known_fields=known)
        except TokenError as exc:
            problems.append(_problem(code, name, f"{exc}."))
    if problems:
        return problems
    uri_error = _tap_uri_error(default.tap_action, fields.get("tap_uri", ""))
    if uri_error:
        problems.append(_problem(code, "tap_uri", f"{uri_error}."))
    image = fields.get("image", "")
    if image and image not in stored_images and not image_name_is_stored(image):
        problems.append(
            _problem(code, "image", gettext("the uploaded image was not found; upload it again."))
        )
    if not problems:
        sizes = payload_sizes(translation_content(default, fields))
        problems.extend(_problem(code, "", problem) for problem in sizes.problems())
    return problems


def translation_rows_from(data: Any) -> list[dict[str, str]]:
    """The composer's posted translation rows, in order; rows left entirely blank are dropped."""
    if not hasattr(data, "getlist"):
        return []
    lists = {name: data.getlist(f"tr_{name}") for name in TRANSLATION_INPUTS}
    rows = []
    for index in range(len(lists["locale"])):
        row = {
            name: str(values[index]) if index < len(values) else ""
            for name, values in lists.items()
        }
        if any(row[name].strip() for name in TRANSLATION_INPUTS if name != "image"):
            rows.append(row)
    return rows


def translation_rows_problems(
    rows: Iterable[Mapping[str, str]],
    *,
    default: PushContent,
    known_fields: Iterable[str],
    stored_images: Collection[str],
) -> list[str]:
    """The composer's rows checked like the services check them, as messages in row order
    (a code given twice, `fr-CA` then `fr_ca`, is reported on the second row)."""
    problems: list[str] = []
    seen: set[str] = set()
    known = list(known_fields)
    for row in rows:
        code = locale_normalize(row["locale"])
        if code and code in seen:
            problems.append(_problem(code, "locale", gettext("one translation per locale."))[1])
            continue
        seen.add(code)
        problems.extend(
            message
            for _key, message in translation_problems(
                locale=row["locale"],
                fields=row,
                default=default,
                known_fields=known,
                stored_images=stored_images,
            )
        )
    return problems


def translations_normalise(
    rows: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, dict[str, str]], list[Problem]]:
    """Key the rows by normalised code; a code given twice (`fr-CA` and `fr_ca`) is refused."""
    out: dict[str, dict[str, str]] = {}
    problems: list[Problem] = []
    if len(rows) > MAX_TRANSLATIONS:
        rule = gettext("Translations: at most %(count)s per push.") % {"count": MAX_TRANSLATIONS}
        problems.append(("translations", rule))
    for raw_code, raw in rows.items():
        error = locale_code_error(raw_code)
        if error:
            problems.append(_problem(raw_code, "locale", f"{error}."))
            continue
        code = locale_normalize(raw_code)
        if code in out:
            problems.append(_problem(code, "locale", gettext("one translation per locale.")))
            continue
        out[code] = translation_fields_clean(raw)
    return out, problems


def translations_snapshot(translations: Iterable[PushTranslation]) -> dict[str, dict[str, str]]:
    """Translations as a snapshot holds them (the image as the absolute URL devices fetch)."""
    return {
        t.locale: {
            "title": t.title,
            "subtitle": t.subtitle,
            "message": t.message,
            "image_url": image_absolute_url(t.image.name or ""),
            "tap_uri": t.tap_uri,
        }
        for t in translations
    }


def translation_values(translation: PushTranslation) -> dict[str, str]:
    """A stored translation's editable fields, as `translations_replace` takes them."""
    return {
        "title": translation.title,
        "subtitle": translation.subtitle,
        "message": translation.message,
        "image": translation.image.name or "",
        "tap_uri": translation.tap_uri,
    }


def translations_replace(
    *, notification: PushNotification, rows: Mapping[str, Mapping[str, str]]
) -> list[str]:
    """Make the push's translations exactly `rows` (validated, normalised codes); return the
    codes added, changed or removed. A few statements, whatever the number of rows."""
    current = {t.locale: t for t in notification.translations.all()}
    changed = sorted(code for code in current if code not in rows)
    if changed:
        PushTranslation.objects.filter(notification=notification, locale__in=changed).delete()
    to_create: list[PushTranslation] = []
    to_update: list[PushTranslation] = []
    for code, fields in rows.items():
        translation = current.get(code)
        if translation is not None and translation_values(translation) == dict(fields):
            continue
        if translation is None:
            translation = PushTranslation(notification=notification, locale=code)
            to_create.append(translation)
        else:
            translation.updated_at = timezone.now()  # bulk_update skips auto_now
            to_update.append(translation)
        for name in EDITABLE:
            setattr(translation, name, fields.get(name, ""))
        changed.append(code)
    PushTranslation.objects.bulk_create(to_create)
    if to_update:
        PushTranslation.objects.bulk_update(to_update, [*EDITABLE, "updated_at"])
    return sorted(changed)


@dataclass(frozen=True)
class TranslationPreview:
    """The language the composer previews: the translation codes typed so far, the one a
    device of the previewed locale gets ("" for the default) and its merged content."""

    codes: tuple[str, ...]
    code: str
    content: PushContent

    def describe(self, device_locale: str) -> dict[str, Any]:
        return {
            "device_locale": locale_normalize(device_locale),
            "translation": self.code,
            "translations": list(self.codes),
        }

    def audience(self, counts: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
        """Per audience locale: its devices and the translation they get ("" = default)."""
        available = dict.fromkeys(self.codes)
        return [
            {
                "locale": code,
                "devices": devices,
                "translation": locale_choose(available, code) or "",
            }
            for code, devices in counts
        ]


def translations_preview(
    default: PushContent, rows: Iterable[Mapping[str, str]], *, device_locale: str
) -> TranslationPreview:
    """Forgiving, for live previews of a half-typed form: rows whose code is not (yet) valid
    are left out; the first row of a code wins."""
    by_code: dict[str, Mapping[str, str]] = {}
    for row in rows:
        raw = row.get("locale", "")
        if not locale_code_error(raw):
            by_code.setdefault(locale_normalize(raw), row)
    localized = LocalizedContent(
        default=default,
        translations={code: translation_content(default, row) for code, row in by_code.items()},
    )
    code, content = content_for_locale(localized, device_locale)
    return TranslationPreview(codes=tuple(by_code), code=code, content=content)
