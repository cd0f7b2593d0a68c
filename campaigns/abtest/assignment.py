"""Which variant each lead of a run gets, as SQL expressions for the ledger's INSERT … SELECT.

A lead's bucket is a hash of (run id, lead id) in 0..9,999; each variant owns a range of
buckets as wide as its share (45 % = 4,500 buckets), in label order. The hash is computed by
the database while it inserts the rows, so a 1M-device audience is still a few statements and
Python never sees a device; and since it depends only on the run and the lead, every device of
a lead lands in the same variant, and the winner run of a winner-mode test finds the leads the
test did not reach by recomputing the same buckets.

The hash is the 32-bit finalizer of MurmurHash3 (two xor-shift-multiply rounds) over a linear
mix of the two ids. Only +, *, %, &, | and >> are used: PostgreSQL and SQLite both have them,
and every intermediate stays under 2**63 (ids are reduced mod 2**31, the multipliers are
< 2**31, and each product of a 32-bit value is taken mod 2**32 before the next).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import BigIntegerField, Case, CharField, F, Q, Value, When
from django.db.models.expressions import Combinable, CombinedExpression

BUCKETS = 10_000
_MOD32 = 2**32
_MOD31 = 2**31
_LEAD_MULTIPLIER = 2_654_435_761 % _MOD31  # Knuth's golden-ratio constant, reduced
_RUN_MULTIPLIER = 40_503
_MIX_1 = 0x85EBCA6B % _MOD31
_MIX_2 = 0xC2B2AE35 % _MOD31


def _int(value: int) -> Value:
    # BIGINT: PostgreSQL's server-side binding would send a plain int as int4, and 2**32
    # does not fit one.
    return Value(value, output_field=BigIntegerField())


def _xor_shift(h: Combinable, bits: int) -> Combinable:
    # a XOR b == (a | b) - (a & b): SQLite has no XOR operator. The shift count stays an int
    # (PostgreSQL has bigint >> int only).
    shifted = h.bitrightshift(bits)
    return CombinedExpression(h, Combinable.BITOR, shifted) - CombinedExpression(
        h, Combinable.BITAND, shifted
    )


def lead_bucket(run_id: int) -> Combinable:
    """The bucket (0..BUCKETS-1) of each row's lead in run `run_id`, as an expression over a
    Device queryset (its `lead_id`)."""
    h: Combinable = (
        (F("lead_id") % _int(_MOD31)) * _int(_LEAD_MULTIPLIER)
        + _int((run_id % _MOD31) * _RUN_MULTIPLIER)
    ) % _int(_MOD32)
    h = _xor_shift(h, 16)
    h = (h * _int(_MIX_1)) % _int(_MOD32)
    h = _xor_shift(h, 13)
    h = (h * _int(_MIX_2)) % _int(_MOD32)
    h = _xor_shift(h, 16)
    return h % _int(BUCKETS)


@dataclass(frozen=True)
class VariantRange:
    label: str
    low: int  # first bucket
    high: int  # one past the last bucket
    control: bool


def variant_ranges(
    variants: dict[str, dict[str, Any]], *, test_percent: int | None
) -> list[VariantRange]:
    """Cumulative bucket ranges per variant, in label order. In winner mode the variants share
    the first `test_percent` % of the buckets (their shares scaled to it); the rest is left for
    the winner. Shares are whole percents, so every boundary is a whole bucket."""
    scale = test_percent if test_percent is not None else 100  # buckets per share-percent / 100
    ranges, low = [], 0
    for label in sorted(variants):
        width = variants[label]["share"] * scale
        ranges.append(
            VariantRange(
                label=label, low=low, high=low + width, control=variants[label]["content"] is None
            )
        )
        low += width
    return ranges


def test_share_limit(test_percent: int | None) -> int:
    """Buckets [0, limit) are in the test; a winner run takes [limit, BUCKETS)."""
    return BUCKETS if test_percent is None else test_percent * BUCKETS // 100


def variant_case(ranges: list[VariantRange]) -> Case:
    """CASE over the annotated `ab_bucket`: the label of the range it falls in."""
    return Case(
        *(When(Q(ab_bucket__lt=r.high), then=Value(r.label)) for r in ranges),
        default=Value(""),
        output_field=CharField(),
    )


def control_q(ranges: list[VariantRange]) -> Q | None:
    """Rows of a control (send-nothing) variant, over `ab_bucket`; None when there is none."""
    q = Q()
    for r in ranges:
        if r.control:
            q |= Q(ab_bucket__gte=r.low, ab_bucket__lt=r.high)
    return q or None
