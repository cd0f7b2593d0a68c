"""The one place the send path reaches the provider transports (notifications.transports).

The runtime keeps one long-lived event loop per worker process, holding the aioapns client
and the aiohttp session built after fork; a batch runs concurrently with a bound on requests
in flight and a timeout on each. `pushes_stream` yields each answer as it arrives: the send
path records them in small batches, so a crash re-sends at most what was in flight.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from devices.models import MobileApp, PushCredential
from notifications.transports import runtime
from notifications.transports.base import Outcome, OutgoingPush, SendResult
from notifications.transports.config import TransportConfig, transport_config_from

Group = tuple[PushCredential, MobileApp, Sequence[OutgoingPush]]


def pushes_stream(
    groups: Sequence[Group], *, tick: float
) -> Iterator[tuple[OutgoingPush, SendResult] | None]:
    """Every group (one per provider) at once; (push, result) per answer as it arrives, None
    after `tick` seconds without one. Credentials that cannot be decrypted or parsed fail
    their group's pushes (permanent for this batch)."""
    configs: list[tuple[TransportConfig, Sequence[OutgoingPush]]] = []
    for credential, app, pushes in groups:
        try:
            configs.append((transport_config_from(credential, app), pushes))
        except ValueError as exc:
            failure = SendResult(
                outcome=Outcome.FAILED,
                reason=f"credentials unusable: {exc}",
                credentials_rejected=True,
            )
            yield from ((push, failure) for push in pushes)
    yield from runtime.send_streaming(configs, tick=tick)
