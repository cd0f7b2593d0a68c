"""Writes for in-app messages: create, update, approve, delete. Approval freezes the working
copy into `approved_content`, which is what phones are shown; every write is audited."""

from __future__ import annotations

import logging
import re
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from devices.models import MobileApp
from inapp.content import COLUMN_FIELDS, message_working_content
from inapp.models import InAppCampaign, InAppMessage
from inapp.rules import InAppError, message_content_validate
from inapp.services.cache import live_campaigns_evict
from notifications.selectors import lead_token_field_names
from pushmarketing.core.audit import audit_record, fields_apply
from pushmarketing.core.roles import Role, user_has_role

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = ("name", "image", *COLUMN_FIELDS)
MAX_NAME_CHARS = 120
# Names the image pipeline (notifications.images.image_store) gives stored files.
_STORED_IMAGE = re.compile(r"^(push|inapp)-images/[0-9a-f]{32}\.(jpg|png)$")


class MessageInUse(Exception):
    def __init__(self, campaign_names: list[str]) -> None:
        super().__init__(f"used by in-app campaigns: {', '.join(campaign_names)}")
        self.campaign_names = campaign_names


def _require_marketer(actor: User | None) -> None:
    if not user_has_role(actor, Role.MARKETER):
        raise PermissionDenied("Only marketers and admins can edit in-app messages.")


def _clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in EDITABLE_FIELDS:
            raise InAppError(name, "is not an editable field of an in-app message")
        if name == "name":
            if not isinstance(value, str) or not 1 <= len(value.strip()) <= MAX_NAME_CHARS:
                raise InAppError("name", f"must be 1-{MAX_NAME_CHARS} characters")
            value = value.strip()
        if name == "image":
            value = value or ""
            if value and not (_STORED_IMAGE.match(value) and default_storage.exists(value)):
                raise InAppError("image", "must be an image stored by the upload pipeline")
        clean[name] = value
    return clean


def _validated(message: InAppMessage) -> dict[str, Any]:
    """The working copy normalized, or InAppError naming the first broken rule."""
    return message_content_validate(message_working_content(message), lead_token_field_names())


def _apply(message: InAppMessage, fields: dict[str, Any]) -> dict[str, list[Any]]:
    clean = _clean_fields(fields)
    image = clean.pop("image", None)
    changes = fields_apply(message, clean)
    if image is not None and (message.image.name or "") != image:
        changes["image"] = [message.image.name or "", image]
        message.image.name = image
    normalized = _validated(message)
    # Store what the rules normalized (defaults filled in, colours lower-cased), so the
    # working copy compares equal to the approved one when nothing really changed.
    for name in COLUMN_FIELDS:
        setattr(message, name, normalized[name])
    return {name: [str(old), str(new)] for name, (old, new) in changes.items()}


@transaction.atomic
def message_create(*, app: MobileApp, actor: User | None, fields: dict[str, Any]) -> InAppMessage:
    _require_marketer(actor)
    message = InAppMessage(app=app, created_by=actor, updated_by=actor, name="Untitled message")
    _apply(message, fields)
    message.save()
    audit_record(
        actor=actor,
        action="inapp_message.created",
        target=message,
        summary=f"Created in-app message {message.name!r}",
        details={"app_id": app.pk},
    )
    logger.info("In-app message %s created by user %s", message.pk, getattr(actor, "pk", None))
    return message


@transaction.atomic
def message_update(
    *, message: InAppMessage, actor: User | None, fields: dict[str, Any]
) -> InAppMessage:
    """Change the working copy. An approved message keeps showing its approved copy and reads
    'approved with draft changes' until approved again; editing it back to exactly the
    approved content makes it plain approved again."""
    _require_marketer(actor)
    message = InAppMessage.objects.select_for_update().get(pk=message.pk)
    changes = _apply(message, fields)
    if not changes:
        return message
    if message.approved_content is not None:
        same = _validated(message) == message.approved_content
        message.status = (
            InAppMessage.Status.APPROVED if same else InAppMessage.Status.APPROVED_WITH_DRAFT
        )
    message.updated_by = actor
    message.save()
    audit_record(
        actor=actor,
        action="inapp_message.edited",
        target=message,
        summary=f"Edited in-app message {message.name!r}",
        details={"app_id": message.app_id, "changes": changes},
    )
    return message


@transaction.atomic
def message_approve(*, message: InAppMessage, actor: User | None) -> InAppMessage:
    """Freeze the working copy into approved_content (approvers and admins): live campaigns
    show the new copy from the next call on."""
    if not user_has_role(actor, Role.APPROVER):
        raise PermissionDenied("Only approvers and admins can approve an in-app message.")
    message = InAppMessage.objects.select_for_update().get(pk=message.pk)
    message.approved_content = _validated(message)
    message.approved_at = timezone.now()
    message.approved_by = actor
    message.status = InAppMessage.Status.APPROVED
    message.save(update_fields=["approved_content", "approved_at", "approved_by", "status"])
    live_campaigns_evict(app_id=message.app_id)
    audit_record(
        actor=actor,
        action="inapp_message.approved",
        target=message,
        summary=f"Approved in-app message {message.name!r}",
        details={"app_id": message.app_id},
    )
    logger.info("In-app message %s approved by user %s", message.pk, getattr(actor, "pk", None))
    return message


def message_delete(*, message: InAppMessage, actor: User | None) -> None:
    """Delete a message no campaign uses; MessageInUse names the campaigns otherwise."""
    _require_marketer(actor)
    with transaction.atomic():
        names = list(
            InAppCampaign.objects.filter(message_id=message.pk).values_list("name", flat=True)
        )
        if not names:
            audit_record(
                actor=actor,
                action="inapp_message.deleted",
                target=message,
                summary=f"Deleted in-app message {message.name!r}",
                details={"app_id": message.app_id},
            )
            message.delete()
            return
    raise MessageInUse(names)
