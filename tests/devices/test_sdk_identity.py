# ruff: noqa: F811 - pytest fixtures imported from tests.api_fixtures are re-bound as arguments
"""Identity on the SDK's login call: external ids, identity verification (HMAC-SHA256 with the
app's identity secret), SDK-writable lead fields and the cross-app ownership rule."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction

from devices.models import Device, Lead, MobileApp
from devices.services.identity import app_identity_secret_rotate
from tests.api_fixtures import (  # noqa: F401 - fixtures
    SdkClient,
    clean_cache,
    sdk,
    sdk_app,
)
from tests.factories import LeadFactory, MobileAppFactory

pytestmark = pytest.mark.django_db

VICTIM = "victim@example.com"
ATTACK = {"email": VICTIM, "first_name": "Pwned", "custom_fields": {"tier": "hacked"}}


def sign(secret: str, message: str) -> str:
    # Computed here from the documented rule, not with the service's own helper.
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verified_app(**fields) -> tuple[MobileApp, str]:
    app = MobileAppFactory(**fields)
    secret = app_identity_secret_rotate(app=app, actor=None)
    MobileApp.objects.filter(pk=app.pk).update(identity_verification_required=True)
    return app, secret


def client_for(app: MobileApp, installation_id: str = "phone") -> SdkClient:
    client = SdkClient(app.sdk_key)
    assert client.register(installation_id).status_code == 201
    return client


def error(response) -> dict:
    return response.json()["error"]


@pytest.fixture
def app_a(clean_cache) -> tuple[MobileApp, str]:
    return verified_app(sdk_writable_custom_fields=["tier"])


@pytest.fixture
def victim_lead(app_a) -> Lead:
    """The lead app A registered for its verified user."""
    app, secret = app_a
    body = {
        "email": VICTIM,
        "first_name": "Vic",
        "custom_fields": {"tier": "gold"},
        "identity_signature": sign(secret, VICTIM),
    }
    response = client_for(app).post("devices/phone/lead", body)
    assert response.status_code == 200, response.content
    return Lead.objects.get(email=VICTIM)


def assert_untouched(lead: Lead) -> None:
    lead.refresh_from_db()
    assert (lead.first_name, lead.custom_fields) == ("Vic", {"tier": "gold"})


# --- the cross-app rewrite ----------------------------------------------------------------


def test_verified_login_claims_the_lead_for_its_app(app_a, victim_lead):
    assert victim_lead.verified_by_app_id == app_a[0].pk


def test_cross_app_lead_rewrite_is_refused(victim_lead):
    # App B writes tier from the SDK too: only the ownership rule stands in the way.
    app_b = MobileAppFactory(sdk_writable_custom_fields=["tier"])
    b = client_for(app_b)
    response = b.post("devices/phone/lead", ATTACK)
    assert response.status_code == 403
    assert error(response)["code"] == "lead_owned_by_another_app"
    assert "verified by another app" in error(response)["message"]
    assert_untouched(victim_lead)
    assert Device.objects.get(app=app_b).lead is None  # nothing of the call was applied


def test_the_reported_rewrite_with_default_settings_is_refused(victim_lead):
    b = client_for(MobileAppFactory())
    response = b.post("devices/phone/lead", ATTACK)
    assert response.status_code == 400
    fields = error(response)["fields"]
    assert list(fields) == ["custom_fields.tier"]  # first_name is writable by default
    assert fields["custom_fields.tier"][0].startswith("Not writable from the SDK")
    assert_untouched(victim_lead)


def test_other_app_may_associate_a_verified_lead_without_writing_it(victim_lead):
    app_b = MobileAppFactory()
    response = client_for(app_b).post("devices/phone/lead", {"email": VICTIM})
    assert response.status_code == 200, response.content
    assert Device.objects.get(app=app_b).lead == victim_lead
    assert_untouched(victim_lead)


def test_other_app_may_not_link_an_external_id_to_a_verified_lead(victim_lead):
    b = client_for(MobileAppFactory())
    response = b.post("devices/phone/lead", {"email": VICTIM, "external_id": "attacker-1"})
    assert response.status_code == 403
    victim_lead.refresh_from_db()
    assert victim_lead.external_id is None


def test_other_app_verified_for_the_same_identity_may_write(app_a, victim_lead):
    app_b, secret_b = verified_app()
    b = client_for(app_b)
    body = {"email": VICTIM, "first_name": "Victoria", "identity_signature": sign(secret_b, VICTIM)}
    assert b.post("devices/phone/lead", body).status_code == 200
    victim_lead.refresh_from_db()
    assert victim_lead.first_name == "Victoria"
    assert victim_lead.verified_by_app_id == app_a[0].pk  # the first verifier keeps it


def test_the_owning_app_may_write_its_lead_unverified_once_verification_is_off(app_a, victim_lead):
    app, _secret = app_a
    MobileApp.objects.filter(pk=app.pk).update(identity_verification_required=False)
    body = {"email": VICTIM, "first_name": "Victoria"}
    assert SdkClient(app.sdk_key).post("devices/phone/lead", body).status_code == 200
    victim_lead.refresh_from_db()
    assert victim_lead.first_name == "Victoria"


# --- signatures ---------------------------------------------------------------------------


def test_forged_signature_gets_401_naming_the_rule(app_a):
    app, _secret = app_a
    forged = sign("not-the-identity-secret", VICTIM)
    response = client_for(app).post("devices/phone/lead", {**ATTACK, "identity_signature": forged})
    assert response.status_code == 401
    assert error(response)["code"] == "identity_unverified"
    assert "Invalid identity signature" in error(response)["message"]
    assert "HMAC-SHA256" in error(response)["message"]
    assert not Lead.objects.exists()
    assert Device.objects.get(app=app).lead is None


def test_missing_signature_gets_401_when_verification_is_on(app_a):
    app, _secret = app_a
    response = client_for(app).post("devices/phone/lead", {"email": VICTIM})
    assert response.status_code == 401
    assert error(response)["message"].startswith("Identity verification is on for this app")
    assert not Lead.objects.exists()


def test_a_wrong_signature_is_refused_even_with_verification_off(app_a):
    app, secret = app_a
    MobileApp.objects.filter(pk=app.pk).update(identity_verification_required=False)
    body = {"email": VICTIM, "identity_signature": sign(secret, "someone-else@example.com")}
    assert client_for(app).post("devices/phone/lead", body).status_code == 401
    assert not Lead.objects.exists()


def test_a_signature_for_an_app_without_identity_secret_gets_401(sdk, sdk_app):
    sdk.register("phone")
    body = {"email": VICTIM, "identity_signature": "0" * 64}
    response = sdk.post("devices/phone/lead", body)
    assert response.status_code == 401
    assert "no identity secret" in error(response)["message"]


def test_a_rotated_identity_secret_stops_old_signatures(app_a):
    app, old = app_a
    new = app_identity_secret_rotate(app=app, actor=None)
    client = client_for(app)
    old_body = {"email": VICTIM, "identity_signature": sign(old, VICTIM)}
    assert client.post("devices/phone/lead", old_body).status_code == 401
    new_body = {"email": VICTIM, "identity_signature": sign(new, VICTIM)}
    assert client.post("devices/phone/lead", new_body).status_code == 200


def test_both_identities_sent_are_signed_together(app_a):
    app, secret = app_a
    client = client_for(app)
    body = {"external_id": "user-7", "email": "jane@example.com"}
    only_id = {**body, "identity_signature": sign(secret, "user-7")}
    assert client.post("devices/phone/lead", only_id).status_code == 401
    both = {**body, "identity_signature": sign(secret, "user-7\njane@example.com")}
    response = client.post("devices/phone/lead", both)
    assert response.status_code == 200, response.content
    assert response.json()["lead_external_id"] == "user-7"
    assert response.json()["lead_email"] == "jane@example.com"


def test_identity_secret_is_stored_encrypted(app_a):
    app, secret = app_a
    app.refresh_from_db()
    assert app.identity_secret_encrypted and secret not in app.identity_secret_encrypted


# --- external ids -------------------------------------------------------------------------


def test_login_by_external_id_alone_creates_a_lead_without_email(sdk, sdk_app):
    sdk.register("phone")
    response = sdk.post("devices/phone/lead", {"external_id": "user-1", "first_name": "Ann"})
    assert response.status_code == 200, response.content
    assert (response.json()["lead_external_id"], response.json()["lead_email"]) == ("user-1", None)
    lead = Lead.objects.get()
    assert (lead.external_id, lead.email, lead.first_name) == ("user-1", "", "Ann")
    assert lead.verified_by_app is None


def test_external_id_is_found_first_and_takes_the_email(sdk, sdk_app):
    sdk.register("phone")
    sdk.post("devices/phone/lead", {"external_id": "user-1"})
    sdk.post("devices/phone/lead", {"external_id": "user-1", "email": "ann@example.com"})
    assert Lead.objects.get().email == "ann@example.com"


def test_an_email_lead_takes_the_external_id_on_the_first_login_with_both(sdk, sdk_app):
    existing = LeadFactory(email="ann@example.com")
    sdk.register("phone")
    response = sdk.post("devices/phone/lead", {"external_id": "u-1", "email": "ANN@example.com"})
    assert response.status_code == 200
    existing.refresh_from_db()
    assert existing.external_id == "u-1"
    assert Lead.objects.count() == 1


def test_an_email_held_by_a_lead_with_another_external_id_is_a_conflict(sdk, sdk_app):
    LeadFactory(email="ann@example.com", external_id="u-1")
    sdk.register("phone")
    response = sdk.post("devices/phone/lead", {"external_id": "u-2", "email": "ann@example.com"})
    assert response.status_code == 409
    assert error(response)["code"] == "identity_conflict"
    assert "external_id" in error(response)["fields"]
    assert Lead.objects.count() == 1 and Device.objects.get().lead is None


def test_moving_an_external_id_to_another_leads_email_is_a_conflict(sdk, sdk_app):
    LeadFactory(email="ann@example.com")
    LeadFactory(email="bob@example.com", external_id="u-2")
    sdk.register("phone")
    response = sdk.post("devices/phone/lead", {"external_id": "u-2", "email": "ann@example.com"})
    assert response.status_code == 409
    assert "email" in error(response)["fields"]


def test_a_login_needs_an_external_id_or_an_email(sdk, sdk_app):
    sdk.register("phone")
    response = sdk.post("devices/phone/lead", {"first_name": "Ann"})
    assert response.status_code == 400
    assert set(error(response)["fields"]) == {"external_id", "email"}


@pytest.mark.parametrize("value", ["", "a\nb", "tab\there", "x" * 256, 42])
def test_bad_external_ids_get_400(sdk, sdk_app, value):
    sdk.register("phone")
    response = sdk.post("devices/phone/lead", {"external_id": value})
    assert response.status_code == 400
    assert "external_id" in error(response)["fields"]


def test_external_id_is_unique():
    LeadFactory(external_id="u-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        LeadFactory(external_id="u-1")


def test_many_leads_may_have_no_email():
    Lead.objects.create(external_id="u-1")
    Lead.objects.create(external_id="u-2")
    with pytest.raises(IntegrityError), transaction.atomic():
        Lead.objects.create()  # neither an e-mail nor an external id


# --- SDK-writable fields ------------------------------------------------------------------


def test_fields_the_admin_did_not_mark_writable_get_400_naming_each(sdk, sdk_app):
    MobileApp.objects.filter(pk=sdk_app.pk).update(
        sdk_writable_lead_fields=["first_name"], sdk_writable_custom_fields=["plan"]
    )
    sdk.register("phone")
    body = {
        "email": "ann@example.com",
        "first_name": "Ann",
        "city": "Lyon",
        "custom_fields": {"plan": "pro", "tier": "gold"},
    }
    response = sdk.post("devices/phone/lead", body)
    assert response.status_code == 400
    assert set(error(response)["fields"]) == {"city", "custom_fields.tier"}
    assert not Lead.objects.exists()

    allowed = {"email": "ann@example.com", "first_name": "Ann", "custom_fields": {"plan": "pro"}}
    assert sdk.post("devices/phone/lead", allowed).status_code == 200
    assert Lead.objects.get().custom_fields == {"plan": "pro"}


def test_writability_applies_to_verified_calls_too(app_a):
    app, secret = app_a
    body = {
        "email": VICTIM,
        "custom_fields": {"vip": True},
        "identity_signature": sign(secret, VICTIM),
    }
    response = client_for(app).post("devices/phone/lead", body)
    assert response.status_code == 400
    assert "custom_fields.vip" in error(response)["fields"]


def test_new_apps_let_the_sdk_write_the_standard_fields_and_no_custom_field():
    app = MobileAppFactory()
    assert app.sdk_writable_lead_fields == [
        "first_name",
        "last_name",
        "phone",
        "company",
        "city",
        "country",
    ]
    assert app.sdk_writable_custom_fields == []


# --- the README's server example ------------------------------------------------------------


def test_readme_server_examples_sign_what_the_server_checks(app_a):
    readme = (settings.BASE_DIR / "README.md").read_text()
    section = readme.split("### Identity verification", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    app, secret = app_a
    namespace: dict = {}
    exec(code, namespace)  # the documented function, as a customer would paste it
    signature = namespace["identity_signature"](secret, "user-7", "jane@example.com")
    body = {"external_id": "user-7", "email": "jane@example.com", "identity_signature": signature}
    assert client_for(app).post("devices/phone/lead", body).status_code == 200
    assert namespace["identity_signature"](secret, None, VICTIM) == sign(secret, VICTIM)
    assert 'join("\\n")' in section  # the Node one-liner joins the same way
