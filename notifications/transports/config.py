"""What a provider client needs to talk to one app's provider, as a frozen value.

Built by the send path from rows it has already loaded; holds the decrypted secret in
memory only (never logged: `repr` hides it). Every endpoint comes from settings so the same
transports talk to Google/Apple or to the local simulator."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings

from pushmarketing.core.secrets import decrypt_bytes

if TYPE_CHECKING:
    from devices.models import MobileApp, PushCredential

KIND_APNS_TOKEN = "apns_token"  # noqa: S105 - a credential kind's name, not a secret
KIND_APNS_CERTIFICATE = "apns_certificate"
KIND_FCM_SERVICE_ACCOUNT = "fcm_service_account"
KINDS = (KIND_APNS_TOKEN, KIND_APNS_CERTIFICATE, KIND_FCM_SERVICE_ACCOUNT)


@dataclass(frozen=True)
class TransportConfig:
    app_id: int
    platform: str
    version: int
    kind: str
    # .p8 PEM text / PEM cert+key text / service-account JSON text.
    secret: str = field(repr=False)
    key_id: str = ""
    team_id: str = ""
    topic: str = ""
    use_sandbox: bool = False
    project_id: str = ""
    fcm_base_url: str = "https://fcm.googleapis.com"
    fcm_token_uri_override: str = ""
    apns_host: str = "api.push.apple.com"
    apns_port: int = 443
    apns_ca_file: str = ""
    timeout_seconds: float = 10.0
    concurrency: int = 200

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind: must be one of {', '.join(KINDS)}")
        if self.concurrency < 1:
            raise ValueError("concurrency: must be at least 1")
        if self.timeout_seconds <= 0:
            raise ValueError("timeout_seconds: must be positive")

    @property
    def registry_key(self) -> tuple[int, str]:
        return (self.app_id, self.platform)

    @property
    def is_apns(self) -> bool:
        return self.kind in (KIND_APNS_TOKEN, KIND_APNS_CERTIFICATE)


def endpoint_settings(*, use_sandbox: bool) -> dict[str, Any]:
    """The settings-driven part of a config (also used by the benchmark, which has no rows)."""
    return {
        "fcm_base_url": settings.FCM_BASE_URL.rstrip("/"),
        "fcm_token_uri_override": settings.FCM_TOKEN_URI_OVERRIDE or "",
        "apns_host": settings.APNS_HOST_SANDBOX if use_sandbox else settings.APNS_HOST_PRODUCTION,
        "apns_port": int(settings.APNS_PORT),
        "apns_ca_file": str(settings.APNS_CA_FILE or ""),
        "timeout_seconds": float(settings.PUSH_SEND_TIMEOUT_SECONDS),
        "concurrency": int(settings.PUSH_SEND_CONCURRENCY),
    }


def transport_config_from(credential: PushCredential, app: MobileApp) -> TransportConfig:
    """No queries: `credential` and `app` are rows the caller already holds."""
    secret = decrypt_bytes(credential.secret_encrypted).decode()
    meta = credential.public_meta or {}
    use_sandbox = app.app_type == "sandbox"
    project_id = ""
    if credential.kind == KIND_FCM_SERVICE_ACCOUNT:
        project_id = meta.get("project_id") or json.loads(secret).get("project_id", "")
    return TransportConfig(
        app_id=app.pk,
        platform=credential.platform,
        version=credential.version,
        kind=credential.kind,
        secret=secret,
        key_id=meta.get("key_id", ""),
        team_id=meta.get("team_id", ""),
        topic=app.ios_bundle_id if credential.platform == "ios" else app.android_package,
        use_sandbox=use_sandbox,
        project_id=project_id,
        **endpoint_settings(use_sandbox=use_sandbox),
    )
