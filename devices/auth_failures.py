"""Failed SDK authentication, limited per app key and client address (the
`sdk_auth_failure` rate, e.g. 60/min): past the limit the caller gets 429 instead of 401,
and its secret is not even checked until the window ends.

Only failures are counted, in the shared count (pushmarketing.core.throttling), so a correct
app never spends this budget. A process that saw the count pass the limit remembers it for
the rest of the window and refuses without a look-up; another process learns it from its own
next failure, so the secrets checked past the limit are at most one per process per window.
"""

from __future__ import annotations

import threading
import time

from rest_framework import exceptions
from rest_framework.request import Request

from pushmarketing.core.http import client_address
from pushmarketing.core.throttling import admit, throttle_rate

SCOPE = "sdk_auth_failure"

# counter name -> the window in which it passed the limit (this process).
_blocked: dict[str, int] = {}
_blocked_lock = threading.Lock()


def auth_failures_clear() -> None:
    with _blocked_lock:
        _blocked.clear()


def _counter(sdk_key: str, request: Request) -> tuple[str, int, int, int] | None:
    limit, period = throttle_rate(SCOPE)
    if limit is None:
        return None
    # The key is the caller's claim, not yet checked: bounded so it cannot bloat the counter.
    name = f"pm:throttle:{SCOPE}:{sdk_key[:64]}:{client_address(request)}:{period}"
    return name, limit, period, int(time.time() // period)


def _throttled(period: int, window: int) -> exceptions.Throttled:
    return exceptions.Throttled(wait=(window + 1) * period - time.time())


def auth_failures_check(*, sdk_key: str, request: Request) -> None:
    """Throttled (429) when this key and address are past the limit in this window."""
    counter = _counter(sdk_key, request)
    if counter is None:
        return
    name, _, period, window = counter
    with _blocked_lock:
        blocked = _blocked.get(name) == window
    if blocked:
        raise _throttled(period, window)


def auth_failure_record(*, sdk_key: str, request: Request) -> None:
    """Count one failure; Throttled (429) when it is past the limit."""
    counter = _counter(sdk_key, request)
    if counter is None:
        return
    name, limit, period, window = counter
    if admit(name, window, limit=limit, ttl=period + 1):
        return
    with _blocked_lock:
        for stale in [held for held, at in _blocked.items() if at != window]:
            del _blocked[stale]
        _blocked[name] = window
    raise _throttled(period, window)
