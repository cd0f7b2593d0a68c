"""The in-app UI: composer, previews, campaign pages, demo phones and dashboard, through the
Django test client (role checks, field-named errors, audit entries, what the pages say)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from devices.models import DeviceActivity
from inapp.models import InAppCampaign, InAppEvent, InAppMessage
from pushmarketing.core.models import AddOn, AuditEntry
from tests.composer_fixtures import image_bytes, media_root  # noqa: F401
from tests.factories import DeviceFactory, LeadFactory, MobileAppFactory

pytestmark = pytest.mark.django_db

BUTTON = "Shop now"


@pytest.fixture
def inapp_on(db):
    AddOn.objects.update_or_create(code=AddOn.Code.IN_APP_MESSAGES, defaults={"enabled": True})


@pytest.fixture
def app(db):
    return MobileAppFactory(name="Shop")


def _form(app, **overrides):
    data = {
        "name": "Welcome pop-up",
        "app": app.pk,
        "layout": "popup_text",
        "title": "Hi {{lead.First Name:default=there}}",
        "body": "20% off today",
        "button_1_label": BUTTON,
        "button_1_android_action": "deep_link",
        "button_1_android_uri": "shop://sale",
        "button_1_ios_action": "url",
        "button_1_ios_uri": "https://shop.example.com/sale",
        "button_2_label": "",
        "text_android_action": "none",
        "text_ios_action": "none",
        "background_android_action": "none",
        "background_ios_action": "none",
        "background_color": "#ffffff",
        "text_color": "#1f2328",
        "button_color": "#0b5cad",
        "button_text_color": "#ffffff",
        "close_button": "on",
    }
    data.update(overrides)
    return data


def _approved_message(client_m, client_a, app) -> InAppMessage:
    client_m.post("/in-app/new/", _form(app))
    message = InAppMessage.objects.get()
    response = client_a.post(f"/in-app/{message.pk}/approve/")
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == InAppMessage.Status.APPROVED
    return message


def test_addon_off_the_pages_say_why_and_the_nav_still_leads_there(marketer_client):
    response = marketer_client.get("/in-app/")
    assert response.status_code == 403
    assert "In-app messages add-on is not enabled" in response.content.decode()
    home = marketer_client.get("/").content.decode()
    assert 'href="/in-app/"' in home


def test_composer_saves_a_draft_with_buttons_and_per_platform_actions(
    marketer_client, inapp_on, app
):
    response = marketer_client.post("/in-app/new/", _form(app))
    assert response.status_code == 302, response.content.decode()[:2000]
    message = InAppMessage.objects.get()
    assert message.status == InAppMessage.Status.DRAFT
    assert message.buttons[0]["label"] == BUTTON
    assert message.buttons[0]["android"] == {"action": "deep_link", "uri": "shop://sale"}
    assert message.buttons[0]["ios"]["action"] == "url"
    assert AuditEntry.objects.filter(action="inapp_message.created").count() == 1


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"body": "x" * 200}, "body", "Text: a pop-up holds at most 150 characters"),
        ({"button_1_label": ""}, "button_1_label", "Button 1 label"),
        ({"text_color": "blue"}, "text_color", "Text colour: must be a colour"),
        (
            {"button_1_ios_uri": "ftp://x"},
            "button_1_ios_uri",
            "Link on iOS: must be an http:// or https:// URL",
        ),
        ({"layout": "popup_image"}, "image_file", "Image: this layout needs an image"),
        ({"title": "Hi {{lead.First Name"}, "title", "Title:"),
    ],
)
def test_composer_errors_name_the_field_and_the_rule(
    marketer_client, inapp_on, app, overrides, field, words
):
    response = marketer_client.post("/in-app/new/", _form(app, **overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert any(words in e for e in errors[field]), errors[field]
    assert not InAppMessage.objects.exists()


def test_preview_draws_both_platforms_for_the_chosen_lead_and_warns_on_contrast(
    marketer_client, inapp_on, app
):
    lead = LeadFactory(first_name="Ada")
    response = marketer_client.post(
        "/in-app/preview/",
        _form(app, layout="fullscreen_text", text_color="#eeeeee", preview_lead=lead.pk),
    )
    data = response.json()
    assert data["html"].count('class="inapp-phone ') == 4
    assert "Hi Ada" in data["html"]
    assert data["contrast_warnings"] and "#eeeeee" in data["contrast_warnings"][0]


def test_image_upload_refuses_more_than_1440_by_2560(marketer_client, inapp_on, media_root):  # noqa: F811
    big = io.BytesIO(image_bytes("PNG", size=(1500, 800)))
    big.name = "big.png"
    response = marketer_client.post("/in-app/images/", {"image": big})
    assert response.status_code == 400
    assert "1500×800" in response.json()["error"]["message"]
    assert "1440×2560" in response.json()["error"]["message"]
    ok = io.BytesIO(image_bytes("PNG", size=(1440, 2560)))
    ok.name = "ok.png"
    assert marketer_client.post("/in-app/images/", {"image": ok}).status_code == 200


def test_marketer_cannot_approve(marketer_client, inapp_on, app):
    marketer_client.post("/in-app/new/", _form(app))
    message = InAppMessage.objects.get()
    assert marketer_client.post(f"/in-app/{message.pk}/approve/").status_code == 403


def _campaign_form(message, **overrides):
    data = {
        "name": "Welcome on open",
        "message": message.pk,
        "audience": "[]",
        "trigger": "app_open",
        "display_limit": "once_per_session",
        "priority": "5",
    }
    data.update(overrides)
    return data


def test_campaign_goes_live_pauses_resumes_and_stops_for_good(
    marketer_client, approver_client, inapp_on, app
):
    message = _approved_message(marketer_client, approver_client, app)
    response = marketer_client.post("/in-app/campaigns/new/", _campaign_form(message))
    assert response.status_code == 302
    campaign = InAppCampaign.objects.get()
    assert campaign.status == InAppCampaign.Status.DRAFT
    base = f"/in-app/campaigns/{campaign.pk}"
    assert marketer_client.post(f"{base}/approve/").status_code == 403
    approver_client.post(f"{base}/approve/")
    campaign.refresh_from_db()
    assert campaign.status == InAppCampaign.Status.LIVE
    marketer_client.post(f"{base}/pause/")
    campaign.refresh_from_db()
    assert campaign.status == InAppCampaign.Status.PAUSED
    marketer_client.post(f"{base}/resume/")
    campaign.refresh_from_db()
    assert campaign.status == InAppCampaign.Status.LIVE
    marketer_client.post(f"{base}/stop/")
    campaign.refresh_from_db()
    assert campaign.status == InAppCampaign.Status.STOPPED
    page = marketer_client.post(f"{base}/resume/", follow=True).content.decode()
    assert "cannot resume" in page
    campaign.refresh_from_db()
    assert campaign.status == InAppCampaign.Status.STOPPED
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"inapp_campaign.created", "inapp_campaign.pause", "inapp_campaign.stop"} <= actions


def test_campaign_form_errors_name_the_field(marketer_client, approver_client, inapp_on, app):
    message = _approved_message(marketer_client, approver_client, app)
    response = marketer_client.post(
        "/in-app/campaigns/new/",
        _campaign_form(message, trigger="custom_action", priority="11"),
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "Custom action name: required" in errors["trigger_action_name"][0]
    assert "Priority: must be between 1 and 10" in errors["priority"][0]


def test_audience_count_counts_devices_that_opened_the_app(marketer_client, inapp_on, app):
    DeviceFactory(app=app, platform="ios")
    DeviceFactory(app=app, platform="android")
    DeviceFactory(app=app, platform="android", first_opened_at=None, last_opened_at=None)
    response = marketer_client.post(
        "/in-app/campaigns/audience-count.json",
        data={"app": app.pk, "audience": [{"field": "platform", "value": "android"}]},
        content_type="application/json",
    )
    data = response.json()
    assert data["matched_devices"] == 2
    assert data["eligible_devices"] == 1
    assert data["excluded"]["never_opened"]["count"] == 1


def test_virtual_phone_sees_the_message_from_its_second_open_taps_and_the_dashboard_counts(
    marketer_client, approver_client, inapp_on, app
):
    message = _approved_message(marketer_client, approver_client, app)
    marketer_client.post("/in-app/campaigns/new/", _campaign_form(message))
    campaign = InAppCampaign.objects.get()
    approver_client.post(f"/in-app/campaigns/{campaign.pk}/approve/")
    lead = LeadFactory(first_name="Grace")
    phone = DeviceFactory(
        app=app, platform="ios", lead=lead, first_opened_at=None, last_opened_at=None
    )
    open_url = f"/in-app/virtual-devices/{phone.pk}/open/"

    page = marketer_client.post(open_url, follow=True).content.decode()
    assert "First open" in page and "Hi Grace" not in page
    page = marketer_client.post(open_url, follow=True).content.decode()
    assert "Hi Grace" in page
    page = marketer_client.post(
        f"/in-app/virtual-devices/{phone.pk}/event/", {"button": "1"}, follow=True
    ).content.decode()
    assert "tap on button 1" in page
    assert InAppEvent.objects.filter(kind="impression", device=phone).count() == 1
    assert InAppEvent.objects.filter(kind="tap", target="button1").count() == 1
    assert DeviceActivity.objects.filter(device=phone, kind="inapp_tapped").exists()

    dashboard = marketer_client.get(f"/in-app/campaigns/{campaign.pk}/dashboard/")
    figures = dashboard.context["figures"]
    assert figures["all"]["impressions"] == 1
    assert figures["ios"]["taps_by_target"] == {"button1": 1}
    assert figures["all"]["tap_through_rate_percent"] == 100.0
    html = dashboard.content.decode()
    assert '<td data-k="taps-button1">1</td>' in html

    rows = list(
        csv.reader(
            io.StringIO(
                b"".join(
                    marketer_client.get(
                        f"/in-app/campaigns/{campaign.pk}/events.csv"
                    ).streaming_content
                ).decode()
            )
        )
    )
    assert [r[1] for r in rows[1:]] == ["impression", "tap"]
    assert rows[2][2] == "button1"


def test_admin_switches_the_in_app_add_on_in_settings_and_it_is_audited(
    admin_client, marketer_client
):
    page = admin_client.get("/settings/").content.decode()
    assert "Turn in-app messages on" in page
    admin_client.post("/settings/", {"inapp_enabled": "1"})
    assert AddOn.objects.get(code=AddOn.Code.IN_APP_MESSAGES).enabled
    assert not AddOn.objects.filter(code=AddOn.Code.MOBILE_PUSH, enabled=True).exists()
    assert AuditEntry.objects.filter(target_id__isnull=False, action="addon.enabled").exists()
    assert marketer_client.get("/in-app/").status_code == 200
    assert marketer_client.post("/settings/", {"inapp_enabled": "0"}).status_code == 403
    admin_client.post("/settings/", {"inapp_enabled": "0"})
    assert marketer_client.get("/in-app/").status_code == 403


def test_a_message_in_use_is_not_deleted_and_says_by_whom(
    marketer_client, approver_client, inapp_on, app
):
    message = _approved_message(marketer_client, approver_client, app)
    marketer_client.post("/in-app/campaigns/new/", _campaign_form(message))
    page = marketer_client.post(f"/in-app/{message.pk}/delete/", follow=True).content.decode()
    assert "Not deleted: in-app campaigns use it (Welcome on open)" in page
    assert InAppMessage.objects.filter(pk=message.pk).exists()
    InAppCampaign.objects.all().delete()
    marketer_client.post(f"/in-app/{message.pk}/delete/")
    assert not InAppMessage.objects.exists()
    assert AuditEntry.objects.filter(action="inapp_message.deleted").count() == 1


def test_dashboard_charts_switch_to_hours_for_a_long_campaign(
    marketer_client, approver_client, inapp_on, app
):
    message = _approved_message(marketer_client, approver_client, app)
    marketer_client.post("/in-app/campaigns/new/", _campaign_form(message))
    campaign = InAppCampaign.objects.get()
    device = DeviceFactory(app=app, platform="ios")
    start = timezone.now() - dt.timedelta(days=2)
    for hours, kind in ((0, "impression"), (1, "impression"), (30, "tap")):
        InAppEvent.objects.create(
            app=app,
            campaign=campaign,
            message=message,
            device=device,
            platform="ios",
            kind=kind,
            target="button1" if kind == "tap" else "",
            occurred_at=start + dt.timedelta(hours=hours),
        )
    charts = marketer_client.get(f"/in-app/campaigns/{campaign.pk}/dashboard/").context["charts"]
    impressions, taps = charts
    assert impressions["unit"] == "h"
    assert impressions["rows"] == [[0, 1, 0], [1, 1, 0]]
    assert taps["rows"] == [[30, 1, 0]]


def test_virtual_phone_taps_the_text_when_it_has_a_tap_action(
    marketer_client, approver_client, inapp_on, app
):
    marketer_client.post(
        "/in-app/new/", _form(app, text_ios_action="url", text_ios_uri="https://shop.example.com")
    )
    message = InAppMessage.objects.get()
    approver_client.post(f"/in-app/{message.pk}/approve/")
    marketer_client.post("/in-app/campaigns/new/", _campaign_form(message))
    campaign = InAppCampaign.objects.get()
    approver_client.post(f"/in-app/campaigns/{campaign.pk}/approve/")
    phone = DeviceFactory(app=app, platform="ios")
    page = marketer_client.post(
        f"/in-app/virtual-devices/{phone.pk}/open/", follow=True
    ).content.decode()
    assert 'name="target" value="text"' in page
    assert 'name="target" value="image"' not in page  # no image, and no action on it
    page = marketer_client.post(
        f"/in-app/virtual-devices/{phone.pk}/event/", {"target": "text"}, follow=True
    ).content.decode()
    assert "tap on the text" in page
    assert InAppEvent.objects.filter(kind="tap", target="text", device=phone).count() == 1


def test_campaign_page_says_the_audience_in_words(marketer_client, approver_client, inapp_on, app):
    message = _approved_message(marketer_client, approver_client, app)
    marketer_client.post(
        "/in-app/campaigns/new/",
        _campaign_form(message, audience='[{"field": "platform", "value": "ios"}]'),
    )
    campaign = InAppCampaign.objects.get()
    sentences = marketer_client.get(f"/in-app/campaigns/{campaign.pk}/").context[
        "audience_sentences"
    ]
    assert len(sentences) == 1 and "iOS" in sentences[0]


def test_virtual_phone_reports_a_custom_action_and_sees_its_campaign(
    marketer_client, approver_client, inapp_on, app
):
    message = _approved_message(marketer_client, approver_client, app)
    marketer_client.post(
        "/in-app/campaigns/new/",
        _campaign_form(message, trigger="custom_action", trigger_action_name="checkout"),
    )
    campaign = InAppCampaign.objects.get()
    approver_client.post(f"/in-app/campaigns/{campaign.pk}/approve/")
    phone = DeviceFactory(app=app, platform="android")
    url = f"/in-app/virtual-devices/{phone.pk}/action/"
    page = marketer_client.post(url, {"action_name": "browse"}, follow=True).content.decode()
    assert "Nothing to show" in page
    page = marketer_client.post(url, {"action_name": "checkout"}, follow=True).content.decode()
    assert "Shop now" in page
    assert DeviceActivity.objects.filter(
        device=phone, kind="custom_action", action_name="checkout"
    ).exists()


def test_the_in_app_pages_speak_french(marketer_client, inapp_on, app):
    french = {"HTTP_ACCEPT_LANGUAGE": "fr"}
    composer = marketer_client.get("/in-app/new/", **french).content.decode()
    assert "Nouveau message in-app" in composer and "Mise en page" in composer
    assert "Pop-up : image, texte et boutons" in composer
    phones = marketer_client.get("/in-app/virtual-devices/", **french).content.decode()
    assert "Appareils virtuels in-app" in phones
    response = marketer_client.post("/in-app/new/", _form(app, text_color="blue"), **french)
    assert "Couleur du texte : doit être une couleur au format #rrggbb." in str(
        response.context["form"].errors["text_color"]
    )
