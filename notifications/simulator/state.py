"""Shared state of one simulator process: fault configuration, token-shape rules, receipts.

Touched only from the simulator's event loop thread, so no locks."""

from __future__ import annotations

import json
import random
import time
from collections import OrderedDict, deque
from dataclasses import asdict, dataclass, field
from typing import Any

MAX_PAYLOAD_BYTES = 4096
# Memory bound: ≤ 100,000 receipts of ~1 KB (raw JSON bytes, decoded only when read).
RECEIPTS_PER_TOKEN = 20
# A load bench at 500 triggers/s for 30 s reaches 15,000 distinct phones.
MAX_TOKENS_TRACKED = 50_000
FAULT_STATUSES = (429, 500, 503)


@dataclass
class SimulatorConfig:
    # Every request (FCM and APNs) is answered after latency_ms ± latency_jitter_ms (uniform,
    # never below 0): real providers are 20–100 ms away, and only concurrency hides that.
    latency_ms: int = 0
    latency_jitter_ms: int = 0
    # Extra latency for tokens that contain `slow` (FCM) / start with `51030` (APNs).
    slow_latency_ms: int = 3000
    # Probability (0..1) that any request gets one of `fault_statuses` instead of its answer.
    fault_rate: float = 0.0
    fault_statuses: list[int] = field(default_factory=lambda: list(FAULT_STATUSES))
    retry_after_seconds: int = 1
    # APNs: each new connection advertises SETTINGS_MAX_CONCURRENT_STREAMS = 1 and raises it to
    # 1000 once its first authorised request is answered, as Apple does. Off: 1000 from the start.
    stream_ramp: bool = True

    def update(self, values: dict[str, Any]) -> dict[str, list[str]]:
        """Apply a partial update; returns {field: [rule]} errors and changes nothing on error."""
        errors: dict[str, list[str]] = {}
        new = asdict(self)
        for name, value in values.items():
            if name not in new:
                errors[name] = ["unknown setting"]
            elif name == "fault_rate":
                if not isinstance(value, int | float) or not 0 <= value <= 1:
                    errors[name] = ["must be a number between 0 and 1"]
            elif name == "stream_ramp":
                if not isinstance(value, bool):
                    errors[name] = ["must be true or false"]
            elif name == "fault_statuses":
                if not isinstance(value, list) or not all(
                    v in (400, 404, 410, 429, 500, 503) for v in value
                ):
                    errors[name] = ["must be a list of 400, 404, 410, 429, 500, 503"]
            elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
                errors[name] = ["must be a non-negative integer"]
            new[name] = value
        if not errors:
            for name, value in new.items():
                setattr(self, name, value)
        return errors


@dataclass(frozen=True)
class Receipt:
    provider: str  # fcm | apns
    token: str
    status: int
    reason: str
    received_at: float
    environment: str = ""  # apns: sandbox | production
    host: str = ""
    headers: dict[str, str] | None = None
    # The request body as received; FCM's message sits under its "message" key.
    raw: bytes = b""
    raw_key: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = {
            name: value for name, value in asdict(self).items() if name not in ("raw", "raw_key")
        }
        message = json.loads(self.raw) if self.raw else None
        if message is not None and self.raw_key:
            message = message.get(self.raw_key)
        data["message"] = message
        return data


@dataclass
class ApnsStreamStats:
    """How clients used APNs streams since the last reset: a client that honours the ramp
    reaches hundreds of streams per connection and never goes over the advertised limit."""

    connections: int = 0
    # Most streams open at once (received, not yet answered) on any one connection.
    max_in_flight_per_connection: int = 0
    # Streams opened while the connection already had its advertised limit in flight.
    over_advertised_limit: int = 0

    def opened(self, *, in_flight: int, advertised: int) -> None:
        self.max_in_flight_per_connection = max(self.max_in_flight_per_connection, in_flight)
        if in_flight > advertised:
            self.over_advertised_limit += 1


class SimulatorState:
    def __init__(self, config: SimulatorConfig | None = None, *, seed: int | None = None) -> None:
        self.config = config or SimulatorConfig()
        # Which answer the simulator fakes next: repeatable from a seed, not security.
        self.random = random.Random(seed)  # noqa: S311
        self.reset()

    def reset(self) -> None:
        self.receipts: OrderedDict[str, deque[Receipt]] = OrderedDict()
        self.totals: dict[str, dict[str, int]] = {"fcm": {}, "apns": {}}
        self.tokens_issued = 0
        # OAuth2 access token -> (project id, expiry epoch); a reset revokes them all.
        self.access_tokens: dict[str, tuple[str, float]] = {}
        self.provider_tokens_verified = 0
        self.apns_streams = ApnsStreamStats()
        self.started_at = time.time()

    def injected_fault(self) -> int | None:
        rate = self.config.fault_rate
        if rate and self.random.random() < rate and self.config.fault_statuses:
            return self.random.choice(self.config.fault_statuses)
        return None

    def latency_seconds(self, *, slow: bool) -> float:
        jitter = self.config.latency_jitter_ms
        ms = self.config.latency_ms + (self.random.uniform(-jitter, jitter) if jitter else 0)
        ms = max(0.0, ms) + (self.config.slow_latency_ms if slow else 0)
        return ms / 1000

    def record(self, receipt: Receipt) -> None:
        totals = self.totals[receipt.provider]
        key = str(receipt.status)
        totals[key] = totals.get(key, 0) + 1
        totals["requests"] = totals.get("requests", 0) + 1
        if receipt.status != 200:
            return  # only deliveries land in a virtual device's inbox
        inbox = self.receipts.get(receipt.token)
        if inbox is None:
            if len(self.receipts) >= MAX_TOKENS_TRACKED:
                self.receipts.popitem(last=False)
            inbox = self.receipts[receipt.token] = deque(maxlen=RECEIPTS_PER_TOKEN)
        else:
            self.receipts.move_to_end(receipt.token)
        inbox.append(receipt)

    def receipts_for(
        self, token: str | None, *, limit: int = 100, since: float = 0.0
    ) -> list[dict[str, Any]]:
        if token is not None:
            inbox = self.receipts.get(token, ())
            items = [r for r in inbox if r.received_at >= since]
        else:
            items = [r for inbox in self.receipts.values() for r in inbox if r.received_at >= since]
            items.sort(key=lambda r: r.received_at)
        return [r.as_dict() for r in reversed(items[-limit:])]

    def stats(self) -> dict[str, Any]:
        return {
            "fcm": dict(self.totals["fcm"]),
            "apns": dict(self.totals["apns"]),
            "tokens_tracked": len(self.receipts),
            "access_tokens_issued": self.tokens_issued,
            "apns_provider_tokens_seen": self.provider_tokens_verified,
            "apns_streams": asdict(self.apns_streams),
            "config": asdict(self.config),
            "uptime_seconds": round(time.time() - self.started_at, 1),
        }
