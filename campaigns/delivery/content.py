"""Which push a delivery sends: the one place the send path chooses content.

A row of an A/B test sends its variant's push, frozen in the run when it opened; every other
row sends the run's own push. Each frozen push carries its translations, so the send path then
picks the language for the row's device (notifications.locales) and renders that the usual way.
"""

from __future__ import annotations

from dataclasses import dataclass

from campaigns.models import CampaignRun
from notifications.content import LocalizedContent


@dataclass(frozen=True)
class ChosenPush:
    notification_id: int
    content: LocalizedContent


def run_pushes(run: CampaignRun) -> dict[str, ChosenPush]:
    """The run's pushes by variant label; "" is the run's own (rows without a variant, and a
    winner run's rows, whose content is the winner's)."""
    pushes = {"": ChosenPush(run.notification_id, LocalizedContent.from_dict(run.content))}
    for label, arm in run.variants.items():
        if arm["content"] is not None:  # a control's rows are held out, never claimed
            pushes[label] = ChosenPush(
                arm["notification_id"], LocalizedContent.from_dict(arm["content"])
            )
    return pushes


def delivery_label(pushes: dict[str, ChosenPush], variant: str) -> str:
    """The key of `pushes` a row with `variant` sends."""
    return variant if variant in pushes else ""
