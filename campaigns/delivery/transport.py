"""The one place the send path reaches the provider transports (notifications.transports).

The runtime keeps one long-lived event loop per worker process, holding the aioapns client
and the aiohttp session built after fork; `send_many` runs a batch concurrently with a bound
on requests in flight and a timeout on each, and returns one SendResult per push, in order.
"""

from __future__ import annotations

from collections.abc import Sequence

from devices.models import MobileApp, PushCredential
from notifications.transports import runtime
from notifications.transports.base import OutgoingPush, SendResult
from notifications.transports.config import transport_config_from


def pushes_send(
    *, credential: PushCredential, app: MobileApp, pushes: Sequence[OutgoingPush]
) -> list[SendResult]:
    if not pushes:
        return []
    config = transport_config_from(credential, app)
    return runtime.send_many(config, list(pushes))
