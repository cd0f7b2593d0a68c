"""The rows an A/B run inserts: which leads of the audience, and each row's variant and status.

A test run takes the leads whose bucket is in the test share (all of them without winner mode)
and gives each its variant's label; a control variant's rows are written `skipped` with reason
`held_out` (recorded and counted, never sent). A winner run takes the buckets its test run left
out and gives them all the winner's label.
"""

from __future__ import annotations

from django.db.models import Case, CharField, QuerySet, Value, When

from campaigns.abtest.assignment import (
    control_q,
    lead_bucket,
    test_share_limit,
    variant_case,
    variant_ranges,
)
from campaigns.ledger.inserts import RowShape
from campaigns.models import CampaignRun, Delivery
from devices.models import Device

HELD_OUT = "held_out"


def _text(value: str) -> Value:
    return Value(value, output_field=CharField())


def run_rows(
    *, run: CampaignRun, audience: QuerySet[Device]
) -> tuple[QuerySet[Device], RowShape | None]:
    """The run's audience narrowed to its share, and the shape of its rows (None: plain)."""
    if run.ab_test_run_id is not None:
        limit = test_share_limit(run.ab_test_percent)
        rest = audience.alias(ab_bucket=lead_bucket(run.ab_test_run_id)).filter(
            ab_bucket__gte=limit
        )
        return rest, RowShape(variant=_text(run.ab_winner))
    if not run.variants:
        return audience, None
    ranges = variant_ranges(run.variants, test_percent=run.ab_test_percent)
    tested = audience.alias(ab_bucket=lead_bucket(run.pk)).filter(
        ab_bucket__lt=test_share_limit(run.ab_test_percent)
    )
    held_out = control_q(ranges)
    if held_out is None:
        return tested, RowShape(variant=variant_case(ranges))
    status = Case(
        When(held_out, then=_text(Delivery.Status.SKIPPED)),
        default=_text(Delivery.Status.QUEUED),
        output_field=CharField(),
    )
    reason = Case(When(held_out, then=_text(HELD_OUT)), default=_text(""), output_field=CharField())
    return tested, RowShape(variant=variant_case(ranges), status=status, reason=reason)
