"""PushMarketing push simulator: a real local FCM (HTTP v1 + OAuth2 token endpoint) and APNs
(HTTP/2 over TLS with a generated test CA) on loopback, for the demo, tests and benchmarks.

Run it: `python manage.py push_simulator` (prints the settings that point the app at it).
Credentials it trusts: `notifications.simulator.credentials.demo_credentials(PUSH_SIMULATOR_DIR)`.

How it answers — by token shape, after validating auth, headers and payload:

FCM (token contains …, case-insensitive)      APNs (hex token starts with …)
  `unregistered` or starts with `dead`          `dead` → 410 Unregistered + timestamp (ms)
     → 404 UNREGISTERED
  `badtoken` → 400 INVALID_ARGUMENT             `bad0` → 400 BadDeviceToken
     ("…not a valid FCM registration token")    `70b1` → 400 DeviceTokenNotForTopic
  `mismatch` → 403 SENDER_ID_MISMATCH           non-hex or < 64 chars → 400 BadDeviceToken
  `authfail` → 401 THIRD_PARTY_AUTH_ERROR
  `ratelimit` → 429 QUOTA_EXCEEDED              `429a` → 429 TooManyRequests
     + Retry-After (retry_after_seconds, 1)
  `internal` → 500 INTERNAL                     `5000` → 500 InternalServerError
  `unavailable` → 503 UNAVAILABLE               `5030` → 503 ServiceUnavailable
  `slow` → slow_latency_ms extra (3000)         `5100` → slow_latency_ms extra
  anything else → 200 {"name": …}               anything else → 200 + apns-id echoed

Validation like the real services:
- FCM: bearer token from `POST /token` (JWT-bearer grant signed by a known service-account
  key, `kid` = private_key_id) else 401; project of the token ≠ URL project → 403
  PERMISSION_DENIED; `message.token` required, `data` values strings, message (without the
  token) ≤ 4096 bytes, else 400 INVALID_ARGUMENT; `validate_only: true` answers without
  delivering (`…/messages/fake_message_id`).
- APNs: ES256 provider JWT with a known `kid`, `iss` = that key's team id, `iat` < 1 h old
  (else 403 InvalidProviderToken / ExpiredProviderToken / MissingProviderToken), or a client
  certificate signed by the simulator CA (its UID is the only allowed topic, else 400
  TopicDisallowed); `apns-topic` required (MissingTopic); `apns-push-type`, `apns-priority`
  (BadPriority), `apns-collapse-id` ≤ 64 bytes; payload ≤ 4096 bytes (413 PayloadTooLarge).
- Sandbox vs production: one port; the request's `host` decides — `localhost` is recorded as
  the sandbox host, anything else (e.g. `127.0.0.1`) as production.

Apple's stream ramp (`stream_ramp`, on by default): every APNs connection starts with
SETTINGS_MAX_CONCURRENT_STREAMS = 1 and gets a SETTINGS frame raising it to 1000 once its first
authorised request is answered. `GET /_sim/stats` → `apns_streams` counts connections, the most
streams in flight on one connection, and streams opened over the advertised limit (served, not
refused: a client's first burst can race our first SETTINGS frame).

Faults on top: `latency_ms` ± `latency_jitter_ms` (uniform, per request, FCM and APNs),
`fault_rate` (0..1) of requests answered with one of `fault_statuses` (default 429, 500, 503).
Set them with command options (`--latency-ms`, `--latency-jitter-ms`, `--no-stream-ramp`, …) or
`POST /_sim/config {"fault_rate": 0.1, "latency_ms": 50, "latency_jitter_ms": 10,
"stream_ramp": false}`.

Control endpoints (FCM port; they cover APNs too): `GET /_sim/receipts?token=…&limit=…&since=…`
(the virtual device inbox: latest 20 deliveries per token, 50,000 tokens), `GET /_sim/stats`
(per-provider counts by status), `POST /_sim/reset` (also revokes issued access tokens), `POST /_sim/config`.
`notifications.simulator.client` wraps them.
"""
