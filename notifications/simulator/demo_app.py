"""Wire an app to the simulator: upload the simulator's demo credentials through the same
services an admin's upload uses (so they are parsed, checked and encrypted the same way)."""

from __future__ import annotations

from typing import Any

from devices.credentials import credential_upload_apns_token, credential_upload_fcm
from devices.models import MobileApp
from notifications.simulator.credentials import DemoCredentials


def simulator_credentials_install(
    *, app: MobileApp, creds: DemoCredentials, token_uri: str | None = None, actor: Any = None
) -> None:
    """APNs .p8 token auth and FCM for `app`. `token_uri` points the service account at a
    simulator on another port (tests bind it to a free one)."""
    credential_upload_apns_token(
        app=app,
        key_pem=creds.apns_key_pem,
        key_id=creds.apns_key_id,
        team_id=creds.apns_team_id,
        actor=actor,
    )
    credential_upload_fcm(
        app=app, service_account_json=creds.fcm_service_account(token_uri=token_uri), actor=actor
    )
