"""The simulator's APNs side: HTTP/2 over TLS (test CA), `POST /3/device/{token}`.

Validates like Apple: provider token (ES256 JWT with a known `kid`, `iss` = team id, fresh
`iat`) or a client certificate signed by the simulator CA (its UID is the topic), `apns-topic`,
`apns-push-type`, `apns-priority`, `apns-collapse-id`, payload ≤ 4096 bytes, hex token. Always
echoes `apns-id` (aioapns hangs on a success without it) and advertises a large flow-control
window (with h2's default 64 KiB window, bursts fail with FlowControlError and 1 s sleeps).

Apple's stream ramp (config `stream_ramp`, on by default): a new connection advertises
SETTINGS_MAX_CONCURRENT_STREAMS = 1 and, once its first authorised request is answered, a
SETTINGS frame raising it to 1000. Streams a client opens beyond the advertised limit are still
served (a client cannot know the limit before our first SETTINGS frame reaches it, and h2
would fail the whole connection) but counted in `/_sim/stats` `apns_streams`, together with the
most streams in flight on one connection."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import string
import time
import uuid
from collections.abc import Iterable
from typing import Any, cast

import jwt
from cryptography import x509
from cryptography.x509.oid import NameOID
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    RequestReceived,
    StreamEnded,
    StreamReset,
)
from h2.exceptions import ProtocolError
from h2.settings import SettingCodes, Settings

from notifications.simulator.state import MAX_PAYLOAD_BYTES, Receipt, SimulatorState

logger = logging.getLogger(__name__)

WINDOW = 2**30  # bytes; far above any burst a client can have in flight
MAX_STREAMS = 1000  # what Apple advertises once a connection is authenticated
RAMP_START_STREAMS = 1  # what Apple advertises on a new connection
JWT_MAX_AGE_SECONDS = 3600
PUSH_TYPES = {"alert", "background", "voip", "complication", "fileprovider", "mdm",
              "liveactivity", "location", "pushtotalk", "widgets", "controls"}  # fmt: skip
HEX = set(string.hexdigits)

# Token prefixes → (status, reason). See the package docstring.
TOKEN_PREFIXES: list[tuple[str, int, str]] = [
    ("dead", 410, "Unregistered"),
    ("bad0", 400, "BadDeviceToken"),
    ("70b1", 400, "DeviceTokenNotForTopic"),
    ("429a", 429, "TooManyRequests"),
    ("5000", 500, "InternalServerError"),
    ("5030", 503, "ServiceUnavailable"),
]
SLOW_PREFIX = "5100"
FAULT_REASONS = {
    400: "BadDeviceToken",
    404: "BadPath",
    410: "Unregistered",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}


class ApnsKeyring:
    """Known provider keys and a cache of JWTs already verified (verifying ES256 per request
    would cost the simulator as much CPU as the client spends sending)."""

    def __init__(self, keys: list[dict[str, Any]], state: SimulatorState) -> None:
        self.keys = {key["key_id"]: key for key in keys}
        self.state = state
        self.verified: dict[str, int] = {}

    def check(self, authorization: str) -> str:
        """'' if the bearer token is acceptable, else the APNs 403 reason."""
        if not authorization.lower().startswith("bearer "):
            return "MissingProviderToken"
        token = authorization[7:].strip()
        issued_at = self.verified.get(token)
        if issued_at is None:
            try:
                key = self.keys.get(jwt.get_unverified_header(token).get("kid"))
                if key is None:
                    return "InvalidProviderToken"
                claims = jwt.decode(
                    token, key["public_pem"], algorithms=["ES256"], options={"require": ["iat"]}
                )
            except jwt.PyJWTError:
                return "InvalidProviderToken"
            if claims.get("iss") != key["team_id"]:
                return "InvalidProviderToken"
            issued_at = int(claims["iat"])
            if len(self.verified) > 10_000:
                self.verified.clear()
            self.verified[token] = issued_at
            self.state.provider_tokens_verified += 1
        if issued_at < time.time() - JWT_MAX_AGE_SECONDS:
            return "ExpiredProviderToken"
        return ""


def _text_headers(headers: Iterable[tuple[bytes | str, bytes | str]]) -> dict[str, str]:
    """h2 hands back str headers with `header_encoding` set, but is typed for bytes too."""
    return {
        (name if isinstance(name, str) else name.decode()): (
            value if isinstance(value, str) else value.decode()
        )
        for name, value in headers
    }


class _CeilingEnforcedSettings(Settings):
    """Our local settings, advertised as they are, but h2 enforces only the 1000-stream
    ceiling: h2 treats any stream over the acknowledged limit as a connection error, and a
    client's first burst can race our first SETTINGS frame (see the module docstring)."""

    @property
    def max_concurrent_streams(self) -> int:
        return MAX_STREAMS

    @max_concurrent_streams.setter
    def max_concurrent_streams(self, value: int) -> None:
        self[SettingCodes.MAX_CONCURRENT_STREAMS] = value


def server_ssl_context(cert_file: str, key_file: str, ca_file: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    # Optional: token-auth clients present no certificate; certificate-auth ones must present
    # one signed by the simulator CA or the handshake fails.
    context.load_verify_locations(ca_file)
    context.verify_mode = ssl.CERT_OPTIONAL
    context.set_alpn_protocols(["h2"])
    return context


class ApnsServerProtocol(asyncio.Protocol):
    def __init__(
        self, state: SimulatorState, keyring: ApnsKeyring, sandbox_hosts: frozenset[str]
    ) -> None:
        self.state = state
        self.keyring = keyring
        self.sandbox_hosts = sandbox_hosts
        self.streams: dict[int, tuple[dict[str, str], bytearray]] = {}
        # Streams the client opened and we have not answered (or it reset) yet.
        self.in_flight: set[int] = set()
        self.advertised_streams = RAMP_START_STREAMS if state.config.stream_ramp else MAX_STREAMS
        self.cert_topic = ""
        self.transport: asyncio.Transport | None = None
        self.conn = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A TLS server connection: asyncio hands over a full (writable) Transport.
        self.transport = cast(asyncio.Transport, transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        if der:
            subject = x509.load_der_x509_certificate(der).subject
            uids = subject.get_attributes_for_oid(NameOID.USER_ID)
            self.cert_topic = str(uids[0].value) if uids else ""
        # As initial values, not assignments: h2 sends only acknowledged values in the first
        # SETTINGS frame, and its default would cap clients at 100 streams per connection.
        self.conn.local_settings = _CeilingEnforcedSettings(
            client=False,
            initial_values={
                SettingCodes.INITIAL_WINDOW_SIZE: WINDOW,
                SettingCodes.MAX_CONCURRENT_STREAMS: self.advertised_streams,
            },
        )
        self.state.apns_streams.connections += 1
        self.conn.initiate_connection()
        self.conn.increment_flow_control_window(WINDOW - 65535)
        self._flush()

    def data_received(self, data: bytes) -> None:
        try:
            events = self.conn.receive_data(data)
        except ProtocolError:
            self._flush()
            if self.transport:
                self.transport.close()
            return
        for event in events:
            if isinstance(event, RequestReceived):
                self.streams[event.stream_id] = (_text_headers(event.headers), bytearray())
                self.in_flight.add(event.stream_id)
                self.state.apns_streams.opened(
                    in_flight=len(self.in_flight), advertised=self.advertised_streams
                )
            elif isinstance(event, DataReceived):
                stream = self.streams.get(event.stream_id)
                if stream is not None:
                    stream[1].extend(event.data)
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, StreamEnded):
                self._handle(event.stream_id)
            elif isinstance(event, StreamReset):
                self.streams.pop(event.stream_id, None)
                self.in_flight.discard(event.stream_id)
            elif isinstance(event, ConnectionTerminated) and self.transport:
                self.transport.close()
        self._flush()

    def _flush(self) -> None:
        if self.transport and not self.transport.is_closing():
            self.transport.write(self.conn.data_to_send())

    def _handle(self, stream_id: int) -> None:
        headers, body = self.streams.pop(stream_id, ({}, bytearray()))
        apns_id = headers.get("apns-id") or str(uuid.uuid4())
        token = headers.get(":path", "").removeprefix("/3/device/")
        status, reason, authorised = self._answer(headers, bytes(body), token)
        host = headers.get("host") or headers.get(":authority", "")
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        environment = "sandbox" if host in self.sandbox_hosts else "production"
        kept_headers = {k: v for k, v in headers.items() if k.startswith("apns-")}
        self.state.record(
            Receipt(
                "apns", token, status, reason, time.time(), environment, host, kept_headers,
                raw=bytes(body) if status == 200 else b"",
            )
        )  # fmt: skip
        delay = self.state.latency_seconds(slow=token.startswith(SLOW_PREFIX))
        respond = (stream_id, apns_id, status, reason, authorised)
        if delay:
            asyncio.get_running_loop().call_later(delay, self._respond, *respond)
        else:
            self._respond(*respond)

    def _answer(self, headers: dict[str, str], body: bytes, token: str) -> tuple[int, str, bool]:
        """(status, reason, whether the request was authorised)."""
        if headers.get(":method") != "POST":
            return 405, "MethodNotAllowed", False
        if not headers.get(":path", "").startswith("/3/device/"):
            return 404, "BadPath", False
        if not self.cert_topic:
            problem = self.keyring.check(headers.get("authorization", ""))
            if problem:
                return 403, problem, False
        # (A client certificate signed by our CA authorised the whole connection.)
        status, reason = self._validate(headers, body, token)
        return status, reason, True

    def _validate(self, headers: dict[str, str], body: bytes, token: str) -> tuple[int, str]:
        topic = headers.get("apns-topic", "")
        if self.cert_topic and topic and topic != self.cert_topic:
            return 400, "TopicDisallowed"
        if not self.cert_topic and not topic:
            return 400, "MissingTopic"
        if headers.get("apns-push-type", "alert") not in PUSH_TYPES:
            return 400, "InvalidPushType"
        if headers.get("apns-priority", "10") not in ("1", "5", "10"):
            return 400, "BadPriority"
        if len(headers.get("apns-collapse-id", "").encode()) > 64:
            return 400, "BadCollapseId"
        if len(token) < 64 or len(token) % 2 or not set(token) <= HEX:
            return 400, "BadDeviceToken"
        if not body:
            return 400, "PayloadEmpty"
        if len(body) > MAX_PAYLOAD_BYTES:
            return 413, "PayloadTooLarge"
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, "BadPayload"
        if not isinstance(payload, dict) or not isinstance(payload.get("aps"), dict):
            return 400, "BadPayload"
        fault = self.state.injected_fault()
        if fault is not None:
            return fault, FAULT_REASONS[fault]
        lowered = token.lower()
        for prefix, status, reason in TOKEN_PREFIXES:
            if lowered.startswith(prefix):
                return status, reason
        return 200, ""

    def _respond(
        self, stream_id: int, apns_id: str, status: int, reason: str, authorised: bool
    ) -> None:
        self.in_flight.discard(stream_id)
        if self.transport is None or self.transport.is_closing():
            return
        response_headers = [(":status", str(status)), ("apns-id", apns_id)]
        try:
            if status == 200:
                self.conn.send_headers(stream_id, response_headers, end_stream=True)
            else:
                error: dict[str, Any] = {"reason": reason}
                if status == 410:
                    error["timestamp"] = int(time.time() * 1000)
                if status == 429:
                    response_headers.append(
                        ("retry-after", str(self.state.config.retry_after_seconds))
                    )
                data = json.dumps(error).encode()
                self.conn.send_headers(
                    stream_id, response_headers + [("content-type", "application/json")]
                )
                self.conn.send_data(stream_id, data, end_stream=True)
        except ProtocolError:
            # The client reset the stream (e.g. its own timeout) or the window is exhausted.
            logger.debug("APNs simulator: cannot answer stream %s", stream_id)
            return
        if authorised and self.advertised_streams < MAX_STREAMS:
            # Apple's ramp, in the same write as the answer that earned it.
            self.conn.update_settings({SettingCodes.MAX_CONCURRENT_STREAMS: MAX_STREAMS})
            self.advertised_streams = MAX_STREAMS
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
