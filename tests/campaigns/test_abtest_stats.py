"""The confidence statement's arithmetic: two-proportion z-test and the sends still needed."""

from __future__ import annotations

import pytest

from campaigns.abtest.stats import (
    Arm,
    arms_ranked,
    arms_verdict,
    sends_per_arm_needed,
    z_test_confidence,
)
from campaigns.reports.variants import verdict_statement


def test_a_clear_difference_is_significant_and_names_the_leader():
    verdict = arms_verdict([Arm("A", 1000, 100), Arm("B", 1000, 130)])
    assert verdict is not None
    assert (verdict.leader, verdict.runner_up, verdict.significant) == ("B", "A", True)
    # z = 0.03 / sqrt(0.115 * 0.885 * 0.002) = 2.108 -> 2 Φ(2.108) - 1 = 0.965
    assert verdict.confidence == pytest.approx(0.9645, abs=0.0005)
    assert verdict.more_sends_needed is None
    assert verdict_statement(verdict) == "B beats A with 96 % confidence."


def test_a_small_sample_is_not_significant_and_says_how_many_more_sends():
    verdict = arms_verdict([Arm("A", 100, 10), Arm("B", 100, 12)])
    assert verdict is not None and not verdict.significant
    # 10 % against 12 %: 3,841 per arm (see sends_per_arm_needed), minus the 100 each has.
    assert sends_per_arm_needed(0.10, 0.12) == 3841
    assert verdict.more_sends_needed == 2 * (3841 - 100)
    assert verdict_statement(verdict) == (
        "Not significant yet (B leads A with 34 % confidence), ~7,482 more sends needed "
        "for 95 % confidence."
    )


def test_equal_rates_cannot_estimate_the_sends_needed():
    verdict = arms_verdict([Arm("A", 50, 5), Arm("B", 50, 5)])
    assert verdict is not None
    assert (verdict.significant, verdict.more_sends_needed, verdict.leader) == (False, None, "A")
    assert verdict_statement(verdict) == "Not significant yet: no difference in tap-through so far."


def test_no_taps_at_all_gives_no_confidence():
    assert z_test_confidence(Arm("A", 100, 0), Arm("B", 100, 0)) == 0.0


def test_fewer_than_two_arms_with_sends_have_no_verdict():
    assert arms_verdict([Arm("A", 100, 10), Arm("B", 0, 0)]) is None
    assert verdict_statement(None) == "Not enough sends yet to compare the variants."


def test_ties_rank_the_first_label_first():
    assert [a.label for a in arms_ranked([Arm("C", 10, 1), Arm("B", 20, 2), Arm("A", 5, 0)])] == [
        "B",
        "C",
        "A",
    ]
