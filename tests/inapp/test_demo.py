"""The demo loop after `make run`: the seed's live in-app campaign shows on a seeded virtual
phone at its next open, and a tap reaches the dashboard and the lead's activity log."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from devices.models import Device, DeviceActivity
from inapp.models import InAppCampaign, InAppEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(settings, tmp_path):
    settings.DEBUG = True  # seed_demo refuses to run otherwise (it makes known passwords)
    settings.PUSH_SIMULATOR_ENABLED = True
    settings.PUSH_SIMULATOR_DIR = tmp_path / "simulator"
    call_command("seed_demo", verbosity=0)
    settings.DEBUG = False


def test_seeded_phone_shows_the_pop_up_at_its_next_open_and_the_tap_is_counted(seeded, client):
    client.force_login(get_user_model().objects.get(username="marketer"))
    campaign = InAppCampaign.objects.get()
    assert campaign.status == InAppCampaign.Status.LIVE
    ada = Device.objects.get(installation_id="demo-ios-0")

    page = client.get("/in-app/virtual-devices/").content.decode()
    assert f'id="phone-{ada.pk}"' in page
    page = client.post(f"/in-app/virtual-devices/{ada.pk}/open/", follow=True).content.decode()
    assert "Hi Ada!" in page and "Shop now" in page
    client.post(f"/in-app/virtual-devices/{ada.pk}/event/", {"button": "1"})

    assert list(InAppEvent.objects.values_list("kind", "target").order_by("id")) == [
        ("impression", ""),
        ("tap", "button1"),
    ]
    assert DeviceActivity.objects.filter(device=ada, kind="inapp_tapped").exists()
    dashboard = client.get(f"/in-app/campaigns/{campaign.pk}/dashboard/").content.decode()
    assert '<td data-k="taps-button1">1</td>' in dashboard
    # Once per session: each open starts a session, so the next open shows it again;
    # closing it reports a dismissal.
    client.post(f"/in-app/virtual-devices/{ada.pk}/open/")
    client.post(f"/in-app/virtual-devices/{ada.pk}/event/", {})
    assert InAppEvent.objects.filter(kind="dismiss", device=ada).count() == 1
