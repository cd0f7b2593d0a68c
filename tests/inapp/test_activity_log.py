"""In-app events in the lead's activity log (the lead page and the management API read)."""

from __future__ import annotations

import pytest

from inapp.services.events import inapp_event_record
from tests.api_fixtures import bearer_client, clear_throttle_counts
from tests.factories import DeviceFactory, LeadFactory, MobileAppFactory
from tests.inapp_fixtures import live_campaign

pytestmark = pytest.mark.django_db


def test_lead_page_and_api_show_in_app_events(inapp_on, inapp_admin, marketer_client):
    clear_throttle_counts()
    app = MobileAppFactory()
    campaign = live_campaign(app, inapp_admin, name="Spring greeting")
    lead = LeadFactory()
    device = DeviceFactory(app=app, lead=lead)
    for kind, target in (("impression", ""), ("tap", "button1"), ("dismiss", "")):
        inapp_event_record(
            app_id=app.pk,
            installation_id=device.installation_id,
            campaign_id=campaign.pk,
            kind=kind,
            target=target,
        )
    page = marketer_client.get(f"/leads/{lead.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    for label in ("In-app message shown", "In-app message tapped", "In-app message dismissed"):
        assert label in html
    assert "Spring greeting · button1" in html
    client, _ = bearer_client(inapp_admin)
    listed = client.get(f"/api/v1/leads/{lead.pk}/activities")
    assert listed.status_code == 200, listed.content
    kinds = [item["kind"] for item in listed.json()["results"]]
    assert sorted(kinds) == ["inapp_dismissed", "inapp_shown", "inapp_tapped"]
