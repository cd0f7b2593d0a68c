"""The in-app services: what a valid message is (each rule names its field), approval and
drafts, the campaign state table (stop is final), roles, the add-on switch, events, audit."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from inapp.models import InAppCampaign, InAppDisplayState, InAppMessage
from inapp.rules import InAppError, contrast_ratio
from inapp.services.addon import addon_in_app_set_enabled, addon_in_app_status
from inapp.services.campaigns import (
    campaign_approve,
    campaign_create,
    campaign_pause,
    campaign_resume,
    campaign_stop,
    campaign_update,
)
from inapp.services.events import inapp_event_record
from inapp.services.messages import (
    MessageInUse,
    message_approve,
    message_create,
    message_delete,
    message_update,
)
from pushmarketing.core.models import AddOn, AuditEntry
from tests.factories import DeviceFactory, MobileAppFactory, UserFactory
from tests.inapp_fixtures import approved_message, inapp_addon_set, live_campaign

pytestmark = pytest.mark.django_db

BASE = {"name": "Promo", "layout": "popup_text", "body": "Hello"}


@pytest.fixture
def app(inapp_on):
    return MobileAppFactory()


def rule_broken(app, actor, **fields) -> InAppError:
    with pytest.raises(InAppError) as caught:
        message_create(app=app, actor=actor, fields={**BASE, **fields})
    return caught.value


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"body": "one\ntwo\nthree\nfour"}, "body", "3 lines"),
        ({"body": "x" * 151}, "body", "150 characters"),
        ({"body": ""}, "body", "required"),
        ({"layout": "popup_image"}, "image", "required"),
        ({"layout": "banner"}, "layout", "must be one of"),
        ({"background_color": "white"}, "background_color", "#rrggbb"),
        ({"title": "Hi {{lead.First Name}}"}, "title", "needs a default"),
        ({"buttons": []}, "buttons", "1-2 buttons"),
        ({"buttons": [{"label": "a"}] * 3}, "buttons", "1-2 buttons"),
        ({"buttons": [{"label": ""}]}, "buttons[0].label", "1-25"),
        (
            {"buttons": [{"label": "Go", "ios": {"action": "deep_link"}}]},
            "buttons[0].ios.uri",
            "required",
        ),
        (
            {"tap_actions": {"text": {"android": {"action": "url", "uri": "ftp://x"}}}},
            "tap_actions.text.android.uri",
            "http",
        ),
        ({"tap_actions": {"header": {}}}, "tap_actions", "unknown target"),
    ],
)
def test_each_message_rule_names_its_field(app, inapp_admin, fields, field, words):
    error = rule_broken(app, inapp_admin, **fields)
    assert error.field == field
    assert words in error.rule


def test_fullscreen_takes_longer_text_and_image_layouts_no_buttons(app, inapp_admin, tmp_path):
    message = message_create(
        app=app,
        actor=inapp_admin,
        fields={**BASE, "layout": "fullscreen_text", "body": "line\n" * 10},
    )
    assert message.is_fullscreen and message.has_text_slot and not message.has_image_slot
    # Defaults filled in: per-platform actions on every tap target, dismiss on the button.
    assert message.tap_actions["background"]["ios"] == {"action": "none", "uri": ""}
    assert message.buttons[0]["android"] == {"action": "dismiss", "uri": ""}


def test_editing_an_approved_message_keeps_the_approved_copy(app, inapp_admin):
    message = approved_message(app, inapp_admin, body="First")
    approved = dict(message.approved_content)
    message = message_update(message=message, actor=inapp_admin, fields={"body": "Second"})
    assert message.status == InAppMessage.Status.APPROVED_WITH_DRAFT
    assert message.approved_content == approved and approved["body"] == "First"
    message = message_update(message=message, actor=inapp_admin, fields={"body": "First"})
    assert message.status == InAppMessage.Status.APPROVED
    message = message_update(message=message, actor=inapp_admin, fields={"body": "Third"})
    message = message_approve(message=message, actor=inapp_admin)
    assert message.approved_content["body"] == "Third"
    actions = list(
        AuditEntry.objects.filter(target_id=str(message.pk)).values_list("action", flat=True)
    )
    assert actions.count("inapp_message.approved") == 2 and "inapp_message.edited" in actions


def test_only_approvers_and_admins_approve_and_only_marketers_edit(app, inapp_admin):
    marketer = UserFactory(role="marketer")
    approver = UserFactory(role="approver")
    message = message_create(app=app, actor=marketer, fields=BASE)
    with pytest.raises(PermissionDenied):
        message_approve(message=message, actor=marketer)
    with pytest.raises(PermissionDenied):
        message_update(message=message, actor=approver, fields={"body": "x"})
    assert message_approve(message=message, actor=approver).is_approved


def test_a_message_in_use_cannot_be_deleted(app, inapp_admin):
    campaign = live_campaign(app, inapp_admin)
    with pytest.raises(MessageInUse) as caught:
        message_delete(message=campaign.message, actor=inapp_admin)
    assert caught.value.campaign_names == [campaign.name]
    spare = approved_message(app, inapp_admin, name="Spare")
    message_delete(message=spare, actor=inapp_admin)
    assert not InAppMessage.objects.filter(pk=spare.pk).exists()
    assert AuditEntry.objects.filter(action="inapp_message.deleted").count() == 1


def test_campaign_needs_an_approved_message_of_its_app(app, inapp_admin):
    draft = message_create(app=app, actor=inapp_admin, fields=BASE)
    campaign = campaign_create(app=app, actor=inapp_admin, fields={"name": "C", "message": draft})
    with pytest.raises(InAppError) as caught:
        campaign_approve(campaign=campaign, actor=inapp_admin)
    assert caught.value.field == "message"
    other_app_message = approved_message(MobileAppFactory(), inapp_admin)
    with pytest.raises(InAppError) as caught:
        campaign_update(
            campaign=campaign, actor=inapp_admin, fields={"message": other_app_message.pk}
        )
    assert caught.value.field == "message"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"trigger": "custom_action"}, "trigger_action_name"),
        ({"trigger": "custom_action", "trigger_action_name": "x" * 20}, "trigger_action_name"),
        ({"display_limit": "twice"}, "display_limit"),
        ({"priority": 11}, "priority"),
        ({"frequency_cap_count": 3}, "frequency_cap_hours"),
        ({"audience": [{"field": "nope"}]}, "audience[0].field"),
        ({"audience": "everyone"}, "audience"),
    ],
)
def test_each_campaign_rule_names_its_field(app, inapp_admin, fields, field):
    message = approved_message(app, inapp_admin)
    with pytest.raises(InAppError) as caught:
        campaign_create(
            app=app, actor=inapp_admin, fields={"name": "C", "message": message, **fields}
        )
    assert caught.value.field == field


def test_window_end_must_follow_its_start(app, inapp_admin):
    now = timezone.now()
    message = approved_message(app, inapp_admin)
    with pytest.raises(InAppError) as caught:
        campaign_create(
            app=app,
            actor=inapp_admin,
            fields={"name": "C", "message": message, "starts_at": now, "ends_at": now},
        )
    assert caught.value.field == "ends_at"


def test_state_table_pause_resume_and_a_final_stop(app, inapp_admin):
    campaign = live_campaign(app, inapp_admin)
    assert campaign.status == InAppCampaign.Status.LIVE
    campaign = campaign_pause(campaign=campaign, actor=inapp_admin)
    with pytest.raises(InAppError, match="paused campaign cannot pause"):
        campaign_pause(campaign=campaign, actor=inapp_admin)
    campaign = campaign_resume(campaign=campaign, actor=inapp_admin)
    campaign = campaign_stop(campaign=campaign, actor=inapp_admin)
    assert campaign.stopped_at is not None
    for action in (campaign_resume, campaign_pause, campaign_approve, campaign_stop):
        with pytest.raises(InAppError) as caught:
            action(campaign=campaign, actor=inapp_admin)
        assert caught.value.field == "status"
    with pytest.raises(InAppError):
        campaign_update(campaign=campaign, actor=inapp_admin, fields={"name": "Again"})
    actions = AuditEntry.objects.filter(
        target_id=str(campaign.pk), action__startswith="inapp_campaign."
    )
    assert sorted(actions.values_list("action", flat=True)) == [
        "inapp_campaign.approve",
        "inapp_campaign.created",
        "inapp_campaign.pause",
        "inapp_campaign.resume",
        "inapp_campaign.stop",
    ]


def test_campaigns_do_not_go_live_or_resume_with_the_addon_off(app, inapp_admin):
    campaign = live_campaign(app, inapp_admin)
    campaign = campaign_pause(campaign=campaign, actor=inapp_admin)
    inapp_addon_set(False)
    with pytest.raises(InAppError) as caught:
        campaign_resume(campaign=campaign, actor=inapp_admin)
    assert caught.value.field == "addon" and "In-app messages add-on" in caught.value.rule


def test_addon_switch_is_for_admins_and_audited(db):
    admin, marketer = UserFactory(role="admin"), UserFactory(role="marketer")
    with pytest.raises(PermissionDenied):
        addon_in_app_set_enabled(enabled=True, actor=marketer)
    addon_in_app_set_enabled(enabled=True, actor=admin)
    assert AddOn.objects.get(code=AddOn.Code.IN_APP_MESSAGES).enabled
    assert not AddOn.objects.filter(code=AddOn.Code.MOBILE_PUSH, enabled=True).exists()
    status = addon_in_app_status()
    assert status.enabled and status.changed_by == admin.username
    entry = AuditEntry.objects.get(action="addon.enabled")
    assert entry.summary == "In-app messages add-on turned on"


def test_events_keep_the_display_state(app, inapp_admin):
    campaign = live_campaign(app, inapp_admin)
    device = DeviceFactory(app=app)
    for _ in range(2):
        inapp_event_record(
            app_id=app.pk,
            installation_id=device.installation_id,
            campaign_id=campaign.pk,
            kind="impression",
        )
    first_tap = inapp_event_record(
        app_id=app.pk,
        installation_id=device.installation_id,
        campaign_id=campaign.pk,
        kind="tap",
        target="text",
    )
    inapp_event_record(
        app_id=app.pk,
        installation_id=device.installation_id,
        campaign_id=campaign.pk,
        kind="tap",
        target="button1",
    )
    state = InAppDisplayState.objects.get(campaign=campaign, device=device)
    assert state.impressions == 2 and state.tapped_at == first_tap.occurred_at
    with pytest.raises(InAppError) as caught:
        inapp_event_record(
            app_id=app.pk,
            installation_id=device.installation_id,
            campaign_id=campaign.pk,
            kind="dismiss",
            target="button1",
        )
    assert caught.value.field == "target"


def test_contrast_ratio_is_wcag_s():
    assert round(contrast_ratio("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast_ratio("#777777", "#ffffff"), 2) == 4.48
    assert contrast_ratio("#0b5cad", "#0b5cad") == 1.0
