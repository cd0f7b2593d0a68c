"""APNs transport on aioapns 4.0 (HTTP/2, token or certificate auth).

What we add around aioapns, and why:
- Host and port come from settings through a protocol subclass set on the pool (aioapns
  hard-codes Apple's hosts and port 443).
- One provider JWT per credential for its lifetime: aioapns builds a new
  `JWTAuthorizationHeaderProvider` for every new connection, and connections close after 10 s
  idle, so a trickle of sends re-signs a JWT every few seconds; Apple answers 429
  TooManyProviderTokenUpdates to more than one new token per 20 minutes. `_SharedJwtKeyPool`
  gives every connection the same provider (aioapns re-signs it after 30 minutes).
- aioapns never acknowledges the response bodies it receives (error JSON), so the
  connection's 64 KiB receive window drains after ~2,400 error answers and later answers
  stall. `_ServerProtocol.on_data_received` returns the window.
- Our own semaphore keeps in-flight requests below the pool's streams (connections × 1000):
  beyond that aioapns polls every 10 ms and throughput collapses (~200/s measured).
- Per connection, `_StreamSlots` replaces aioapns's stream accounting, which cannot follow
  Apple's ramp (1 stream on a new connection, 1000 after the first request): with aioapns's
  own, 10,000 sends at 50 ms latency ran at 75 msg/s instead of ~2,900. While every stream is
  taken, requests wait for one to free up (`_StreamWaitingPool`) rather than poll.
- `apns-expiration: 0` ("deliver once or drop") goes out as 0: aioapns writes now + TTL.
- Each request carries an `apns-id` from a per-process counter (`apns_ids`), not aioapns's
  `uuid4()` per notification.
- Two per-request costs of h2 are cut (`_LeanH2Connection`): hpack's pure-Python Huffman
  coding of the ~300 characters no request can index (provider token, device token, apns-id),
  and h2's walk over every stream of the connection to count the open ones, which grew with
  the hundreds of streams that Apple's 20–100 ms of latency keeps in flight.
- aioapns has no request deadline: every send is wrapped in `asyncio.wait_for`.
- A connection failure makes aioapns sleep 1 s per attempt: two attempts (so a request that
  met a connection just closed by the server or the idle timer gets a fresh one), then the
  caller's retry with backoff takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import ssl
import tempfile
import time
from collections.abc import Callable
from typing import Any, cast

from aioapns import APNs, NotificationRequest, PushType
from aioapns.common import APNS_RESPONSE_CODE, NotificationResult
from aioapns.connection import (
    APNsBaseClientProtocol,
    APNsBaseConnectionPool,
    APNsCertConnectionPool,
    APNsKeyConnectionPool,
    APNsTLSClientProtocol,
    ChannelPool,
    JWTAuthorizationHeaderProvider,
)
from aioapns.exceptions import ConnectionClosed, ConnectionError, MaxAttemptsExceeded
from h2.connection import H2Connection
from h2.settings import ChangedSetting, SettingCodes
from hpack import Encoder, NeverIndexedHeaderTuple

from notifications.payloads import encode
from notifications.transports.apns_ids import apns_id_next
from notifications.transports.base import Outcome, OutgoingPush, SendResult, log_result
from notifications.transports.config import KIND_APNS_TOKEN, TransportConfig
from pushmarketing.core import metrics

logger = logging.getLogger(__name__)

STREAMS_PER_CONNECTION = 1000
# Apple's SETTINGS_MAX_CONCURRENT_STREAMS on a new connection, until its first request is answered.
STREAMS_BEFORE_RAMP = 1
MAX_CONNECTIONS = 2
CONNECTION_ATTEMPTS = 2
# Leave headroom under connections × streams: requests beyond them queue in the pool instead.
MAX_IN_FLIGHT = MAX_CONNECTIONS * STREAMS_PER_CONNECTION - 100
THROTTLE_RETRY_SECONDS = 5.0
TOKEN_UPDATES_RETRY_SECONDS = 60.0
SERVER_RETRY_SECONDS = 10.0
NETWORK_RETRY_SECONDS = 10.0

TOKEN_INVALID_REASONS = {"BadDeviceToken", "DeviceTokenNotForTopic", "Unregistered"}


class _TlsHealth:
    """Certificate auth: did APNs refuse our TLS session? With TLS 1.3 a refused client
    certificate (expired, revoked, another CA) is not a handshake error: the server's alert
    arrives after the handshake and asyncio reports a plain close, before the server's first
    HTTP/2 SETTINGS frame (which a healthy APNs sends at once). Counting such closes, and TLS
    1.2 handshake alerts, tells "credentials refused" apart from a network blip."""

    def __init__(self) -> None:
        self.refusals = 0


class _StreamSlots(ChannelPool):
    """Free streams on one connection: the server's SETTINGS_MAX_CONCURRENT_STREAMS minus the
    streams in flight, following the server's value up and down.

    Replaces aioapns 4.0's `DynamicBoundedSemaphore` accounting, whose `bound` setter raises
    the bound by calling `release()` once per new stream while `release()` still caps the count
    at the *old* bound (the new one is stored after the loop). On Apple's ramp (1 → 1000 with
    the first request in flight) that leaves 1 free stream, 2 once the request ends, instead of
    999: aioapns's pool then sees every connection busy and polls every 10 ms ("Pool is
    completely busy"). Lowering the bound below the streams in flight makes the count negative,
    which asyncio's `locked()` (`== 0`) does not treat as locked; here it is.

    Starts at Apple's 1 rather than aioapns's assumed 1000: requests sent before the server's
    first SETTINGS frame arrives would otherwise go out over its limit.
    """

    def __init__(self) -> None:
        super().__init__(STREAMS_BEFORE_RAMP)
        # Set by `_StreamWaitingPool`: called whenever a stream is free after a change.
        self.on_free: Callable[[], None] | None = None

    @property
    def bound(self) -> int:
        return self._bound_value

    @bound.setter
    def bound(self, new_bound: int) -> None:
        self._value += new_bound - self._bound_value
        self._bound_value = new_bound
        self._wake_waiters()

    def release(self) -> None:
        # Capped only against a stray release (aioapns releases on every stream end).
        self._value = min(self._value + 1, self._bound_value)
        self._wake_waiters()

    def locked(self) -> bool:
        return self._value <= 0 or super().locked()

    def _wake_waiters(self) -> None:
        # asyncio's _wake_up_next takes one free stream for the first live waiter.
        waiting = sum(1 for waiter in self._waiters or () if not waiter.done())
        for _ in range(min(self._value, waiting)):
            self._wake_up_next()
        if self._value > 0 and self.on_free is not None:
            self.on_free()


class _PlainLiteralEncoder(Encoder):
    """HPACK without Huffman coding. hpack codes bit by bit in Python, and every APNs request
    carries ~300 characters that can never come from the compression table: the provider token
    (h2 never indexes `authorization`, to keep a secret out of the shared context), the device
    token in `:path` and the `apns-id`. Coding them was ~15 % of the transport's CPU per
    request (py-spy over bench/transport.py); as plain literals a request is ~80 bytes longer."""

    def encode(self, headers: Any, huffman: bool = False) -> bytes:
        return super().encode(headers, huffman=False)


class _LeanH2Connection(H2Connection):
    """h2's connection with `_PlainLiteralEncoder`, and with its count of open outbound streams
    kept instead of recounted for every new stream.

    h2 checks each new stream against the server's limit by walking every stream of the
    connection (`_open_streams`, which also forgets the closed ones). At 100 ms of latency a
    connection has hundreds in flight, and that walk was 7 % of the transport's CPU. Here the
    count is an upper bound (the last exact count plus the streams opened since), recounted
    exactly every `RECOUNT_EVERY` streams (so closed streams are still forgotten) and whenever
    the bound would refuse a stream; `_StreamSlots` is what keeps requests under the limit."""

    RECOUNT_EVERY = 64

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.encoder = _PlainLiteralEncoder()
        self._counted = 0
        self._opened_since_count = 0

    @property
    def open_outbound_streams(self) -> int:
        # h2 reads this once per new stream, just before opening it.
        bound = self._counted + self._opened_since_count
        limit = self.remote_settings.max_concurrent_streams
        if self._opened_since_count >= self.RECOUNT_EVERY or bound + 1 > limit:
            self._counted = self._open_streams(int(self.config.client_side))
            self._opened_since_count = 0
            bound = self._counted
        self._opened_since_count += 1
        return bound


def _never_indexed(name: str, value: str) -> tuple[str, str]:
    # hpack's HeaderTuple is typed for bytes; h2 takes str too (and keeps the subclass).
    return cast(tuple[str, str], NeverIndexedHeaderTuple(name, value))


class _StreamWaitingPool(APNsBaseConnectionPool):
    """aioapns's `acquire()`, except that a request finding every connection busy waits until a
    stream frees up instead of polling every 10 ms with a WARNING each time ("Pool is
    completely busy"). Apple's ramp keeps every new connection at 1 stream for a round trip,
    so a cold burst of 1,000 sends logged ~1,000 warnings and woke 100 times a second."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stream_freed = asyncio.Event()

    async def acquire(self) -> APNsBaseClientProtocol:
        while True:
            if connection := self._free_connection():
                return connection
            async with self._lock:
                if connection := self._free_connection():
                    return connection
                if len(self.connections) < self.max_connections:
                    return await self._add_connection()
            if not self._free_connection():
                # No await between the check and clear(): a stream freed since is not missed.
                self._stream_freed.clear()
                await self._stream_freed.wait()

    def _free_connection(self) -> APNsBaseClientProtocol | None:
        return next((c for c in self.connections if not c.is_busy), None)

    async def _add_connection(self) -> APNsBaseClientProtocol:
        try:
            connection = await self.create_connection()
        except Exception as exc:
            logger.warning("APNs: could not connect: %s", exc)
            raise ConnectionError() from exc
        if isinstance(connection.free_channels, _StreamSlots):
            connection.free_channels.on_free = self._stream_freed.set
        self.connections.append(connection)
        return connection

    def discard_connection(self, connection: APNsBaseClientProtocol) -> None:
        super().discard_connection(connection)
        self._stream_freed.set()  # room for a new connection


class _CertPool(_StreamWaitingPool, APNsCertConnectionPool):
    tls_health: _TlsHealth  # the transport's, set right after construction

    async def _create_connection(self, apns_protocol_factory: Any) -> APNsBaseClientProtocol:
        try:
            return await super()._create_connection(apns_protocol_factory)
        except ssl.SSLCertVerificationError:
            raise  # we do not trust the server: configuration, not the app's credentials
        except ssl.SSLError:
            self.tls_health.refusals += 1
            raise


class _SharedJwtKeyPool(_StreamWaitingPool, APNsKeyConnectionPool):
    async def create_connection(self) -> APNsBaseClientProtocol:
        if not hasattr(self, "_shared_auth"):
            self._shared_auth = JWTAuthorizationHeaderProvider(
                key=self.key, key_id=self.key_id, team_id=self.team_id
            )
        # Built with TransportConfig.topic, a str; aioapns types it Optional for certificates.
        topic = self.apns_topic or ""
        factory = lambda: self.protocol_class(  # noqa: E731
            topic,
            self.loop,
            # aioapns annotates this callback as returning NoReturn; it returns None.
            self.discard_connection,  # type: ignore[arg-type]
            self._shared_auth,
        )
        _, protocol = await self.loop.create_connection(
            factory,
            host=self.protocol_class.APNS_SERVER,
            port=self.protocol_class.APNS_PORT,
            ssl=self.ssl_context,
        )
        return protocol


class _ExpiringRequest(NotificationRequest):
    """A request carrying `apns-expiration` exactly as our payload built it (epoch seconds, or
    "0" for deliver once or drop). aioapns only takes a TTL and writes now + TTL, so a TTL of 0
    went out as "expire now"."""

    __slots__ = ("encoded", "expiration")

    def __init__(
        self, *args: Any, expiration: str | None, encoded: bytes | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.expiration = expiration
        self.encoded = encoded  # the payload as the send path measured it (OutgoingPush)


class _ServerProtocol(APNsTLSClientProtocol):
    """Subclassed per transport with APNS_SERVER / APNS_PORT from the config.

    `send_notification` is aioapns's, but writes `apns-expiration` as given (`_ExpiringRequest`).

    Also fixes two aioapns bugs on the receive side:
    - it never acknowledges received DATA, so error bodies drain the 64 KiB connection window
      (~2,400 errors) and every later answer stalls;
    - when our deadline (`asyncio.wait_for`) cancels a send, its future stays registered; the
      late answer then calls `set_result` on a cancelled future, the InvalidStateError escapes
      `data_received` and kills the connection with every other request in flight on it.
    """

    tls_health: _TlsHealth
    settings_seen = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.free_channels = _StreamSlots()
        self.conn = _LeanH2Connection()  # aioapns's own is only built so far, never used

    def on_remote_settings_changed(
        self, changed_settings: dict[SettingCodes, ChangedSetting]
    ) -> None:
        if not self.settings_seen and SettingCodes.MAX_CONCURRENT_STREAMS not in changed_settings:
            # A server that sets no limit allows any number; aioapns's pool assumes 1000.
            self.free_channels.bound = STREAMS_PER_CONNECTION
        self.settings_seen = True
        self.tls_health.refusals = 0
        super().on_remote_settings_changed(changed_settings)

    async def send_notification(self, request: NotificationRequest) -> NotificationResult:
        stream_id = await self.free_channels.acquire()
        self.conn.send_headers(stream_id=stream_id, headers=self._headers(request))
        # The compact form the composer's meter and the send path's 4 KB check measured
        # (notifications.payloads): Apple counts the bytes on the wire, and json.dumps's default
        # ", " / ": " separators made a payload measured just under the limit arrive over it.
        encoded = request.encoded if isinstance(request, _ExpiringRequest) else None
        data = encode(request.message) if encoded is None else encoded
        self.conn.send_data(stream_id=stream_id, data=data, end_stream=True)
        self.flush()
        future: asyncio.Future[NotificationResult] = self.loop.create_future()
        self.requests[request.notification_id] = future
        self.request_streams[stream_id] = request.notification_id
        return await future

    def _headers(self, request: NotificationRequest) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = [
            (":method", "POST"),
            (":scheme", "https"),
            # Different on every request: kept out of the compression table, where each would
            # push out the headers that repeat (host, topic, push type) for nothing.
            _never_indexed(":path", f"/3/device/{request.device_token}"),
            ("host", self.APNS_SERVER),
            _never_indexed("apns-id", request.notification_id),
            ("apns-topic", request.apns_topic or self.apns_topic),
        ]
        # Only `_ExpiringRequest`s are sent here; aioapns's time_to_live is never used.
        if isinstance(request, _ExpiringRequest) and request.expiration is not None:
            headers.append(("apns-expiration", request.expiration))
        if request.priority is not None:
            headers.append(("apns-priority", str(request.priority)))
        if request.collapse_key is not None:
            headers.append(("apns-collapse-id", request.collapse_key))
        if request.push_type is not None:
            headers.append(("apns-push-type", request.push_type.value))
        if self.auth_provider:
            headers.append(("authorization", self.auth_provider.get_header()))
        return headers

    def on_response_received(self, headers: dict[bytes, bytes]) -> None:
        notification_id = headers.get(b"apns-id", b"").decode()
        status = headers.get(b":status", b"").decode()
        if status == APNS_RESPONSE_CODE.SUCCESS:
            future = self.requests.pop(notification_id, None)
            if future is not None and not future.done():
                future.set_result(NotificationResult(notification_id, status))
        else:
            self.request_statuses[notification_id] = status

    def on_data_received(self, data: bytes, stream_id: int) -> None:
        self.conn.acknowledge_received_data(len(data), stream_id)
        notification_id = self.request_streams.pop(stream_id, None)
        if notification_id is None:
            return
        status = self.request_statuses.pop(notification_id, "")
        future = self.requests.pop(notification_id, None)
        if future is None or future.done():
            return
        try:
            body = json.loads(data)
        except ValueError:
            body = {}
        future.set_result(
            NotificationResult(
                notification_id,
                status,
                description=str(body.get("reason", "")),
                timestamp=body.get("timestamp"),
            )
        )

    def on_stream_ended(self, stream_id: int) -> None:
        # A 200 has no body: forget the stream here, or request_streams grows forever.
        self.request_streams.pop(stream_id, None)
        super().on_stream_ended(stream_id)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.settings_seen:
            self.tls_health.refusals += 1
        self.requests = {key: future for key, future in self.requests.items() if not future.done()}
        super().connection_lost(exc)


def _write_cert_file(pem: str) -> str:
    """A 0600 temp file: aioapns (ssl.load_cert_chain) only accepts a path."""
    fd, path = tempfile.mkstemp(prefix="pm-apns-", suffix=".pem")  # mkstemp creates it 0600
    with os.fdopen(fd, "w") as handle:
        handle.write(pem)
    return path


def classify_apns_answer(status: str, reason: str, timestamp: int | None) -> SendResult:
    if status == "200":
        return SendResult(Outcome.SENT)
    text = f"{status} {reason or 'error'}"
    if reason in TOKEN_INVALID_REASONS or status == "410":
        return SendResult(Outcome.TOKEN_INVALID, reason=text, invalid_since_ms=timestamp)
    if status == "403":
        return SendResult(Outcome.FAILED, reason=text, credentials_rejected=True)
    if status == "429":
        delay = (
            TOKEN_UPDATES_RETRY_SECONDS
            if reason == "TooManyProviderTokenUpdates"
            else THROTTLE_RETRY_SECONDS
        )
        return SendResult(Outcome.RETRY, reason=text, retry_after=delay)
    if status.startswith("5"):
        return SendResult(Outcome.RETRY, reason=text, retry_after=SERVER_RETRY_SECONDS)
    return SendResult(Outcome.FAILED, reason=text)


class ApnsTransport:
    """Build inside the event loop that will use it: the aioapns pool binds it."""

    def __init__(self, config: TransportConfig) -> None:
        # Raises outside a running loop: aioapns pools bind the loop they are built in.
        asyncio.get_running_loop()
        self.config = config
        self._cert_path = ""
        if config.apns_ca_file:
            ssl_context = ssl.create_default_context(cafile=config.apns_ca_file)
        else:
            ssl_context = ssl.create_default_context()
        self._tls_health = _TlsHealth()
        common: dict[str, Any] = {
            "topic": config.topic or None,
            "use_sandbox": config.use_sandbox,
            "max_connections": MAX_CONNECTIONS,
            "max_connection_attempts": CONNECTION_ATTEMPTS,
            "ssl_context": ssl_context,
            "err_func": _quiet,
        }
        if config.kind == KIND_APNS_TOKEN:
            self.client = APNs(
                key=config.secret, key_id=config.key_id, team_id=config.team_id, **common
            )
            self.client.pool = _SharedJwtKeyPool(
                key=config.secret,
                key_id=config.key_id,
                team_id=config.team_id,
                topic=config.topic,
                max_connections=MAX_CONNECTIONS,
                max_connection_attempts=CONNECTION_ATTEMPTS,
                use_sandbox=config.use_sandbox,
                ssl_context=ssl_context,
            )
        else:
            # Written once per process per credential version (this transport is rebuilt when
            # the version changes). The pool loads cert and key into its SSLContext in
            # __init__ and never reads the file again, so the key leaves the disk at once
            # rather than living there until close().
            self._cert_path = _write_cert_file(config.secret)
            try:
                self.client = APNs(client_cert=self._cert_path, **common)
                cert_pool = _CertPool(
                    cert_file=self._cert_path,
                    topic=config.topic or None,
                    max_connections=MAX_CONNECTIONS,
                    max_connection_attempts=CONNECTION_ATTEMPTS,
                    use_sandbox=config.use_sandbox,
                    ssl_context=ssl_context,
                )
                cert_pool.tls_health = self._tls_health
                self.client.pool = cert_pool
            finally:
                self._remove_cert_file()
        self.client.pool.protocol_class = type(
            "ConfiguredApnsProtocol",
            (_ServerProtocol,),
            {
                "APNS_SERVER": config.apns_host,
                "APNS_PORT": config.apns_port,
                "tls_health": self._tls_health,
            },
        )
        self._semaphore = asyncio.Semaphore(min(config.concurrency, MAX_IN_FLIGHT))

    def _request(self, push: OutgoingPush) -> NotificationRequest:
        headers: dict[str, str] = push.body.get("headers", {})
        expiration = headers.get("apns-expiration")
        if expiration is not None:
            expiration = str(int(expiration))  # epoch seconds, or 0: deliver once or drop
        priority = headers.get("apns-priority")
        push_type = headers.get("apns-push-type")
        return _ExpiringRequest(
            device_token=push.token,
            message=push.body.get("payload", {}),
            notification_id=headers.get("apns-id") or apns_id_next(),
            expiration=expiration,
            encoded=push.encoded,
            priority=int(priority) if priority else None,
            collapse_key=headers.get("apns-collapse-id"),
            push_type=PushType(push_type) if push_type else None,
            apns_topic=headers.get("apns-topic"),
        )

    async def send(self, push: OutgoingPush) -> SendResult:
        try:
            request = self._request(push)
        except (ValueError, TypeError) as exc:
            result = SendResult(Outcome.FAILED, reason=f"bad request headers: {exc}")
            self._log(push, result)
            return result
        async with self._semaphore:
            started = time.perf_counter()
            try:
                answer = await asyncio.wait_for(
                    self.client.send_notification(request), self.config.timeout_seconds
                )
                result = classify_apns_answer(answer.status, answer.description or "",
                                              answer.timestamp)  # fmt: skip
                if result.outcome == Outcome.SENT:
                    result = SendResult(Outcome.SENT, provider_id=answer.notification_id)
            except TimeoutError:
                result = SendResult(
                    Outcome.RETRY, reason="timeout", retry_after=NETWORK_RETRY_SECONDS
                )
            except (ConnectionError, ConnectionClosed, MaxAttemptsExceeded, OSError) as exc:
                result = self._connection_failure(exc)
            metrics.provider_request_observe(provider="apns", seconds=time.perf_counter() - started)
        self._log(push, result)
        return result

    def _connection_failure(self, exc: BaseException) -> SendResult:
        if self.config.kind != KIND_APNS_TOKEN and self._tls_health.refusals:
            return SendResult(
                Outcome.FAILED,
                reason="APNs refused the TLS session: client certificate expired, revoked "
                "or not issued by Apple",
                credentials_rejected=True,
            )
        return SendResult(
            Outcome.RETRY,
            reason=f"connection error: {type(exc).__name__}",
            retry_after=NETWORK_RETRY_SECONDS,
        )

    def _log(self, push: OutgoingPush, result: SendResult) -> None:
        log_result(logger, "APNs", push, result)

    async def close(self) -> None:
        self.client.pool.close()
        self._remove_cert_file()

    def _remove_cert_file(self) -> None:
        if self._cert_path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._cert_path)
            self._cert_path = ""


async def _quiet(request: NotificationRequest, result: Any) -> None:
    """aioapns logs every non-200 at ERROR with the notification id; we log our own line."""
