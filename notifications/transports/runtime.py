"""One long-lived asyncio loop per process for provider I/O, and the provider client registry.

Celery tasks and views are synchronous; provider clients (aiohttp sessions, aioapns pools)
are asynchronous and expensive to build (TLS handshakes, JWT/OAuth tokens). So each process
runs one event loop in a daemon thread, created lazily on first use (never at import, never
before fork: a forked child resets the state and builds its own), and keeps one client per
(app, platform), rebuilt when the credential version changes. Never `asyncio.run()` per task:
that would rebuild every connection for every batch.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Coroutine, Iterable, Iterator, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar, cast

from notifications.transports.base import Outcome, OutgoingPush, SendResult, Transport
from notifications.transports.config import TransportConfig

if TYPE_CHECKING:
    from notifications.transports.fcm import FcmTransport

logger = logging.getLogger(__name__)

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
# (app_id, platform) -> (the config it was built from, client). Only touched on the loop thread.
_clients: dict[tuple[int, str], tuple[TransportConfig, Transport]] = {}
# Strong references to background closes (the loop keeps only weak ones).
_closing: set[asyncio.Task[None]] = set()


def _reset_after_fork() -> None:
    """The parent's loop thread does not exist in the child: start from nothing."""
    global _lock, _loop, _thread, _clients, _closing
    _lock = threading.Lock()
    _loop = None
    _thread = None
    _clients = {}
    _closing = set()


os.register_at_fork(after_in_child=_reset_after_fork)


def get_loop() -> asyncio.AbstractEventLoop:
    global _loop, _thread
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="push-io", daemon=True)
            thread.start()
            _loop, _thread = loop, thread
        return _loop


def _on_loop_thread() -> bool:
    return _thread is not None and threading.current_thread() is _thread


def submit(coro: Coroutine[Any, Any, T]) -> Future[T]:
    return asyncio.run_coroutine_threadsafe(coro, get_loop())


def run(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run `coro` on the process loop from synchronous code and wait for its result."""
    if _on_loop_thread():
        coro.close()
        raise RuntimeError("runtime.run() called from the push I/O loop itself; await instead")
    future = submit(coro)
    try:
        return future.result(timeout)
    except TimeoutError:
        future.cancel()
        raise


def preload() -> None:
    """Import both providers' client libraries now (a Celery worker's parent, before it forks
    its pool). Without this each child imports aiohttp, google-auth, aioapns and h2 on its
    loop thread when its first chunk arrives: about 0.7 CPU-seconds per child, measured, spent
    while that chunk waits; imported before the fork, the children share the parent's copy."""
    from notifications.transports import apns, fcm  # noqa: F401


def _build(config: TransportConfig) -> Transport:
    # Imported here so a web process that only sends FCM never imports aioapns (and vice
    # versa); a Celery worker has both already (preload).
    if config.is_apns:
        from notifications.transports.apns import ApnsTransport

        return ApnsTransport(config)
    from notifications.transports.fcm import FcmTransport

    return FcmTransport(config)


def transport_for_in_loop(config: TransportConfig) -> Transport:
    """The registry lookup; must run on the loop thread (clients bind the loop they are built
    in). A new credential version (or any other change: endpoint, timeout, app type) builds a
    new client and closes the old one in the background."""
    current = _clients.get(config.registry_key)
    # Frozen dataclass equality; the common case is the identical object, which is instant.
    if current is not None and (current[0] is config or current[0] == config):
        return current[1]
    client = _build(config)
    _clients[config.registry_key] = (config, client)
    if current is not None:
        logger.info(
            "%s: client for app %s rebuilt (credential v%s → v%s%s)",
            "APNs" if config.is_apns else "FCM", config.app_id, current[0].version,
            config.version, "" if current[0].version != config.version else ", settings changed",
        )  # fmt: skip
        task = asyncio.get_running_loop().create_task(current[1].close())
        _closing.add(task)
        task.add_done_callback(_closing.discard)
    return client


def transport_for(config: TransportConfig) -> Transport:
    """The client for (app, platform) at this credential version; from any thread."""
    if _on_loop_thread():
        return transport_for_in_loop(config)

    async def lookup() -> Transport:
        return transport_for_in_loop(config)

    return run(lookup(), timeout=30)


async def send_many_async(
    config: TransportConfig, pushes: Iterable[OutgoingPush], *, validate_only: bool = False
) -> list[SendResult]:
    if validate_only and config.is_apns:
        raise ValueError("validate_only: only FCM can check a message without delivering it")
    transport = transport_for_in_loop(config)
    if validate_only:
        # FCM only (APNs is refused above), and FcmTransport.send takes validate_only.
        fcm = cast("FcmTransport", transport)
        sends = [fcm.send(push, validate_only=True) for push in pushes]
    else:
        sends = [transport.send(push) for push in pushes]
    # Each send bounds itself (semaphore + per-request deadline), so gathering everything at
    # once queues on the semaphore, not on the network.
    answers = await asyncio.gather(*sends, return_exceptions=True)
    return [_as_result(answer) for answer in answers]


def _as_result(answer: SendResult | BaseException) -> SendResult:
    if isinstance(answer, SendResult):
        return answer
    # A transport must not raise; if a library bug slips through, retrying is the safe bucket.
    logger.error("push transport raised %s", type(answer).__name__, exc_info=answer)
    return SendResult(Outcome.RETRY, reason=f"transport error: {type(answer).__name__}",
                      retry_after=30.0)  # fmt: skip


def send_many(
    config: TransportConfig,
    pushes: Iterable[OutgoingPush],
    *,
    validate_only: bool = False,
    timeout: float | None = None,
) -> list[SendResult]:
    """Send concurrently (bounded by the config's concurrency); one result per push, in order."""
    return run(send_many_async(config, list(pushes), validate_only=validate_only), timeout)


def send_streaming(
    groups: Sequence[tuple[TransportConfig, Sequence[OutgoingPush]]],
    *,
    tick: float = 0.1,
    timeout: float = 600.0,
) -> Iterator[tuple[OutgoingPush, SendResult] | None]:
    """Send every group's pushes concurrently on the process loop and yield (push, result) as
    each answer arrives — or None after `tick` seconds without one, so a caller recording in
    small batches can flush on time. Each send bounds itself (semaphore, per-request
    deadline); `timeout` only guards against a wedged loop. A group whose client cannot be
    built (credentials unusable) answers FAILED for each of its pushes."""
    answers: queue.SimpleQueue[tuple[OutgoingPush, SendResult]] = queue.SimpleQueue()
    total = sum(len(pushes) for _, pushes in groups)

    async def one(transport: Transport, push: OutgoingPush) -> None:
        try:
            result = await transport.send(push)
        except Exception as exc:  # noqa: BLE001 - a transport must not raise; _as_result logs it
            result = _as_result(exc)
        answers.put((push, result))

    async def everything() -> None:
        sends: list[Coroutine[Any, Any, None]] = []
        for config, pushes in groups:
            try:
                transport = transport_for_in_loop(config)
            except ValueError as exc:
                failure = SendResult(Outcome.FAILED, reason=f"credentials unusable: {exc}",
                                     credentials_rejected=True)  # fmt: skip
                for push in pushes:
                    answers.put((push, failure))
                continue
            sends.extend(one(transport, push) for push in pushes)
        await asyncio.gather(*sends)

    future = submit(everything())
    deadline = time.monotonic() + timeout
    received = 0
    while received < total:
        try:
            yield answers.get(timeout=tick)
            received += 1
        except queue.Empty:
            if time.monotonic() > deadline:
                future.cancel()
                raise TimeoutError(f"{total - received} of {total} pushes unanswered") from None
            yield None
    future.result()


def send_one(
    config: TransportConfig, push: OutgoingPush, *, validate_only: bool = False
) -> SendResult:
    return send_many(config, [push], validate_only=validate_only)[0]


async def _close_all() -> None:
    clients = list(_clients.values())
    _clients.clear()
    for _, client in clients:
        await client.close()
    fcm = sys.modules.get("notifications.transports.fcm")  # imported only once FCM was used
    if fcm is not None:
        await fcm.shared_connector_close()


def close_all() -> None:
    """Close every cached client (tests, shutdown); the loop keeps running."""
    if _loop is None:
        return
    run(_close_all(), timeout=30)
