"""Which worker processes are alive: an identity per process and a heartbeat in the cache.

A process that claims deliveries (campaigns.ledger.claim) stamps them with its identity and
keeps a key `pm:alive:<identity>` fresh in the shared cache (Redis in production, the file
cache on the embedded default) from a daemon thread. When the process dies — SIGKILL, OOM, a
lost machine — the key expires within HEARTBEAT_TTL_SECONDS, and the sweeper requeues the rows
it still held instead of waiting PUSH_SENDING_TIMEOUT_SECONDS (minutes) for them.

The identity includes a random token, so a restarted process with a reused pid is never
taken for the dead one. Nothing starts at import: the heartbeat starts on the first claim,
in whichever process (prefork child, solo worker) makes it, and a forked child starts afresh.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Iterable

from django.core.cache import cache

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
# Three missed beats: a process stalled by a long GC or a busy disk is not declared dead.
HEARTBEAT_TTL_SECONDS = 15

_lock = threading.Lock()
_identity: str | None = None
_beating: threading.Event | None = None


def _reset_after_fork() -> None:
    global _lock, _identity, _beating
    _lock, _identity, _beating = threading.Lock(), None, None


os.register_at_fork(after_in_child=_reset_after_fork)


def process_identity() -> str:
    """host:pid:token of this process (at most 100 characters, Delivery.claimed_by)."""
    global _identity
    with _lock:
        if _identity is None:
            _identity = f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"
        return _identity


def current_identity() -> str | None:
    """This process's identity if it has claimed anything (its heartbeat runs), else None."""
    with _lock:
        return _identity if _beating is not None else None


def _key(identity: str) -> str:
    return f"pm:alive:{identity}"


def heartbeat_ensure() -> str:
    """Start this process's heartbeat if it is not beating yet; returns its identity."""
    global _beating
    identity = process_identity()
    with _lock:
        if _beating is not None:
            return identity
        _beating = stop = threading.Event()
    _beat(identity)  # alive from the first claim, not HEARTBEAT_SECONDS later
    thread = threading.Thread(
        target=_beat_forever, args=(identity, stop), name="pm-heartbeat", daemon=True
    )
    thread.start()
    return identity


def _beat(identity: str) -> None:
    try:
        cache.set(_key(identity), 1, HEARTBEAT_TTL_SECONDS)
    except Exception as exc:  # noqa: BLE001 - a missed beat is retried; the TTL allows three
        logger.warning("liveness: heartbeat of %s failed: %s", identity, exc.__class__.__name__)


def _beat_forever(identity: str, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_SECONDS):
        _beat(identity)


def heartbeat_stop() -> None:
    """A clean exit: stop beating and say so at once (the sweeper need not wait for the TTL)."""
    global _beating
    with _lock:
        stop, _beating = _beating, None
        identity = _identity
    if stop is not None:
        stop.set()
    if identity is not None:
        try:
            cache.delete(_key(identity))
        except Exception as exc:  # noqa: BLE001 - the TTL ends it anyway
            logger.warning("liveness: could not clear %s: %s", identity, exc.__class__.__name__)


def alive(identities: Iterable[str]) -> set[str]:
    """Those of `identities` whose heartbeat is fresh."""
    wanted = {identity: _key(identity) for identity in identities if identity}
    if not wanted:
        return set()
    found = cache.get_many(list(wanted.values()))
    return {identity for identity, key in wanted.items() if key in found}
