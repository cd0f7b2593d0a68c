from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from campaigns import triggers
from campaigns.models import Delivery
from campaigns.services import campaign_activate
from devices.models import DeviceActivity
from pushmarketing.core.models import AddOn
from tests.campaign_fixtures import approve, configure_app, device, make_campaign
from tests.factories import LeadFactory, MobileAppFactory, PushNotificationFactory


@pytest.mark.django_db(transaction=True)
def test_concurrent_fires_for_one_lead_respect_once(monkeypatch, enqueued):
    AddOn.objects.update_or_create(code=AddOn.Code.MOBILE_PUSH, defaults={"enabled": True})
    app = configure_app(MobileAppFactory())
    push = approve(PushNotificationFactory(app=app))
    lead = LeadFactory()
    phone, tablet = device(app, lead=lead), device(app, lead=lead)
    campaign = make_campaign(
        app=app, notification=push, kind="trigger", trigger={"event": "opened"}
    )
    campaign_activate(actor=None, campaign=campaign)
    ids = [
        DeviceActivity.objects.create(
            app=app, device=d, lead=lead, kind="opened", occurred_at=d.created_at
        ).pk
        for d in (phone, tablet)
    ]
    real = triggers._fires_for

    def slow_fires_for(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        # Widen the window between the qualification read and the insert: without the lead
        # lock both evaluations would read "not sent yet" and both would send.
        fires = real(*args, **kwargs)
        time.sleep(0.4)
        return fires

    monkeypatch.setattr(triggers, "_fires_for", slow_fires_for)
    # `enqueued` stands in for campaigns.enqueue's after-commit hand-off: nothing reaches Celery.
    errors: list[BaseException] = []

    def evaluate(activity_id: int) -> None:
        try:
            triggers.triggers_evaluate(activity_ids=[activity_id])
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=evaluate, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not errors
    assert Delivery.objects.filter(run__campaign=campaign).count() == 1
