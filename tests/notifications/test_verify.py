from __future__ import annotations

import datetime as dt

import pytest
from celery import current_app
from django.urls import reverse

from devices.models import PushCredential
from notifications import verification as verify
from notifications.transports.base import Outcome, SendResult

pytestmark = pytest.mark.django_db
V = PushCredential.Verification


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (SendResult(Outcome.SENT, provider_id="x"), (V.VERIFIED, "")),
        (SendResult(Outcome.TOKEN_INVALID, reason="BadDeviceToken"), (V.VERIFIED, "")),
        (
            SendResult(Outcome.FAILED, reason="InvalidProviderToken", credentials_rejected=True),
            (V.FAILED, "InvalidProviderToken"),
        ),
        (
            SendResult(Outcome.RETRY, reason="UNAVAILABLE"),
            (V.UNVERIFIED, "the provider could not be reached, try again: UNAVAILABLE"),
        ),
    ],
)
def test_verdict_per_probe_answer(result, expected):  # noqa: ANN001
    assert verify.verdict(result) == expected


def test_verify_button_enqueues_after_commit_and_page_polls(
    addon_on, admin_client, push_app, monkeypatch, django_capture_on_commit_callbacks
):
    queued: list[int] = []

    def send_task(name, args, queue):  # noqa: ANN001, ANN202
        assert (name, queue) == (verify.VERIFY_TASK_NAME, "interactive")
        queued.extend(args)

    monkeypatch.setattr(current_app, "send_task", send_task)
    credential = PushCredential.objects.get(app=push_app, platform="ios")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("push-credential-verify", args=[push_app.pk, "ios"]))

    assert response.status_code == 302
    assert queued == [credential.pk]
    status = admin_client.get(reverse("push-credential-status", args=[push_app.pk, "ios"])).json()
    assert status["pending"] is True
    page = admin_client.get(reverse("app-push-setup", args=[push_app.pk])).content.decode()
    assert "Checking…" in page and 'data-pending="1"' in page


def test_verify_without_credentials_says_upload_first(addon_on, admin_client, push_app):
    PushCredential.objects.filter(app=push_app, platform="android").delete()
    response = admin_client.post(
        reverse("push-credential-verify", args=[push_app.pk, "android"]), follow=True
    )
    assert "Upload Android credentials first" in response.content.decode()


def test_undecryptable_credentials_fail_with_reason(push_app):
    credential = PushCredential.objects.get(app=push_app, platform="android")
    PushCredential.objects.filter(pk=credential.pk).update(secret_encrypted="garbage")

    result = verify.push_credential_verify(credential_id=credential.pk)

    assert result.verification == V.FAILED
    assert result.verification_reason.startswith("credentials unusable:")
    assert result.verified_at is not None


def test_verify_is_admin_only(addon_on, marketer_client, push_app):
    url = reverse("push-credential-verify", args=[push_app.pk, "ios"])
    assert marketer_client.post(url).status_code == 403
    status_url = reverse("push-credential-status", args=[push_app.pk, "ios"])
    assert marketer_client.get(status_url).status_code == 403


def test_status_prints_the_check_time_as_the_page_does(addon_on, admin_client, push_app):
    checked = dt.datetime(2026, 12, 2, 9, 1, 16, tzinfo=dt.UTC)
    PushCredential.objects.filter(app=push_app, platform="ios").update(
        verification=V.VERIFIED, verified_at=checked
    )
    status = admin_client.get(reverse("push-credential-status", args=[push_app.pk, "ios"])).json()
    page = admin_client.get(reverse("app-push-setup", args=[push_app.pk])).content.decode()
    # The script shows this text after a check; the page shows the same after a reload.
    assert status["verified_at_text"] == "2 Dec 2026, 09:01 UTC"
    assert f"checked {status['verified_at_text']}" in page
