"""The SDK path caches which activity kinds an app's active triggers listen for; every change
of a trigger campaign's status forgets that cache once its transaction commits."""

from __future__ import annotations

from django.db import transaction

from campaigns.models import Campaign
from devices.trigger_listeners import trigger_kinds_forget


def trigger_listeners_changed(campaign: Campaign) -> None:
    if campaign.kind == Campaign.Kind.TRIGGER:
        app_id = campaign.app_id
        transaction.on_commit(lambda: trigger_kinds_forget(app_id))
