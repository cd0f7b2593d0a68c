from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from devices.trigger_outbox import pump_sleep
from pushmarketing.core.models import AddOn
from tests.factories import UserFactory

# Every area's shared fixtures. Pytest only honours pytest_plugins in this top-level conftest.
pytest_plugins = [
    "tests.api_fixtures",
    "tests.campaign_fixtures",
    "tests.composer_fixtures",
    "tests.delivery_fixtures",
    "tests.inapp_fixtures",
    "tests.query_plans",
    "tests.simulator_fixtures",
    "tests.ui_fixtures",
    "tests.worker_fixtures",
]


@pytest.fixture(autouse=True)
def ui_language_reset():
    """A request in French (LocaleMiddleware, the user's language) leaves French active in the
    thread, as a server's next request would overwrite; a test's next request or gettext call
    must start from the default language."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def trigger_pump_flag_down():
    """The trigger pump's wake flag lives in the shared cache (devices.trigger_outbox): one
    test's flag, with no pump behind it, must not silence the next test's wake-up."""
    pump_sleep()
    yield
    pump_sleep()


@pytest.fixture
def addon_on(db: None) -> AddOn:
    addon, _ = AddOn.objects.update_or_create(
        code=AddOn.Code.MOBILE_PUSH, defaults={"enabled": True}
    )
    return addon


@pytest.fixture
def addon_enabled(transactional_db: None) -> None:
    """addon_on for tests whose writes a worker process must see (transactional)."""
    AddOn.objects.update_or_create(code=AddOn.Code.MOBILE_PUSH, defaults={"enabled": True})


@pytest.fixture
def admin_user(db: None):
    return UserFactory(username="alice-admin", role="admin")


@pytest.fixture
def marketer_user(db: None):
    return UserFactory(username="mark-marketer", role="marketer")


@pytest.fixture
def approver_user(db: None):
    return UserFactory(username="april-approver", role="approver")


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(admin_user) -> Client:  # noqa: F811 - overrides pytest-django's superuser client
    return _client_for(admin_user)


@pytest.fixture
def marketer_client(marketer_user) -> Client:
    return _client_for(marketer_user)


@pytest.fixture
def approver_client(approver_user) -> Client:
    return _client_for(approver_user)
