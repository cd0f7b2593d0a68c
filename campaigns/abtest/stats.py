"""The confidence statement of an A/B comparison: a two-proportion z-test on tap-through rates.

Pure arithmetic (no database): the dashboard and the winner task pass counts in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Two-sided 95 % confidence and 80 % power: the usual bar for calling a test.
Z_CONFIDENCE = 1.959964  # Φ⁻¹(0.975)
Z_POWER = 0.841621  # Φ⁻¹(0.80)
SIGNIFICANT_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Arm:
    label: str
    sent: int
    tapped: int

    @property
    def rate(self) -> float:
        return self.tapped / self.sent if self.sent else 0.0


@dataclass(frozen=True)
class Verdict:
    leader: str
    runner_up: str
    confidence: float  # 0..1, two-sided: 1 - p
    significant: bool
    more_sends_needed: int | None  # None: no difference observed, cannot be estimated


def _phi(z: float) -> float:
    """The standard normal CDF."""
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def z_test_confidence(a: Arm, b: Arm) -> float:
    """1 - the two-sided p-value that a's and b's tap-through rates differ.

    z = (p_b - p_a) / sqrt(p (1 - p) (1/n_a + 1/n_b)) with p the pooled rate
    (taps_a + taps_b) / (n_a + n_b); p-value = 2 (1 - Φ(|z|))."""
    if not a.sent or not b.sent:
        return 0.0
    pooled = (a.tapped + b.tapped) / (a.sent + b.sent)
    variance = pooled * (1 - pooled) * (1 / a.sent + 1 / b.sent)
    if variance <= 0:
        return 0.0  # nobody tapped (or everybody did): no evidence either way
    z = (b.rate - a.rate) / math.sqrt(variance)
    return 2 * _phi(abs(z)) - 1


def sends_per_arm_needed(p1: float, p2: float) -> int | None:
    """Sends each arm needs to detect the difference between rates p1 and p2 with 95 %
    confidence (two-sided) and 80 % power, or None when they are equal.

    The standard sample size of a two-proportion test:
        n = (z_α/2 · sqrt(2 p̄ (1 - p̄)) + z_β · sqrt(p1 (1 - p1) + p2 (1 - p2)))² / (p1 - p2)²
    with p̄ = (p1 + p2) / 2, z_α/2 = 1.96 and z_β = 0.84. E.g. 10 % against 12 % tap-through:
    p̄ = 0.11, (1.96 · 0.4425 + 0.8416 · 0.4423)² / 0.02² = (0.8673 + 0.3722)² / 0.0004
    ≈ 3,841 sends per arm."""
    if p1 == p2:
        return None
    mean = (p1 + p2) / 2
    numerator = Z_CONFIDENCE * math.sqrt(2 * mean * (1 - mean)) + Z_POWER * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2)
    )
    return math.ceil(numerator**2 / (p1 - p2) ** 2)


def arms_ranked(arms: list[Arm]) -> list[Arm]:
    """Best tap-through rate first; a tie keeps label order (ties go to the first variant)."""
    return sorted(arms, key=lambda arm: (-arm.rate, arm.label))


def arms_verdict(arms: list[Arm]) -> Verdict | None:
    """The leader against the runner-up (None with fewer than two arms that sent)."""
    sent = [arm for arm in arms if arm.sent]
    if len(sent) < 2:
        return None
    leader, runner_up = arms_ranked(sent)[:2]
    confidence = z_test_confidence(runner_up, leader)
    significant = confidence >= SIGNIFICANT_CONFIDENCE and leader.rate > runner_up.rate
    needed = None
    if not significant:
        per_arm = sends_per_arm_needed(runner_up.rate, leader.rate)
        if per_arm is not None:
            # More sends, over both arms, until each has per_arm.
            needed = max(per_arm - leader.sent, 0) + max(per_arm - runner_up.sent, 0)
    return Verdict(
        leader=leader.label,
        runner_up=runner_up.label,
        confidence=confidence,
        significant=significant,
        more_sends_needed=needed,
    )
