"""The sample send page in headless Chromium: submit, then watch the small polling script
turn each device's status into its terminal state without a reload (real worker, broker and
simulator behind the live server)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.test import Client

from pushmarketing.core.models import AddOn
from tests.delivery_fixtures import apns_token, simulator_app
from tests.factories import DeviceFactory, PushNotificationFactory, UserFactory
from tests.worker_fixtures import *  # noqa: F403 - celery_worker fixtures

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def _chromium() -> str:
    path = os.environ.get("PM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        message = "Chromium not found (install chromium or set PM_CHROMIUM)"
        if os.environ.get("PM_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_sample_status_updates_live_in_the_browser(
    live_server, push_simulator, celery_worker, monkeypatch
):
    from playwright.sync_api import expect, sync_playwright

    # Playwright's sync API runs an event loop on this thread; the ORM calls made here stay
    # synchronous. Set for this test only: a process-wide value would leak into subprocesses
    # (`check --deploy` refuses it).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    from notifications.simulator import client as sim_client

    for name in ("admin", "marketer", "approver"):
        Group.objects.get_or_create(name=name)
    AddOn.objects.update_or_create(code=AddOn.Code.MOBILE_PUSH, defaults={"enabled": True})
    app = simulator_app(push_simulator)
    DeviceFactory(
        app=app, push_token="ok-browser-pixel", is_test_device=True, test_device_name="Pixel"
    )
    DeviceFactory(
        app=app, platform="ios", push_token=apns_token("dead", 7), is_test_device=True,
        test_device_name="Old iPhone",
    )  # fmt: skip
    notification = PushNotificationFactory(app=app, name="Spring sale")
    client = Client()
    client.force_login(UserFactory(role="marketer"))
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=_chromium(), args=["--no-sandbox", "--headless", "--disable-gpu"]
        )
        context = browser.new_context()
        context.add_cookies(
            [
                {
                    "name": django_settings.SESSION_COOKIE_NAME,
                    "value": session,
                    "url": live_server.url,
                }
            ]
        )
        page = context.new_page()
        page.goto(f"{live_server.url}/notifications/{notification.pk}/sample/")
        page.get_by_label("Pixel").check()
        page.get_by_label("Old iPhone").check()
        # Slow provider: the page first renders the sample as not finished, then the polling
        # script has to bring each row to its terminal state.
        sim_client.configure(latency_ms=1500)
        page.get_by_role("button", name="Send sample").click()
        page.wait_for_load_state()
        rendered_done = page.locator("#sample-status").get_attribute("data-done")

        pixel = page.locator("#sample-status tr", has_text="Pixel").locator(".sample-state")
        iphone = page.locator("#sample-status tr", has_text="Old iPhone").locator(".sample-state")
        expect(pixel).to_contain_text("Sent", timeout=30_000)
        expect(iphone).to_contain_text("Token invalid", timeout=30_000)
        expect(iphone).to_contain_text("Unregistered")
        assert rendered_done == "0"
        expect(page.locator("#sample-status")).to_have_attribute("data-done", "1")
        browser.close()
