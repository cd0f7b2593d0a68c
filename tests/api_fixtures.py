"""Fixtures for the SDK and management API tests (imported explicitly by those modules)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import Client

from devices.auth_failures import auth_failures_clear
from devices.authentication import sdk_app_cache_clear
from pushmarketing.core.models import RateCounter
from pushmarketing.core.throttling import throttle_leases_clear
from tests.factories import DEFAULT_SDK_SECRET, MobileAppFactory

IOS_TOKEN = "ab" * 32
FCM_TOKEN = "fcm_" + "A1b2C3-_:." * 12


def basic_auth(key: str, secret: str = DEFAULT_SDK_SECRET) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


class SdkClient:
    """Django's test client with an app's Basic credentials and JSON bodies."""

    def __init__(self, key: str, secret: str = DEFAULT_SDK_SECRET) -> None:
        self.client = Client()
        self.auth = basic_auth(key, secret)

    def post(self, path: str, body: Any = None, **extra: Any):
        return self.client.post(
            "/api/sdk/v1/" + path,
            data=body if isinstance(body, (str, bytes)) else json.dumps(body or {}),
            content_type="application/json",
            HTTP_AUTHORIZATION=self.auth,
            **extra,
        )

    def register(self, installation_id: str = "inst-1", **fields: Any):
        body = {"installation_id": installation_id, "platform": "ios", **fields}
        return self.post("devices/register", body)


def clear_throttle_counts() -> None:
    """Each test starts with fresh throttle windows (the database's counts are the test's
    own). On Redis only the throttle's keys go: the same database may hold the Celery
    broker's queues."""
    throttle_leases_clear()
    auth_failures_clear()
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(write=True)
        for key in client.scan_iter("pm:throttle:*"):
            client.delete(key)
    else:
        RateCounter.objects.all().delete()
        backend.clear()


def throttle_claim_statements() -> int:
    """Statements a throttled call may add to a query count: on the database backend the
    call that claims a lease runs one upsert (pushmarketing.core.throttling); Redis, none."""
    return 0 if isinstance(caches["default"], RedisCache) else 1


@pytest.fixture
def clean_cache() -> None:
    clear_throttle_counts()
    sdk_app_cache_clear()


@pytest.fixture
def sdk_app(db: None, clean_cache: None):
    return MobileAppFactory()


@pytest.fixture
def sdk(sdk_app) -> SdkClient:
    return SdkClient(sdk_app.sdk_key)


def bearer_client(user, name: str = "tests") -> tuple[Client, str]:
    """A client sending a fresh API token of `user` as `Authorization: Bearer`."""
    from pushmarketing.core.api_tokens import api_token_create

    _, plaintext = api_token_create(user=user, name=name)
    return Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}"), plaintext
