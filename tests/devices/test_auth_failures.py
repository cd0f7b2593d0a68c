"""Wrong SDK secrets are limited per app key and client address (devices.auth_failures)."""

from __future__ import annotations

import pytest

from devices.models import Device
from tests.api_fixtures import SdkClient, clean_cache, sdk, sdk_app  # noqa: F401
from tests.factories import MobileAppFactory

pytestmark = pytest.mark.django_db


def register(client: SdkClient, installation_id: str = "i1", **meta: str) -> int:
    body = {"installation_id": installation_id, "platform": "ios"}
    return client.post("devices/register", body, **meta).status_code


@pytest.fixture(autouse=True)
def five_failures_a_minute(settings, clean_cache):  # noqa: ANN001, ANN201, F811
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"sdk_app": "3000/min", "sdk_auth_failure": "5/min"},
    }


def test_wrong_secrets_get_429_after_the_limit_and_the_right_one_waits(sdk_app):  # noqa: F811
    wrong = SdkClient(sdk_app.sdk_key, "not-the-secret")
    statuses = [register(wrong) for _ in range(7)]
    assert statuses == [401] * 5 + [429] * 2
    response = wrong.register("i1")
    retry_after = response.json()["error"]["retry_after_seconds"]
    assert response["Retry-After"] == str(retry_after) and 1 <= retry_after <= 60
    # From this address the key is refused before its secret is even checked...
    assert register(SdkClient(sdk_app.sdk_key)) == 429
    # ...while another address, and another app from this one, go on.
    assert register(SdkClient(sdk_app.sdk_key), REMOTE_ADDR="10.0.0.9") == 201
    assert register(SdkClient(MobileAppFactory().sdk_key), "i2") == 201
    assert Device.objects.count() == 2


def test_a_correct_app_never_spends_the_failure_budget(sdk):  # noqa: F811
    assert {sdk.register(f"i{n}").status_code for n in range(12)} == {201}


def test_forwarded_for_is_ignored_unless_proxies_are_configured(sdk_app, settings):  # noqa: F811
    wrong = SdkClient(sdk_app.sdk_key, "not-the-secret")
    spoofed = [register(wrong, HTTP_X_FORWARDED_FOR=f"10.1.0.{n}") for n in range(6)]
    assert spoofed == [401] * 5 + [429]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    behind_proxy = register(wrong, HTTP_X_FORWARDED_FOR="6.6.6.6, 10.2.0.1")
    assert behind_proxy == 401  # the proxy's view of the client: a new address
