"""The README's simulator section states the token shapes the registry enforces: keep them in
step with devices.services.rules, and its example tokens valid."""

from __future__ import annotations

from django.conf import settings

from devices.models import Platform
from devices.services.rules import (
    APNS_TOKEN_MAX,
    APNS_TOKEN_MIN,
    FCM_TOKEN_MAX,
    FCM_TOKEN_MIN,
    push_token_error,
)


def test_readme_states_the_registry_token_rules():
    readme = (settings.BASE_DIR / "README.md").read_text()
    assert f"**{FCM_TOKEN_MIN}–{FCM_TOKEN_MAX} characters**" in readme
    assert f"**{APNS_TOKEN_MIN}–{APNS_TOKEN_MAX}** long" in readme
    assert f"FCM token ({FCM_TOKEN_MIN}–{FCM_TOKEN_MAX} chars) contains" in readme


def test_readme_example_tokens_are_accepted_by_the_registry():
    for token in ["demo-" + "x" * 150, "ratelimit-" + "x" * 150]:
        assert push_token_error(platform=Platform.ANDROID, token=token) is None
    assert push_token_error(platform=Platform.IOS, token="dead" + "0" * 60) is None
    # What a first batch of registrations sent: short FCM tokens are refused, naming the rule.
    assert push_token_error(platform=Platform.ANDROID, token="fcm-token-1") == (
        "FCM registration token must be 100-255 characters long (got 11)."
    )
