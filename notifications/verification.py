"""Verify push configuration: prove the provider accepts an app's credentials.

Never done inside a request: the admin's click enqueues `campaigns.push_credential_verify`
(notifications.tasks; the task keeps its first name so queued messages still run)
and the page polls. The check sends nothing to a real device:
- FCM: an OAuth access token, then a `validate_only` send (FCM validates auth, project and
  message and delivers nothing). A token-shaped answer (INVALID_ARGUMENT / UNREGISTERED for
  our made-up token) also proves the credentials were accepted.
- APNs: a push to a deliberately malformed token. APNs checks the provider token or the
  client certificate before the device token, so `BadDeviceToken` means "credentials
  accepted", while 403 InvalidProviderToken / ExpiredProviderToken means rejected.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.db import transaction
from django.utils import timezone

from devices.models import MobileApp, PushCredential
from devices.push_setup.pending import verification_pending_clear, verification_pending_set
from notifications.transports import runtime
from notifications.transports.base import Outcome, OutgoingPush, SendResult
from notifications.transports.config import transport_config_from
from pushmarketing.core.audit import audit_record

logger = logging.getLogger(__name__)

# Not hex, so no real device can ever own it: APNs answers BadDeviceToken for it.
APNS_PROBE_TOKEN = "pmverify" + "0" * 56
FCM_PROBE_TOKEN = "pm-verify-probe-not-a-registration-token"  # noqa: S105 - a name or public constant, not a password
V = PushCredential.Verification


VERIFY_TASK_NAME = "campaigns.push_credential_verify"  # kept stable for queued messages


def push_credential_verify_request(*, app: MobileApp, platform: str, actor: Any) -> PushCredential:
    """Mark the check pending and enqueue it after commit (queue `interactive`: an admin
    watches the page, so it has a worker lane no send backlog can delay)."""
    credential = PushCredential.objects.filter(app=app, platform=platform).first()
    if credential is None:
        raise PushCredential.DoesNotExist(f"{app.name} has no {platform} credentials to verify")
    verification_pending_set(credential.id)
    audit_record(
        actor=actor,
        action="credentials.verify_requested",
        target=credential,
        summary=f"Verify push configuration requested for {app.name} ({platform})",
    )
    # Sent by name: notifications.tasks imports this module, and services never import tasks.
    transaction.on_commit(
        lambda: current_app.send_task(VERIFY_TASK_NAME, args=[credential.id], queue="interactive")
    )
    return credential


def _probe(credential: PushCredential) -> SendResult:
    config = transport_config_from(credential, credential.app)
    if credential.platform == "ios":
        body = {
            "headers": {
                "apns-topic": credential.app.ios_bundle_id,
                "apns-push-type": "alert",
                "apns-priority": "10",
                "apns-expiration": "0",
            },
            "payload": {"aps": {"alert": {"body": "PushMarketing configuration check"}}},
        }
        push = OutgoingPush(delivery_id=0, token=APNS_PROBE_TOKEN, body=body)
        return runtime.send_one(config, push)
    body = {"token": FCM_PROBE_TOKEN, "notification": {"body": "configuration check"}}
    push = OutgoingPush(delivery_id=0, token=FCM_PROBE_TOKEN, body=body)
    return runtime.send_one(config, push, validate_only=True)


def verdict(result: SendResult) -> tuple[str, str]:
    """(verification, reason) for one probe answer."""
    if result.credentials_rejected:
        return V.FAILED, result.reason or "the provider rejected the credentials"
    if result.outcome in (Outcome.SENT, Outcome.TOKEN_INVALID):
        return V.VERIFIED, ""
    if result.outcome == Outcome.RETRY:
        return V.UNVERIFIED, f"the provider could not be reached, try again: {result.reason}"
    return V.FAILED, result.reason or "the provider refused the test message"


def push_credential_verify(*, credential_id: int) -> PushCredential | None:
    credential = PushCredential.objects.select_related("app").filter(pk=credential_id).first()
    if credential is None:
        return None
    try:
        verification, reason = verdict(_probe(credential))
    except ValueError as exc:
        # Undecryptable or malformed stored credentials: a precise, permanent answer.
        verification, reason = V.FAILED, f"credentials unusable: {exc}"
    PushCredential.objects.filter(pk=credential.pk, version=credential.version).update(
        verification=verification, verification_reason=reason[:300], verified_at=timezone.now()
    )
    verification_pending_clear(credential.id)
    logger.info(
        "verify: app %s %s → %s %s", credential.app_id, credential.platform, verification, reason
    )
    credential.refresh_from_db()
    return credential
