"""Which push a delivery sends: the one place the send path chooses content.

A row of an A/B test sends its variant's push, frozen in the run when it opened; every other
row sends the run's own push. The chosen push is then rendered the usual way (personalization,
payloads), so a later choice inside a push (a translation per device locale) composes here.
"""

from __future__ import annotations

from dataclasses import dataclass

from campaigns.models import CampaignRun
from notifications.content import PushContent


@dataclass(frozen=True)
class ChosenPush:
    notification_id: int
    content: PushContent


def run_pushes(run: CampaignRun) -> dict[str, ChosenPush]:
    """The run's pushes by variant label; "" is the run's own (rows without a variant, and a
    winner run's rows, whose content is the winner's)."""
    pushes = {"": ChosenPush(run.notification_id, PushContent.from_dict(run.content))}
    for label, arm in run.variants.items():
        if arm["content"] is not None:  # a control's rows are held out, never claimed
            pushes[label] = ChosenPush(
                arm["notification_id"], PushContent.from_dict(arm["content"])
            )
    return pushes


def delivery_push(pushes: dict[str, ChosenPush], variant: str) -> ChosenPush:
    return pushes.get(variant) or pushes[""]
