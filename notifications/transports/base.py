"""The contract between the send path and the provider transports.

A transport turns one outgoing push into exactly one `SendResult`; it never raises for a
provider answer, a network error or a timeout (those are results), and never touches the
database."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


class Outcome(StrEnum):
    SENT = "sent"
    TOKEN_INVALID = "token_invalid"  # noqa: S105 - permanent: deactivate the device
    FAILED = "failed"  # permanent: payload or credentials rejected
    RETRY = "retry"  # transient: try again after `retry_after` seconds


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider_id: str = ""
    reason: str = ""
    retry_after: float | None = None
    # APNs 410: when the provider saw the token go invalid (epoch ms). A device whose token
    # was re-registered after this must not be deactivated.
    invalid_since_ms: int | None = None
    # The credentials themselves were rejected (401/403): the app should be flagged.
    credentials_rejected: bool = False


@dataclass(frozen=True)
class OutgoingPush:
    """One message to one device, already built by notifications.payloads."""

    delivery_id: int
    token: str
    # FCM: the v1 `message` dict. APNs: {"headers": {...}, "payload": {...}}.
    body: dict[str, Any]
    # The JSON the provider is sent, when the builder already encoded it to measure its size
    # (FCM: the `message` object; APNs: the payload); else the transport encodes `body`.
    encoded: bytes | None = None


class Transport(Protocol):
    async def send(self, push: OutgoingPush) -> SendResult: ...

    async def close(self) -> None: ...


def log_result(
    logger: logging.Logger, provider: str, push: OutgoingPush, result: SendResult
) -> None:
    """One line per outcome, prefixed with the provider; a token shows as 8 characters at most."""
    token = push.token[:8]
    if result.outcome == Outcome.SENT:
        logger.debug("%s: sent delivery %s to %s…", provider, push.delivery_id, token)
    elif result.outcome == Outcome.RETRY:
        logger.info(
            "%s: retry delivery %s to %s… in %ss: %s",
            provider, push.delivery_id, token, result.retry_after, result.reason,
        )  # fmt: skip
    else:
        logger.warning(
            "%s: %s delivery %s to %s…: %s",
            provider, result.outcome, push.delivery_id, token, result.reason,
        )  # fmt: skip
