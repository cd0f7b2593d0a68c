"""A/B test settings of a batch campaign: validate them, store them, freeze them into a run.

Rules (each error names the field and the rule): 2-5 variants; whole-percent shares that sum to
100; every variant that is not a control sends an approved push of the campaign's app, and at
least one variant sends something; winner mode needs a test share of 1-50 % and a wait of at
least a minute. Only batch campaigns have tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from campaigns.models import Campaign, CampaignRun, CampaignVariant
from campaigns.qualification import RuleError
from campaigns.rules import CampaignError
from devices.models import MobileApp
from notifications.models import PushNotification

MIN_VARIANTS = 2
MAX_VARIANTS = len(CampaignVariant.LABELS)
MAX_TEST_PERCENT = 50
MAX_WAIT_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class VariantSpec:
    label: str
    notification: PushNotification | None  # None: control, sends nothing
    share_percent: int


@dataclass(frozen=True)
class AbTestSpec:
    variants: tuple[VariantSpec, ...]
    winner_mode: bool = False
    test_percent: int | None = None
    wait_minutes: int | None = None


def _whole(value: Any, field: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RuleError(field, f"must be a whole number from {low} to {high}")
    return value


def _variant(row: Any, index: int, *, app: MobileApp) -> VariantSpec:
    where = f"ab_test.variants[{index}]"
    if not isinstance(row, dict):
        raise RuleError(where, "must be an object")
    share = _whole(row.get("share_percent"), f"{where}.share_percent", low=1, high=99)
    notification = row.get("notification")
    if row.get("control") or notification is None:
        if not row.get("control"):
            raise RuleError(f"{where}.notification", "is required unless the variant is a control")
        return VariantSpec(CampaignVariant.LABELS[index], None, share)
    if not isinstance(notification, PushNotification):
        raise RuleError(f"{where}.notification", "must be a push")
    if notification.app_id != app.pk:
        raise RuleError(f"{where}.notification", "must be a push of the campaign's app")
    if not notification.approved_content:
        raise RuleError(f"{where}.notification", "must be an approved push")
    return VariantSpec(CampaignVariant.LABELS[index], notification, share)


def ab_test_validate(data: Any, *, app: MobileApp, kind: str) -> AbTestSpec | None:
    """The campaign's A/B settings checked (None: no test). `data` is
    {"variants": [{"notification": PushNotification | None, "control": bool,
    "share_percent": int}, ...], "winner_mode": bool, "test_percent": int, "wait_minutes": int}
    with pushes already looked up; raises RuleError naming the bad field."""
    if not data:
        return None
    if not isinstance(data, dict):
        raise RuleError("ab_test", "must be an object")
    if kind != Campaign.Kind.BATCH:
        raise RuleError("ab_test", "is only available on batch campaigns")
    rows = data.get("variants")
    if not isinstance(rows, list) or not MIN_VARIANTS <= len(rows) <= MAX_VARIANTS:
        raise RuleError(
            "ab_test.variants", f"must have from {MIN_VARIANTS} to {MAX_VARIANTS} variants"
        )
    variants = tuple(_variant(row, i, app=app) for i, row in enumerate(rows))
    total = sum(v.share_percent for v in variants)
    if total != 100:
        raise RuleError("ab_test.variants", f"shares must sum to 100 % (they sum to {total} %)")
    if all(v.notification is None for v in variants):
        raise RuleError("ab_test.variants", "must include at least one variant that sends a push")
    winner_mode = data.get("winner_mode", False)
    if not isinstance(winner_mode, bool):
        raise RuleError("ab_test.winner_mode", "must be true or false")
    if not winner_mode:
        return AbTestSpec(variants=variants)
    test_percent = _whole(
        data.get("test_percent"), "ab_test.test_percent", low=1, high=MAX_TEST_PERCENT
    )
    wait = _whole(data.get("wait_minutes"), "ab_test.wait_minutes", low=1, high=MAX_WAIT_MINUTES)
    return AbTestSpec(
        variants=variants, winner_mode=True, test_percent=test_percent, wait_minutes=wait
    )


def campaign_variants_set(*, campaign: Campaign, spec: AbTestSpec | None) -> None:
    """Replace the campaign's variants and winner settings with `spec` (None: no test)."""
    campaign.variants.all().delete()
    if spec is not None:
        CampaignVariant.objects.bulk_create(
            CampaignVariant(
                campaign=campaign,
                label=v.label,
                notification=v.notification,
                share_percent=v.share_percent,
            )
            for v in spec.variants
        )
    campaign.ab_winner_mode = bool(spec and spec.winner_mode)
    campaign.ab_test_percent = spec.test_percent if spec else None
    campaign.ab_wait_minutes = spec.wait_minutes if spec else None
    campaign.save(update_fields=["ab_winner_mode", "ab_test_percent", "ab_wait_minutes"])


def ab_test_describe(campaign: Campaign) -> dict[str, Any] | None:
    """The stored settings in the API's shape (None: no test)."""
    variants = list(campaign.variants.all())
    if not variants:
        return None
    return {
        "variants": [
            {
                "label": v.label,
                "notification_id": v.notification_id,
                "control": v.is_control,
                "share_percent": v.share_percent,
            }
            for v in variants
        ],
        "winner_mode": campaign.ab_winner_mode,
        "test_percent": campaign.ab_test_percent,
        "wait_minutes": campaign.ab_wait_minutes,
    }


def variants_freeze(campaign: Campaign) -> dict[str, dict[str, Any]]:
    """The run's frozen arms: each variant's share and its push's approved content now
    (RuleError when one is no longer approved); {} for a campaign without a test."""
    frozen: dict[str, dict[str, Any]] = {}
    for v in campaign.variants.select_related("notification"):
        content = None
        if v.notification is not None:
            if not v.notification.approved_content:
                raise CampaignError(
                    f"ab_test.variants[{v.label}].notification", "must be an approved push"
                )
            content = v.notification.approved_content
        frozen[v.label] = {
            "share": v.share_percent,
            "notification_id": v.notification_id,
            "content": content,
        }
    return frozen


def run_is_ab_test(run: CampaignRun) -> bool:
    return bool(run.variants)
