"""A/B settings: every rule is checked and named; the editor and the API carry the variants."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from campaigns import services
from campaigns.abtest.variants import ab_test_validate
from campaigns.models import Campaign, CampaignVariant
from campaigns.qualification import RuleError
from tests.campaign_fixtures import approve
from tests.factories import MobileAppFactory, PushNotificationFactory

pytestmark = pytest.mark.django_db


def _row(push: Any, share: int) -> dict[str, Any]:
    return {"notification": push, "share_percent": share, "control": push is None}


@pytest.fixture
def pushes(app):  # noqa: ANN001, ANN201
    return [approve(PushNotificationFactory(app=app, name=f"P{i}")) for i in range(6)]


@pytest.mark.parametrize(
    ("data", "field", "rule"),
    [
        ({"variants": "x"}, "ab_test.variants", "must have from 2 to 5 variants"),
        ({"variants": [("p0", 100)]}, "ab_test.variants", "must have from 2 to 5 variants"),
        (
            {"variants": [(f"p{i}", 10) for i in range(6)]},
            "ab_test.variants",
            "must have from 2 to 5 variants",
        ),
        (
            {"variants": [("p0", 50), ("p1", 40)]},
            "ab_test.variants",
            "shares must sum to 100 % (they sum to 90 %)",
        ),
        (
            {"variants": [("p0", 0), ("p1", 100)]},
            "ab_test.variants[0].share_percent",
            "must be a whole number from 1 to 99",
        ),
        (
            {"variants": [(None, 50), (None, 50)]},
            "ab_test.variants",
            "must include at least one variant that sends a push",
        ),
        (
            {"variants": [("p0", 50), ("p1", 50)], "winner_mode": True, "wait_minutes": 5},
            "ab_test.test_percent",
            "must be a whole number from 1 to 50",
        ),
        (
            {"variants": [("p0", 50), ("p1", 50)], "winner_mode": True, "test_percent": 51},
            "ab_test.test_percent",
            "must be a whole number from 1 to 50",
        ),
        (
            {
                "variants": [("p0", 50), ("p1", 50)],
                "winner_mode": True,
                "test_percent": 20,
                "wait_minutes": 0,
            },
            "ab_test.wait_minutes",
            "must be a whole number from 1 to 10080",
        ),
    ],
)
def test_each_broken_rule_names_its_field(app, pushes, data, field, rule):  # noqa: ANN001
    by_name = {f"p{i}": push for i, push in enumerate(pushes)}
    if isinstance(data["variants"], list):
        data = {
            **data,
            "variants": [
                _row(by_name.get(name) if name else None, s) for name, s in data["variants"]
            ],
        }
    with pytest.raises(RuleError) as error:
        ab_test_validate(data, app=app, kind=Campaign.Kind.BATCH)
    assert (error.value.field, error.value.rule) == (field, rule)


def test_a_variant_push_must_be_approved_and_of_the_campaigns_app(app, pushes):  # noqa: ANN001
    draft = PushNotificationFactory(app=app)
    other = approve(PushNotificationFactory(app=MobileAppFactory()))
    for push, rule in (
        (draft, "must be an approved push"),
        (other, "must be a push of the campaign's app"),
    ):
        with pytest.raises(RuleError) as error:
            ab_test_validate(
                {"variants": [_row(pushes[0], 50), _row(push, 50)]}, app=app, kind="batch"
            )
        assert (error.value.field, error.value.rule) == ("ab_test.variants[1].notification", rule)


def test_only_batch_campaigns_have_ab_tests(app, pushes):  # noqa: ANN001
    with pytest.raises(RuleError) as error:
        ab_test_validate(
            {"variants": [_row(pushes[0], 50), _row(pushes[1], 50)]}, app=app, kind="trigger"
        )
    assert (error.value.field, error.value.rule) == (
        "ab_test",
        "is only available on batch campaigns",
    )


def test_a_valid_test_with_a_control_is_stored_and_audited(app, pushes, admin_user):  # noqa: ANN001
    campaign = services.campaign_create(
        actor=admin_user,
        app=app,
        kind="batch",
        data={
            "name": "Spring",
            "notification": pushes[0],
            "ab_test": {
                "variants": [_row(pushes[0], 45), _row(pushes[1], 45), _row(None, 10)],
                "winner_mode": True,
                "test_percent": 20,
                "wait_minutes": 30,
            },
        },
    )
    variants = list(campaign.variants.values_list("label", "notification_id", "share_percent"))
    assert variants == [("A", pushes[0].pk, 45), ("B", pushes[1].pk, 45), ("C", None, 10)]
    assert (campaign.ab_winner_mode, campaign.ab_test_percent, campaign.ab_wait_minutes) == (
        True,
        20,
        30,
    )
    from pushmarketing.core.models import AuditEntry

    entry = AuditEntry.objects.get(action="campaign.created")
    assert entry.details["ab_test"]["variants"][2] == {
        "label": "C",
        "notification_id": None,
        "control": True,
        "share_percent": 10,
    }
    # Editing without a test removes it.
    services.campaign_update(
        actor=admin_user, campaign=campaign, data={"name": "Spring", "notification": pushes[0]}
    )
    campaign.refresh_from_db()
    assert not CampaignVariant.objects.filter(campaign=campaign).exists()
    assert (campaign.ab_winner_mode, campaign.ab_test_percent) == (False, None)


def _form(app, push, **extra: Any) -> dict[str, Any]:  # noqa: ANN001
    return {
        "name": "Editor test",
        "app": app.pk,
        "notification": push.pk,
        "schedule_kind": "now",
        "qualification": "once",
        "audience": "[]",
        **extra,
    }


def test_the_editor_saves_variants_and_shows_errors_on_the_row(
    marketer_client, app, pushes, addon_on
):  # noqa: ANN001
    url = reverse("campaign-create") + "?kind=batch"
    bad = _form(
        app,
        pushes[0],
        ab_enabled="on",
        ab_variant_0=str(pushes[0].pk),
        ab_share_0="50",
        ab_variant_2="control",
        ab_share_2="0",
    )
    response = marketer_client.post(url, bad)
    assert response.status_code == 400
    assert response.context["form"].errors["ab_share_2"] == ["Must be a whole number from 1 to 99."]
    good = {**bad, "ab_share_2": "50"}
    response = marketer_client.post(url, good)
    assert response.status_code == 302
    campaign = Campaign.objects.get(name="Editor test")
    assert list(campaign.variants.values_list("label", "notification_id", "share_percent")) == [
        ("A", pushes[0].pk, 50),
        ("B", None, 50),
    ]
    page = marketer_client.get(reverse("campaign-detail", args=[campaign.pk])).content.decode()
    assert 'id="ab-test"' in page and "Control: sends nothing (held out)" in page
    edit = marketer_client.get(reverse("campaign-edit", args=[campaign.pk]))
    assert edit.context["form"].initial["ab_variant_1"] == "control"
