"""A small synchronous client for the simulator's control endpoints (virtual device inbox,
stats, reset, fault configuration). The URL comes from settings."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings

TIMEOUT_SECONDS = 5


class SimulatorError(Exception):
    pass


def base_url() -> str:
    return f"http://{settings.PUSH_SIMULATOR_HOST}:{settings.PUSH_SIMULATOR_FCM_PORT}"


def _call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    # Always http://, to the simulator's host and port from settings (base_url).
    request = urllib.request.Request(  # noqa: S310
        base_url() + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json"} if data is not None else {},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise SimulatorError(f"simulator answered {exc.code}: {detail}") from exc
    except (OSError, ValueError) as exc:
        raise SimulatorError(f"simulator not reachable at {base_url()}: {exc}") from exc


def receipts(
    token: str | None = None, *, limit: int = 100, since: float = 0.0
) -> list[dict[str, Any]]:
    """What virtual devices received, newest first (all tokens when `token` is None), at or
    after `since` (epoch seconds)."""
    query: dict[str, str | int | float] = {"limit": limit}
    if since:
        query["since"] = since
    if token is not None:
        query["token"] = token
    return _call("GET", "/_sim/receipts?" + urllib.parse.urlencode(query))["receipts"]


def stats() -> dict[str, Any]:
    return _call("GET", "/_sim/stats")


def reset() -> None:
    _call("POST", "/_sim/reset", {})


def configure(**values: Any) -> dict[str, Any]:
    """latency_ms, latency_jitter_ms, slow_latency_ms, fault_rate (0..1), fault_statuses,
    retry_after_seconds, stream_ramp."""
    return _call("POST", "/_sim/config", values)
