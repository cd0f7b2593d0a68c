"""Celery tasks of notifications: thin wrappers over the services, taking ids only."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from notifications import image_retention, verification


# The name predates the move from campaigns.delivery; kept so queued messages still run.
@shared_task(name="campaigns.push_credential_verify", ignore_result=True)
def push_credential_verify(credential_id: int) -> str:
    credential = verification.push_credential_verify(credential_id=credential_id)
    return credential.verification if credential else "missing"


@shared_task(name="notifications.images_unreferenced_purge", ignore_result=True)
def images_unreferenced_purge() -> int:
    return image_retention.images_unreferenced_purge(now=timezone.now())
