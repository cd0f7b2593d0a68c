from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns.delivery.sample import sample_send
from campaigns.delivery.send import deliveries_send
from campaigns.models import CampaignRun, Delivery
from devices.models import Device
from notifications.models import NotificationEvent, PushTranslation
from tests.factories import DeviceFactory, LeadFactory, PushNotificationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(push_app):  # noqa: ANN001, ANN201
    return PushNotificationFactory(app=push_app, title="Hi {{lead.First Name:default=friend}}")


@pytest.fixture
def test_phones(push_app):  # noqa: ANN001, ANN201
    android = DeviceFactory(
        app=push_app, is_test_device=True, test_device_name="Pixel", lead=None,
        push_token="ok-pixel",
    )  # fmt: skip
    ios = DeviceFactory(
        app=push_app, platform="ios", is_test_device=True, test_device_name="iPhone",
        push_token="ok-iphone",
    )  # fmt: skip
    return android, ios


def _post(client, notification, **data):  # noqa: ANN001, ANN003, ANN202
    return client.post(reverse("notification-sample", args=[notification.pk]), data)


def test_sample_of_a_draft_goes_to_chosen_test_devices_on_interactive_queue(
    addon_on, marketer_client, marketer_user, draft, test_phones, enqueued,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    lead = LeadFactory(email="ann@example.com", first_name="Ann")
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            marketer_client,
            draft,
            device_ids=[d.pk for d in test_phones],
            lead_email="ANN@example.com",
        )

    run = CampaignRun.objects.get(kind=CampaignRun.Kind.SAMPLE)
    assert response.status_code == 302
    assert response["Location"].endswith(f"?run={run.pk}")
    assert run.notification == draft and run.started_by == marketer_user
    assert run.content["title"] == "Hi {{lead.First Name:default=friend}}"
    assert (run.queued_android, run.queued_ios, run.total) == (1, 1, 2)
    assert set(run.deliveries.values_list("lead_id", flat=True)) == {lead.id}
    assert enqueued.calls == [(run.pk, "interactive")]
    assert NotificationEvent.objects.filter(notification=draft, action="sample_sent").exists()


def test_sample_renders_as_lead_and_sends_to_test_device_without_lead(
    addon_on, marketer_user, draft, test_phones, scripted_transport, enqueued
):
    from campaigns.delivery.sample import sample_send

    lead = LeadFactory(first_name="Ann")
    run = sample_send(
        notification=draft, device_ids=[d.pk for d in test_phones], lead=lead, actor=marketer_user
    )
    ids = sorted(run.deliveries.values_list("id", flat=True))
    deliveries_send(run_id=run.pk, first_id=ids[0], last_id=ids[-1])

    assert set(run.deliveries.values_list("status", flat=True)) == {Delivery.Status.SENT}
    titles = {
        p.token: p.body.get("notification", {}).get("title")
        or p.body["payload"]["aps"]["alert"]["title"]
        for p in scripted_transport.sent
    }
    assert titles == {"ok-pixel": "Hi Ann", "ok-iphone": "Hi Ann"}
    run.refresh_from_db()
    assert run.status == CampaignRun.Status.COMPLETED


def test_sample_refuses_devices_that_are_not_test_devices_of_the_app(
    addon_on, marketer_client, draft, test_phones, push_app
):
    plain = DeviceFactory(app=push_app)
    other_app_test = DeviceFactory(is_test_device=True)

    for ids in ([plain.pk], [other_app_test.pk], []):
        response = _post(marketer_client, draft, device_ids=ids)
        assert response.status_code == 400
    assert (
        "Only test devices of this push"
        in _post(marketer_client, draft, device_ids=[plain.pk]).content.decode()
    )
    assert "Pick at least one test device" in _post(marketer_client, draft).content.decode()
    assert not CampaignRun.objects.exists()


def test_sample_unknown_lead_email_is_a_field_error(addon_on, marketer_client, draft, test_phones):
    response = _post(
        marketer_client, draft, device_ids=[test_phones[0].pk], lead_email="nobody@example.com"
    )
    assert response.status_code == 400
    assert "No lead with the email nobody@example.com" in response.content.decode()


def test_sample_page_lists_test_devices_and_status(
    addon_on, marketer_client, marketer_user, draft, test_phones, enqueued
):
    from campaigns.delivery.sample import sample_send

    run = sample_send(
        notification=draft, device_ids=[test_phones[0].pk], lead=None, actor=marketer_user
    )
    run.deliveries.update(status=Delivery.Status.FAILED, reason="THIRD_PARTY_AUTH_ERROR")

    page = marketer_client.get(reverse("notification-sample", args=[draft.pk]) + f"?run={run.pk}")
    status = marketer_client.get(
        reverse("notification-sample-status", args=[draft.pk, run.pk])
    ).json()

    body = page.content.decode()
    assert "Pixel" in body and "iPhone" in body and "THIRD_PARTY_AUTH_ERROR" in body
    assert status["done"] is True
    assert status["deliveries"][0]["status"] == "failed"
    assert status["deliveries"][0]["reason"] == "THIRD_PARTY_AUTH_ERROR"
    assert status["deliveries"][0]["device_name"] == "Pixel"


def test_sample_is_for_marketers_and_admins_only(
    addon_on, approver_client, admin_client, draft, test_phones
):
    url = reverse("notification-sample", args=[draft.pk])
    assert approver_client.get(url).status_code == 403
    assert approver_client.post(url, {"device_ids": [test_phones[0].pk]}).status_code == 403
    assert admin_client.get(url).status_code == 200


def test_sample_page_shows_gate_when_addon_off(marketer_client, draft):
    response = marketer_client.get(reverse("notification-sample", args=[draft.pk]))
    assert response.status_code == 403
    assert "ask an admin to enable it" in response.content.decode()


def test_sample_shows_each_test_device_its_language(
    addon_on, marketer_user, draft, test_phones, scripted_transport, enqueued
):
    android, ios = test_phones
    Device.objects.filter(pk=android.pk).update(locale="fr_CA")
    Device.objects.filter(pk=ios.pk).update(locale="ja_JP")
    PushTranslation.objects.create(
        notification=draft, locale="fr", title="Salut", message="Bonjour"
    )
    run = sample_send(
        notification=draft, device_ids=[android.pk, ios.pk], lead=None, actor=marketer_user
    )
    ids = sorted(run.deliveries.values_list("id", flat=True))
    deliveries_send(run_id=run.pk, first_id=ids[0], last_id=ids[-1])

    titles = {
        p.token: p.body.get("notification", {}).get("title")
        or p.body["payload"]["aps"]["alert"]["title"]
        for p in scripted_transport.sent
    }
    assert titles == {"ok-pixel": "Salut", "ok-iphone": f"Hi {ios.lead.first_name}"}
