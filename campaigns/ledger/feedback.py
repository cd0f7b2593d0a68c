"""Receipts and taps the SDK reports for a delivery: each timestamp is set once, with a
conditional UPDATE, and only the call that set it adds to the run's counter, so a repeated
report never double-counts."""

from __future__ import annotations

from datetime import datetime

from campaigns.ledger.counters import FEEDBACK_STAMPS, run_counters_add
from campaigns.models import Delivery


def delivery_feedback_record(
    *, delivery_id: int, run_id: int, platform: str, tapped: bool, occurred_at: datetime
) -> None:
    # A tap proves receipt: iOS apps often cannot report `received` (no code runs when a push
    # arrives in the background), so a tap also sets received_at if it is unset.
    outcomes = ("received", "tapped") if tapped else ("received",)
    for outcome in outcomes:
        stamp = FEEDBACK_STAMPS[outcome]
        unset = Delivery.objects.filter(pk=delivery_id, **{f"{stamp}__isnull": True})
        if unset.update(**{stamp: occurred_at}):
            run_counters_add(run_id=run_id, counts={(outcome, platform): 1})
