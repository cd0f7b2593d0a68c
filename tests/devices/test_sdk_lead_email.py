"""Leads log in with the e-mail they have: RFC 6531 allows any letter in the local part."""

from __future__ import annotations

import pytest

from devices.models import Lead
from tests.api_fixtures import sdk, sdk_app  # noqa: F401 - fixtures


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["josé@example.com", "田中@example.jp", "ünal.öz@bücher.de"])
def test_an_international_email_logs_in(sdk, email):  # noqa: F811
    sdk.register("inst-1")
    response = sdk.post("devices/inst-1/lead", {"email": email})
    assert response.status_code == 200, response.content
    assert Lead.objects.filter(email__iexact=email).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["no-at-sign", "two@@example.com", "dot.@example.com"])
def test_a_malformed_email_is_still_refused(sdk, email):  # noqa: F811
    sdk.register("inst-1")
    response = sdk.post("devices/inst-1/lead", {"email": email})
    assert response.status_code == 400
    assert "email" in response.json()["error"]["fields"]
