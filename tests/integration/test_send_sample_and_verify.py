"""Sample send, Verify push configuration and the virtual device inbox, through the real
worker, broker and push simulator."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from campaigns.models import CampaignRun
from devices.models import PushCredential
from pushmarketing.core.models import AddOn
from pushmarketing.core.secrets import encrypt_bytes
from tests.delivery_fixtures import apns_token, simulator_app
from tests.factories import DeviceFactory, LeadFactory, PushNotificationFactory, UserFactory
from tests.worker_fixtures import *  # noqa: F403 - celery_worker fixtures
from tests.worker_fixtures import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(push_simulator, transactional_db):  # noqa: ANN001, ANN201
    # Roles are groups made by a data migration, which a transactional test's flush removes.
    from django.contrib.auth.models import Group

    for name in ("admin", "marketer", "approver"):
        Group.objects.get_or_create(name=name)
    AddOn.objects.update_or_create(code=AddOn.Code.MOBILE_PUSH, defaults={"enabled": True})
    app = simulator_app(push_simulator)
    admin = Client()
    admin.force_login(UserFactory(role="admin"))
    marketer = Client()
    marketer.force_login(UserFactory(role="marketer"))
    return app, admin, marketer


def test_sample_send_ui_flow(setup, celery_worker):
    app, _, marketer = setup
    pixel = DeviceFactory(
        app=app, push_token="ok-sample-pixel", is_test_device=True, test_device_name="Pixel",
        lead=None,
    )  # fmt: skip
    iphone = DeviceFactory(
        app=app, platform="ios", push_token=apns_token("a2a2", 1), is_test_device=True,
        test_device_name="iPhone",
    )  # fmt: skip
    broken = DeviceFactory(
        app=app, push_token="x-badtoken-sample", is_test_device=True, test_device_name="Old"
    )
    LeadFactory(email="ann@example.com", first_name="Ann")
    draft = PushNotificationFactory(app=app, title="Hello {{lead.First Name:default=you}}")

    response = marketer.post(
        reverse("notification-sample", args=[draft.pk]),
        {"device_ids": [pixel.pk, iphone.pk, broken.pk], "lead_email": "ann@example.com"},
    )
    assert response.status_code == 302
    run = CampaignRun.objects.get(kind=CampaignRun.Kind.SAMPLE)
    page = marketer.get(response["Location"]).content.decode()
    assert "Pixel" in page and 'id="sample-status"' in page

    status_url = reverse("notification-sample-status", args=[draft.pk, run.pk])

    def done() -> dict:
        """every sample delivery is terminal"""
        status = marketer.get(status_url).json()
        return status if status["done"] else {}

    status = wait_until(done, timeout=60)
    by_name = {row["device_name"]: row for row in status["deliveries"]}
    assert by_name["Pixel"]["status"] == "sent"
    assert by_name["iPhone"]["status"] == "sent"
    assert by_name["Old"]["status"] == "token_invalid"
    assert "not a valid FCM registration token" in by_name["Old"]["reason"]

    inbox = marketer.get(reverse("simulator-inbox")).content.decode()
    assert "Hello Ann" in inbox and "Pixel" in inbox and "iPhone" in inbox


def _verify(admin: Client, app, platform: str) -> dict:  # noqa: ANN001
    admin.post(reverse("push-credential-verify", args=[app.pk, platform]))
    url = reverse("push-credential-status", args=[app.pk, platform])

    def finished() -> dict:
        """the verification finished"""
        status = admin.get(url).json()
        return status if not status["pending"] else {}

    return wait_until(finished, timeout=60)


def test_verify_push_configuration_accepts_good_credentials(setup, celery_worker):
    app, admin, _ = setup
    for platform in ("ios", "android"):
        status = _verify(admin, app, platform)
        assert status["verification"] == "verified", status
        assert status["reason"] == ""
        assert status["verified_at"]
    page = admin.get(reverse("app-push-setup", args=[app.pk])).content.decode()
    assert page.count("Verified") >= 2


def test_verify_push_configuration_reports_rejection_reason(setup, celery_worker, push_simulator):
    app, admin, _ = setup
    # A .p8 key Apple does not know (unknown key id): APNs answers 403 InvalidProviderToken.
    PushCredential.objects.filter(app=app, platform="ios").update(
        public_meta={"key_id": "UNKNOWN123", "team_id": push_simulator.credentials.apns_team_id},
        version=2,
    )
    # A service account whose key the token endpoint does not know.
    import json

    account = json.loads(
        push_simulator.credentials.fcm_service_account(token_uri=push_simulator.fcm_token_uri)
    )
    account["private_key_id"] = "0" * 40
    PushCredential.objects.filter(app=app, platform="android").update(
        secret_encrypted=encrypt_bytes(json.dumps(account).encode()), version=2
    )

    ios = _verify(admin, app, "ios")
    android = _verify(admin, app, "android")

    assert ios["verification"] == "failed"
    assert "InvalidProviderToken" in ios["reason"]
    assert android["verification"] == "failed"
    assert "invalid_grant" in android["reason"]
    page = admin.get(reverse("app-push-setup", args=[app.pk])).content.decode()
    assert "InvalidProviderToken" in page
