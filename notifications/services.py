"""Writes for push notifications: create, update, approve, clone, delete, and their history.

Every write records a NotificationEvent (shown on the push's page) in the same transaction,
and the audit log for approvals and deletions."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from devices.models import MobileApp
from notifications.content import COLUMN_FIELDS, TRANSLATIONS_KEY, PushContent
from notifications.images import image_absolute_url, image_store
from notifications.models import NotificationEvent, PushNotification, PushTranslation
from notifications.personalization import TokenError, compile_template
from notifications.previews import payload_sizes
from notifications.selectors import lead_token_field_names, notification_campaign_names
from notifications.translations import (
    translation_fields_clean,
    translation_problems,
    translation_values,
    translations_normalise,
    translations_replace,
    translations_snapshot,
)
from pushmarketing.core.audit import audit_record
from pushmarketing.core.roles import Role, user_has_role

logger = logging.getLogger(__name__)

# The working-copy columns a marketer edits (besides name and app); image is the file name.
EDITABLE_FIELDS = ("app", "name", "image", *COLUMN_FIELDS)
# Translations as the services take them: {locale code: {title, subtitle, message, image
# (a stored image's name), tap_uri}}.
TranslationRows = Mapping[str, Mapping[str, Any]]


class NotificationInUse(Exception):
    """Deleting a push a campaign uses; `campaign_names` says which."""

    def __init__(self, campaign_names: list[str]) -> None:
        self.campaign_names = campaign_names
        super().__init__(
            gettext("This push is used by %(campaigns)s and cannot be deleted.")
            % {"campaigns": ", ".join(campaign_names)}
        )


def notification_working_content(notification: PushNotification) -> PushContent:
    """The working copy (what the composer shows) as PushContent, image as absolute URL."""
    data: dict[str, Any] = {name: getattr(notification, name) for name in COLUMN_FIELDS}
    data["custom_data"] = dict(notification.custom_data or {})
    data["image_url"] = image_absolute_url(notification.image.name or "")
    return PushContent(**data)


def notification_working_snapshot(notification: PushNotification) -> dict[str, Any]:
    """The working copy as approval freezes it: the default content and, when the push has
    any, its translations (one query for them)."""
    snapshot = notification_working_content(notification).to_dict()
    translations = translations_snapshot(notification.translations.all())
    if translations:
        snapshot[TRANSLATIONS_KEY] = translations
    return snapshot


def notification_content_problems(content: PushContent) -> dict[str, list[str]]:
    """What would stop this content being sent: token errors and oversize payloads."""
    problems: dict[str, list[str]] = {}
    if not content.android_enabled and not content.ios_enabled:
        problems.setdefault("__all__", []).append(gettext("Enable Android, iOS or both."))
    if not content.message.strip():
        problems.setdefault("message", []).append(gettext("The message is required."))
    known = lead_token_field_names()
    for form_field in ("title", "subtitle", "message", "tap_uri"):
        try:
            compile_template(getattr(content, form_field), known_fields=known)
        except TokenError as exc:
            problems.setdefault(form_field, []).append(str(exc))
    size_problems = payload_sizes(content).problems()
    if size_problems:
        problems.setdefault("__all__", []).extend(size_problems)
    return problems


def notification_event_record(
    *,
    notification: PushNotification,
    actor: User | None,
    action: str,
    details: dict[str, Any] | None = None,
) -> NotificationEvent:
    return NotificationEvent.objects.create(
        notification=notification, actor=actor, action=action, details=details or {}
    )


def _apply(notification: PushNotification, fields: dict[str, Any]) -> list[str]:
    changed = []
    for name, value in fields.items():
        if name not in EDITABLE_FIELDS:
            raise ValueError(f"{name} is not an editable field")
        if name == "app":
            if notification.app_id != value.pk:
                if notification.approved_content is not None:
                    raise ValidationError(
                        {"app": [gettext("An approved push stays with its app; clone it instead.")]}
                    )
                notification.app = value
                changed.append(name)
            continue
        current = getattr(notification, name)
        if name == "image":
            current = current.name if current else ""
            value = value or ""
        if current != value:
            setattr(notification, name, value)
            changed.append(name)
    return changed


def _check_content(notification: PushNotification) -> None:
    problems = notification_content_problems(notification_working_content(notification))
    if problems:
        raise ValidationError(problems)


def _checked_translations(
    notification: PushNotification, rows: TranslationRows, *, stored_images: set[str]
) -> dict[str, dict[str, str]]:
    """`rows` keyed by normalised code, each checked against the push's default content;
    ValidationError naming the locale and field of every problem."""
    normalised, problems = translations_normalise(rows)
    default = notification_working_content(notification)
    known = lead_token_field_names()
    for code, fields in normalised.items():
        problems.extend(
            translation_problems(
                locale=code,
                fields=fields,
                default=default,
                known_fields=known,
                stored_images=stored_images,
            )
        )
    if problems:
        errors: dict[str, list[str]] = {}
        for key, message in problems:
            errors.setdefault(key, []).append(message)
        raise ValidationError(errors)
    return normalised


def _stored_translation_images(notification: PushNotification) -> set[str]:
    if notification.pk is None:
        return set()
    return {
        name
        for name in notification.translations.values_list("image", flat=True)
        if name  # the images already saved need no new upload check
    }


def _refresh_status(notification: PushNotification) -> None:
    """An approved push edited (default or any translation) is 'approved with draft changes'
    until approved again; edited back to exactly the approved snapshot, plain approved."""
    if notification.approved_content is None:
        return
    same = notification_working_snapshot(notification) == notification.approved_content
    notification.status = (
        PushNotification.Status.APPROVED if same else PushNotification.Status.APPROVED_WITH_DRAFT
    )


@transaction.atomic
def notification_create(
    *,
    app: MobileApp,
    actor: User | None,
    fields: dict[str, Any],
    translations: TranslationRows | None = None,
) -> PushNotification:
    notification = PushNotification(app=app, created_by=actor, updated_by=actor)
    _apply(notification, fields)
    if not notification.name:
        notification.name = "Untitled push"
    _check_content(notification)
    rows = _checked_translations(notification, translations or {}, stored_images=set())
    notification.save()
    translations_replace(notification=notification, rows=rows)
    notification_event_record(notification=notification, actor=actor, action="created")
    logger.info("Push %s created by user %s", notification.pk, getattr(actor, "pk", None))
    return notification


@transaction.atomic
def notification_update(
    *,
    notification: PushNotification,
    actor: User | None,
    fields: dict[str, Any],
    translations: TranslationRows | None = None,
) -> PushNotification:
    """Change the working copy, and with `translations` make its translations exactly those.
    An approved push keeps sending its approved copy and shows 'approved with draft changes'
    until approved again; editing it back to exactly the approved content makes it plain
    approved again."""
    notification = PushNotification.objects.select_for_update().get(pk=notification.pk)
    changed = _apply(notification, fields)
    changed_locales: list[str] = []
    if translations is not None:
        rows = _checked_translations(
            notification, translations, stored_images=_stored_translation_images(notification)
        )
        changed_locales = translations_replace(notification=notification, rows=rows)
    if not changed and not changed_locales:
        return notification
    _check_content(notification)
    _refresh_status(notification)
    notification.updated_by = actor
    notification.save()
    details: dict[str, Any] = {"fields": changed}
    if changed_locales:
        details["translations"] = changed_locales
        _audit_translations(notification, actor, changed_locales)
    notification_event_record(
        notification=notification, actor=actor, action="edited", details=details
    )
    return notification


def _audit_translations(
    notification: PushNotification, actor: User | None, locales: list[str]
) -> None:
    audit_record(
        actor=actor,
        action="notification.translations_changed",
        target=notification,
        summary=f"Changed the {', '.join(locales)} translation(s) of push {notification.name!r}",
        details={"app_id": notification.app_id, "locales": locales},
    )


@transaction.atomic
def notification_translation_put(
    *,
    notification: PushNotification,
    actor: User | None,
    locale: str,
    fields: Mapping[str, Any],
) -> tuple[PushTranslation, bool]:
    """Create or replace one translation (the management API's write); (row, created)."""
    notification = PushNotification.objects.select_for_update().get(pk=notification.pk)
    current = {t.locale: translation_values(t) for t in notification.translations.all()}
    rows = _checked_translations(
        notification,
        {locale: translation_fields_clean(fields)},
        stored_images=_stored_translation_images(notification),
    )
    code, values = next(iter(rows.items()))
    created = code not in current
    current[code] = values
    _save_translations(notification, actor, current)
    return notification.translations.get(locale=code), created


@transaction.atomic
def notification_translation_image_set(
    *, notification: PushNotification, actor: User | None, locale: str, image: bytes | None
) -> PushTranslation:
    """Give the `locale` translation its own image: the uploaded bytes, checked and cleaned as
    the composer's upload is (ValidationError naming the rule) — or, with None, none: devices
    of that language then get the push's own image. The other fields stay; the translation
    must exist (PushTranslation.DoesNotExist)."""
    translation = notification.translations.get(locale=locale)
    name = "" if image is None else image_store(data=image)
    fields = {**translation_values(translation), "image": name}
    try:
        row, _created = notification_translation_put(
            notification=notification, actor=actor, locale=locale, fields=fields
        )
    except Exception:
        # Another field refused the save (the push changed since): the file stored above
        # would otherwise stay on disk with no row naming it.
        if name:
            default_storage.delete(name)
        raise
    return row


@transaction.atomic
def notification_translation_delete(
    *, notification: PushNotification, actor: User | None, locale: str
) -> bool:
    """Remove one translation; False when the push has none for `locale`."""
    notification = PushNotification.objects.select_for_update().get(pk=notification.pk)
    current = {t.locale: translation_values(t) for t in notification.translations.all()}
    if current.pop(locale, None) is None:
        return False
    _save_translations(notification, actor, current)
    return True


def _save_translations(
    notification: PushNotification, actor: User | None, rows: dict[str, dict[str, str]]
) -> None:
    changed = translations_replace(notification=notification, rows=rows)
    if not changed:
        return
    _refresh_status(notification)
    notification.updated_by = actor
    notification.save(update_fields=["status", "updated_by", "updated_at"])
    _audit_translations(notification, actor, changed)
    notification_event_record(
        notification=notification,
        actor=actor,
        action="edited",
        details={"fields": [], "translations": changed},
    )


@transaction.atomic
def notification_approve(*, notification: PushNotification, actor: User | None) -> PushNotification:
    """Freeze the working copy into approved_content. Approvers and admins only."""
    if not user_has_role(actor, Role.APPROVER):
        raise PermissionDenied(gettext("Only approvers and admins can approve a push."))
    notification = PushNotification.objects.select_for_update().get(pk=notification.pk)
    content = notification_working_content(notification)
    problems = notification_content_problems(content)
    if problems:
        raise ValidationError(problems)
    # Approval covers every translation: each is checked again against today's default content
    # (a tap action or custom data changed since may have broken one).
    _checked_translations(
        notification,
        {t.locale: translation_values(t) for t in notification.translations.all()},
        stored_images=_stored_translation_images(notification),
    )
    notification.approved_content = notification_working_snapshot(notification)
    notification.approved_at = timezone.now()
    notification.approved_by = actor
    notification.status = PushNotification.Status.APPROVED
    notification.save(update_fields=["approved_content", "approved_at", "approved_by", "status"])
    notification_event_record(notification=notification, actor=actor, action="approved")
    logger.info("Push %s approved by user %s", notification.pk, getattr(actor, "pk", None))
    audit_record(
        actor=actor,
        action="notification.approved",
        target=notification,
        summary=f"Approved push {notification.name!r}",
        details={
            "app_id": notification.app_id,
            "translations": sorted(notification.approved_content.get(TRANSLATIONS_KEY, {})),
        },
    )
    return notification


@transaction.atomic
def notification_clone(*, notification: PushNotification, actor: User | None) -> PushNotification:
    """A new draft with the same working copy, named 'Copy of …'. The image file is shared:
    stored images are never modified, only replaced."""
    copy = PushNotification(app=notification.app, created_by=actor, updated_by=actor)
    for name in EDITABLE_FIELDS:
        if name == "app":
            continue
        setattr(copy, name, getattr(notification, name))
    copy.custom_data = dict(notification.custom_data or {})
    copy.name = f"Copy of {notification.name}"[:120]
    copy.status = PushNotification.Status.DRAFT
    copy.save()
    PushTranslation.objects.bulk_create(
        PushTranslation(notification=copy, locale=t.locale, **translation_values(t))
        for t in notification.translations.all()
    )
    notification_event_record(
        notification=copy, actor=actor, action="cloned", details={"from_id": notification.pk}
    )
    notification_event_record(
        notification=notification, actor=actor, action="copied", details={"to_id": copy.pk}
    )
    return copy


def notification_delete(*, notification: PushNotification, actor: User | None) -> None:
    """Delete an unused push; refuse (and record the refusal) when a campaign uses it."""
    with transaction.atomic():
        names = notification_campaign_names(notification=notification)
        if names:
            notification_event_record(
                notification=notification,
                actor=actor,
                action="delete_refused",
                details={"campaigns": names},
            )
        else:
            audit_record(
                actor=actor,
                action="notification.deleted",
                target=notification,
                summary=f"Deleted push {notification.name!r}",
                details={"app_id": notification.app_id},
            )
            notification.delete()
            return
    raise NotificationInUse(names)
