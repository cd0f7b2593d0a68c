"""FCM HTTP v1 transport.

pyfcm 2.1.1 is kept for what it does well: loading the service account, minting the OAuth2
access token with google-auth (honouring the JSON's `token_uri`) and building the endpoint
URL. Its `notify()` is NOT used on the fan-out path, because (measured, PROVIDERS.md):
synchronous `requests` tops out around 700 messages/s per process whatever the thread count;
any `Retry-After` makes it sleep and recurse without bound (a 429 can pin a worker forever);
first use from several threads races on the credentials; and urllib3 retries POSTs on
502/503, so a read timeout can deliver twice. Instead one long-lived aiohttp session
(HTTP/1.1 keep-alive, ~4,000 messages per CPU-second measured) sends, a semaphore bounds what
is in flight, every request has a deadline, and each answer is sorted into one SendResult.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
import logging
import os
import time
import weakref
from typing import Any

import aiohttp
from google.auth import exceptions as google_auth_exceptions
from google.oauth2 import service_account
from pyfcm import FCMNotification
from pyfcm.errors import InvalidDataError

from notifications.payloads import encode
from notifications.transports.base import Outcome, OutgoingPush, SendResult, log_result
from notifications.transports.config import TransportConfig
from pushmarketing.core import metrics

logger = logging.getLogger(__name__)

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
# Refresh the access token this long before it expires, so no request carries a dead token.
TOKEN_REFRESH_MARGIN_SECONDS = 300
# FCM's per-project quota is per minute: without Retry-After, wait out the minute.
QUOTA_RETRY_SECONDS = 60.0
# 5xx / network trouble without a hint: the caller adds exponential backoff and jitter on top.
SERVER_RETRY_SECONDS = 10.0
NETWORK_RETRY_SECONDS = 10.0


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` is either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_parts(body: Any) -> tuple[str, str, str]:
    """(errorCode, status, message) from FCM's error JSON, tolerating anything else."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return "", "", ""
    error = body["error"]
    code = ""
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            code = str(detail["errorCode"])
    return code, str(error.get("status", "")), str(error.get("message", ""))


def classify_fcm_answer(status: int, body: Any, retry_after_header: str | None) -> SendResult:
    """One FCM HTTP answer → one SendResult (PROVIDERS.md table)."""
    if status == 200:
        name = body.get("name", "") if isinstance(body, dict) else ""
        return SendResult(Outcome.SENT, provider_id=str(name))
    code, google_status, message = _error_parts(body)
    reason = f"{status} {code or google_status or 'error'}: {message}".strip()[:300]
    retry_after = retry_after_seconds(retry_after_header)
    if status == 404 or code == "UNREGISTERED":
        return SendResult(Outcome.TOKEN_INVALID, reason=reason)
    if code == "SENDER_ID_MISMATCH":
        return SendResult(Outcome.TOKEN_INVALID, reason=reason)
    if status == 401 or code == "THIRD_PARTY_AUTH_ERROR" or status == 403:
        return SendResult(Outcome.FAILED, reason=reason, credentials_rejected=True)
    if status == 429 or code == "QUOTA_EXCEEDED":
        delay = retry_after if retry_after is not None else QUOTA_RETRY_SECONDS
        return SendResult(Outcome.RETRY, reason=reason, retry_after=delay)
    if status == 400:
        lowered = message.lower()
        if "registration token" in lowered or "message.token" in lowered:
            return SendResult(Outcome.TOKEN_INVALID, reason=reason)
        return SendResult(Outcome.FAILED, reason=reason)
    if status >= 500:
        delay = retry_after if retry_after is not None else SERVER_RETRY_SECONDS
        return SendResult(Outcome.RETRY, reason=reason, retry_after=delay)
    return SendResult(Outcome.FAILED, reason=reason)


class CredentialsRejected(Exception):
    """The token endpoint refused the service account (wrong key, unknown account)."""


class TokenEndpointUnreachable(Exception):
    """No access token for now (network, 5xx at the token endpoint): transient."""


# One connection pool per event loop (so per worker process) for every app's FCM client: FCM
# authenticates each request by its bearer header, not by the connection, so apps can share
# keep-alive connections. A process then holds at most PUSH_SEND_CONCURRENCY sockets to FCM
# however many apps it sends for (a pool per app kept up to that many per app, each for a
# minute after its last send), and a chunk of another app starts on warm connections.
_connectors: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.TCPConnector] = (
    weakref.WeakKeyDictionary()
)
os.register_at_fork(after_in_child=_connectors.clear)


def shared_connector(limit: int) -> aiohttp.TCPConnector:
    """This loop's FCM connection pool (must be called on the loop)."""
    loop = asyncio.get_running_loop()
    connector = _connectors.get(loop)
    if connector is None or connector.closed:
        # limit ≈ concurrency: one keep-alive connection per in-flight request, no more.
        connector = aiohttp.TCPConnector(limit=limit, ttl_dns_cache=300, keepalive_timeout=60)
        _connectors[loop] = connector
    return connector


async def shared_connector_close() -> None:
    """Close this loop's pool (runtime.close_all: tests, shutdown)."""
    connector = _connectors.pop(asyncio.get_running_loop(), None)
    if connector is not None:
        await connector.close()


class FcmTransport:
    def __init__(self, config: TransportConfig) -> None:
        info = json.loads(config.secret)
        if config.fcm_token_uri_override:
            info["token_uri"] = config.fcm_token_uri_override
        self.credentials = service_account.Credentials.from_service_account_info(
            info, scopes=[FCM_SCOPE]
        )
        self._pyfcm = FCMNotification(
            credentials=self.credentials, project_id=config.project_id or info.get("project_id")
        )
        # An instance attribute, so one process can talk to the simulator and to Google.
        self._pyfcm.FCM_END_POINT_BASE = f"{config.fcm_base_url.rstrip('/')}/v1/projects"
        self.url = self._pyfcm.fcm_end_point
        self.config = config
        self._session: aiohttp.ClientSession | None = None
        self._semaphore = asyncio.Semaphore(config.concurrency)
        self._token_lock = asyncio.Lock()
        self._access_token = ""
        self._token_expires_at = 0.0

    def _session_for_loop(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=shared_connector(self.config.concurrency),
                connector_owner=False,  # closing one app's client leaves the pool to the others
                timeout=aiohttp.ClientTimeout(total=self.config.timeout_seconds),
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    def _refresh_blocking(self) -> tuple[str, float]:
        """google-auth is synchronous (requests): runs in a worker thread, never on the loop."""
        try:
            # pyfcm's public way to a fresh OAuth2 token (google-auth refresh under the hood).
            token = self._pyfcm.request_headers()["Authorization"].removeprefix("Bearer ")
        except InvalidDataError as exc:  # pyfcm wraps every refresh failure in this
            cause = exc.__context__ or exc
            if isinstance(cause, google_auth_exceptions.RefreshError) and not getattr(
                cause, "retryable", False
            ):
                raise CredentialsRejected(str(cause)[:200]) from exc
            raise TokenEndpointUnreachable(
                f"token endpoint unreachable: {type(cause).__name__}"
            ) from exc
        expiry = self.credentials.expiry
        # google-auth keeps a naive UTC datetime.
        expires_at = expiry.replace(tzinfo=dt.UTC).timestamp() if expiry else time.time() + 3600
        return token, expires_at

    async def _bearer(self, *, rejected: str = "") -> str:
        """The current access token, refreshed first if it is about to expire or is the one
        FCM just `rejected` (a send that got 401 passes the token it used)."""
        fresh = self._token_expires_at - TOKEN_REFRESH_MARGIN_SECONDS > time.time()
        if fresh and self._access_token != rejected:
            return self._access_token
        async with self._token_lock:  # one refresh at a time; the others reuse its result
            stale = self._token_expires_at - TOKEN_REFRESH_MARGIN_SECONDS <= time.time()
            # After 200 concurrent 401s only the first waiter refreshes; the others see that
            # the token changed and reuse the new one.
            if stale or (rejected and self._access_token == rejected):
                loop = asyncio.get_running_loop()
                token, expires_at = await asyncio.wait_for(
                    loop.run_in_executor(None, self._refresh_blocking),
                    self.config.timeout_seconds,
                )
                self._access_token, self._token_expires_at = token, expires_at
                logger.info("FCM: access token refreshed for app %s", self.config.app_id)
        return self._access_token

    async def send(self, push: OutgoingPush, *, validate_only: bool = False) -> SendResult:
        async with self._semaphore:
            started = time.perf_counter()
            try:
                result = await self._send_once(push, validate_only=validate_only)
            except CredentialsRejected as exc:
                result = SendResult(
                    Outcome.FAILED,
                    reason=f"service account rejected: {exc}",
                    credentials_rejected=True,
                )
            except TokenEndpointUnreachable as exc:
                result = SendResult(
                    Outcome.RETRY, reason=str(exc), retry_after=NETWORK_RETRY_SECONDS
                )
            except TimeoutError:
                result = SendResult(
                    Outcome.RETRY, reason="timeout", retry_after=NETWORK_RETRY_SECONDS
                )
            except (aiohttp.ClientError, OSError) as exc:
                result = SendResult(
                    Outcome.RETRY,
                    reason=f"connection error: {type(exc).__name__}",
                    retry_after=NETWORK_RETRY_SECONDS,
                )
            metrics.provider_request_observe(provider="fcm", seconds=time.perf_counter() - started)
        self._log(push, result)
        return result

    async def _send_once(self, push: OutgoingPush, *, validate_only: bool) -> SendResult:
        if push.encoded is not None:
            data = (
                b'{"message":'
                + push.encoded
                + (b',"validate_only":true}' if validate_only else b"}")
            )
        else:
            body: dict[str, Any] = {"message": push.body}
            if validate_only:
                body["validate_only"] = True
            data = encode(body)
        bearer = await self._bearer()
        result = await self._post(data, bearer)
        if result is None:
            # 401 UNAUTHENTICATED: our access token expired or was revoked early; mint a new
            # one once. A second 401 means the credentials themselves are bad.
            result = await self._post(data, await self._bearer(rejected=bearer))
        if result is None:
            result = SendResult(
                Outcome.FAILED, reason="401 UNAUTHENTICATED", credentials_rejected=True
            )
        return result

    async def _post(self, data: bytes, bearer: str) -> SendResult | None:
        session = self._session_for_loop()
        headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}
        async with session.post(self.url, data=data, headers=headers) as response:
            raw = await response.read()
            if response.status == 401 and not _error_parts(_json(raw))[0]:
                return None
            return classify_fcm_answer(
                response.status, _json(raw), response.headers.get("Retry-After")
            )

    def _log(self, push: OutgoingPush, result: SendResult) -> None:
        log_result(logger, "FCM", push, result)

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None
