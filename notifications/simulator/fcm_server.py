"""The simulator's FCM side: the OAuth2 token endpoint and HTTP v1 `messages:send`, plus the
`/_sim/*` control endpoints (which also cover APNs receipts)."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

import jwt
from aiohttp import web

from notifications.simulator.state import MAX_PAYLOAD_BYTES, Receipt, SimulatorState

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
ACCESS_TOKEN_SECONDS = 3600

STATE_KEY: web.AppKey[SimulatorState] = web.AppKey("state", SimulatorState)
ACCOUNTS_KEY: web.AppKey[dict] = web.AppKey("accounts", dict)

# status, errorCode, google status, message — by token shape (see the package docstring).
_TOKEN_RULES: list[tuple[str, int, str, str, str]] = [
    ("unregistered", 404, "UNREGISTERED", "NOT_FOUND", "Requested entity was not found."),
    ("badtoken", 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT",
     "The registration token is not a valid FCM registration token"),
    ("mismatch", 403, "SENDER_ID_MISMATCH", "PERMISSION_DENIED", "SenderId mismatch"),
    ("authfail", 401, "THIRD_PARTY_AUTH_ERROR", "UNAUTHENTICATED",
     "Auth error from APNS or Web Push Service"),
    ("ratelimit", 429, "QUOTA_EXCEEDED", "RESOURCE_EXHAUSTED", "Quota exceeded."),
    ("unavailable", 503, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable."),
    ("internal", 500, "INTERNAL", "INTERNAL", "Internal error encountered."),
]  # fmt: skip
_FAULTS = {
    400: ("INVALID_ARGUMENT", "INVALID_ARGUMENT", "Request contains an invalid argument."),
    404: ("UNREGISTERED", "NOT_FOUND", "Requested entity was not found."),
    410: ("UNREGISTERED", "NOT_FOUND", "Requested entity was not found."),
    429: ("QUOTA_EXCEEDED", "RESOURCE_EXHAUSTED", "Quota exceeded."),
    500: ("INTERNAL", "INTERNAL", "Internal error encountered."),
    503: ("UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable."),
}


def _error(
    status: int, error_code: str, google_status: str, message: str, **headers: str
) -> web.Response:
    body: dict[str, Any] = {"error": {"code": status, "message": message, "status": google_status}}
    if error_code:
        body["error"]["details"] = [
            {
                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                "errorCode": error_code,
            }
        ]
    return web.json_response(body, status=status, headers=headers or None)


async def token_endpoint(request: web.Request) -> web.Response:
    form = await request.post()
    if form.get("grant_type") != JWT_BEARER_GRANT:
        return web.json_response(
            {"error": "unsupported_grant_type", "error_description": "grant_type"}, status=400
        )
    assertion = str(form.get("assertion", ""))
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
        account = request.app[ACCOUNTS_KEY].get(claims.get("iss"))
        if account is None or header.get("kid") != account["private_key_id"]:
            raise jwt.InvalidTokenError("unknown service account or key id")
        jwt.decode(
            assertion,
            account["public_pem"],
            algorithms=["RS256"],
            options={"verify_aud": False, "require": ["exp", "iat", "iss"]},
        )
    except jwt.PyJWTError:
        return web.json_response(
            {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, status=400
        )
    if FCM_SCOPE not in str(claims.get("scope", "")).split():
        return web.json_response(
            {"error": "invalid_scope", "error_description": "scope"}, status=400
        )
    access_token = "ya29.sim-" + secrets.token_urlsafe(24)
    request.app[STATE_KEY].access_tokens[access_token] = (
        account["project_id"],
        time.time() + ACCESS_TOKEN_SECONDS,
    )
    request.app[STATE_KEY].tokens_issued += 1
    return web.json_response(
        {"access_token": access_token, "expires_in": ACCESS_TOKEN_SECONDS, "token_type": "Bearer"}
    )


def _message_problem(body: Any) -> str:
    if not isinstance(body, dict) or not isinstance(body.get("message"), dict):
        return "Invalid JSON payload received. Unknown name or missing 'message'."
    message = body["message"]
    if not isinstance(message.get("token"), str) or not message["token"]:
        return "Invalid value at 'message.token': a token is required"
    data = message.get("data", {})
    if not isinstance(data, dict):
        return "Invalid value at 'message.data': must be a map"
    for key, value in data.items():
        if not isinstance(value, str):
            return f"Invalid value at 'message.data[{key}].value' (TYPE_STRING)"
    rest = {k: v for k, v in message.items() if k != "token"}
    size = len(json.dumps(rest, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_PAYLOAD_BYTES:
        return f"Message is too big: {size} bytes (limit {MAX_PAYLOAD_BYTES})"
    return ""


async def messages_send(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    project = request.match_info["project"]
    auth = request.headers.get("Authorization", "")
    grant = state.access_tokens.get(auth.removeprefix("Bearer ").strip())
    if not auth.startswith("Bearer ") or grant is None or grant[1] < time.time():
        state.record(Receipt("fcm", "", 401, "UNAUTHENTICATED", time.time()))
        return _error(401, "", "UNAUTHENTICATED", "Request had invalid authentication credentials.")
    if grant[0] != project:
        state.record(Receipt("fcm", "", 403, "PERMISSION_DENIED", time.time()))
        return _error(403, "", "PERMISSION_DENIED", f"Permission denied on project {project}.")
    raw = await request.read()
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    problem = _message_problem(body)
    message = body.get("message") if isinstance(body, dict) else None
    token = message.get("token", "") if isinstance(message, dict) else ""
    token = token if isinstance(token, str) else ""
    delay = state.latency_seconds(slow="slow" in token)
    if delay:
        await asyncio.sleep(delay)
    if problem:
        state.record(Receipt("fcm", token, 400, "INVALID_ARGUMENT", time.time()))
        return _error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", problem)
    response = _answer_for_token(state, token)
    if response is not None:
        return response
    validate_only = bool(body.get("validate_only"))
    message_id = "fake_message_id" if validate_only else secrets.token_hex(8)
    name = f"projects/{project}/messages/{message_id}"
    if not validate_only:
        state.record(
            Receipt(
                "fcm", token, 200, "", time.time(), host=request.host, raw=raw, raw_key="message"
            )
        )
    return web.json_response({"name": name})


def _answer_for_token(state: SimulatorState, token: str) -> web.Response | None:
    retry_after = str(state.config.retry_after_seconds)
    fault = state.injected_fault()
    if fault is not None:
        code, google_status, message = _FAULTS[fault]
        state.record(Receipt("fcm", token, fault, code, time.time()))
        headers = {"Retry-After": retry_after} if fault in (429, 503) else {}
        return _error(fault, code, google_status, message, **headers)
    lowered = token.lower()
    for marker, status, code, google_status, message in _TOKEN_RULES:
        if marker in lowered or (marker == "unregistered" and lowered.startswith("dead")):
            state.record(Receipt("fcm", token, status, code, time.time()))
            headers = {"Retry-After": retry_after} if status == 429 else {}
            return _error(status, code, google_status, message, **headers)
    return None


# A bench reads a whole step's receipts at once (bench/triggers.py: up to 15,000).
MAX_RECEIPTS_LISTED = 50_000


async def sim_receipts(request: web.Request) -> web.Response:
    token = request.query.get("token")
    try:
        limit = min(int(request.query.get("limit", "100")), MAX_RECEIPTS_LISTED)
        since = float(request.query.get("since", "0"))
    except ValueError:
        return web.json_response(
            {"error": {"fields": {"limit": ["integer"], "since": ["epoch seconds"]}}}, status=400
        )
    receipts = request.app[STATE_KEY].receipts_for(token, limit=limit, since=since)
    return web.json_response({"receipts": receipts})


async def sim_stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE_KEY].stats())


async def sim_reset(request: web.Request) -> web.Response:
    request.app[STATE_KEY].reset()
    return web.json_response({"ok": True})


async def sim_config(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    try:
        values = await request.json()
    except ValueError:
        values = None
    if not isinstance(values, dict):
        return web.json_response(
            {"error": {"message": "body must be a JSON object", "fields": {}}}, status=400
        )
    errors = state.config.update(values)
    if errors:
        return web.json_response(
            {"error": {"message": "invalid settings", "fields": errors}}, status=400
        )
    return web.json_response(state.stats()["config"])


def fcm_app(state: SimulatorState, accounts: list[dict[str, Any]]) -> web.Application:
    app = web.Application(client_max_size=64 * 1024)
    app[STATE_KEY] = state
    app[ACCOUNTS_KEY] = {account["client_email"]: account for account in accounts}
    app.router.add_post("/token", token_endpoint)
    app.router.add_post("/v1/projects/{project}/messages:send", messages_send)
    app.router.add_get("/_sim/receipts", sim_receipts)
    app.router.add_get("/_sim/stats", sim_stats)
    app.router.add_post("/_sim/reset", sim_reset)
    app.router.add_post("/_sim/config", sim_config)
    return app
