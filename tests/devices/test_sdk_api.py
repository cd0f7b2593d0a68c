# ruff: noqa: F811 - pytest fixtures imported from tests.api_fixtures are re-bound as arguments
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test import Client

from devices.eligibility import device_ineligibility, eligible_devices
from devices.models import Device, DeviceActivity, Lead, MobileApp
from tests.api_fixtures import (  # noqa: F401 - fixtures
    FCM_TOKEN,
    IOS_TOKEN,
    SdkClient,
    basic_auth,
    clean_cache,
    clear_throttle_counts,
    sdk,
    sdk_app,
    throttle_claim_statements,
)
from tests.campaign_fixtures import configure_app
from tests.factories import DeviceFactory, LeadFactory, MobileAppFactory

pytestmark = pytest.mark.django_db


def kinds(device: Device) -> list[str]:
    return sorted(device.activities.values_list("kind", flat=True))


def error_fields(response) -> dict[str, list[str]]:
    return response.json()["error"]["fields"]


# --- register ---------------------------------------------------------------------------------


def test_first_open_creates_device_and_records_installed_opened_registered(sdk, sdk_app):
    response = sdk.register(
        "inst-1",
        push_token=IOS_TOKEN,
        locale="en_US",
        time_zone="Europe/Paris",
        app_version="1.0",
        os_version="18.1",
        device_model="iPhone16,2",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["first_open"] is True and body["token_registered"] is True
    device = Device.objects.get(app=sdk_app, installation_id="inst-1")
    assert device.first_opened_at is not None
    assert device.first_opened_at == device.last_opened_at
    assert device.push_token == IOS_TOKEN and device.status == "active"
    assert (device.locale, device.time_zone, device.device_model) == (
        "en_US",
        "Europe/Paris",
        "iPhone16,2",
    )
    assert kinds(device) == ["installed", "opened", "push_registered"]
    assert sorted(body["activity_ids"]) == sorted(device.activities.values_list("id", flat=True))


def test_later_open_updates_device_and_records_only_opened(sdk, sdk_app):
    sdk.register("inst-1", push_token=IOS_TOKEN, app_version="1.0", locale="en_US")
    first = Device.objects.get()
    response = sdk.register("inst-1", push_token=IOS_TOKEN, app_version="1.1")
    assert response.status_code == 200
    assert response.json()["first_open"] is False
    assert response.json()["token_registered"] is False
    device = Device.objects.get()
    assert device.first_opened_at == first.first_opened_at
    assert device.last_opened_at > first.last_opened_at
    assert device.app_version == "1.1"
    assert device.locale == "en_US"  # not sent: kept
    assert kinds(device) == ["installed", "opened", "opened", "push_registered"]


def test_repeated_register_never_duplicates_device(sdk):
    for _ in range(3):
        assert sdk.register("inst-1", push_token=IOS_TOKEN).status_code in (200, 201)
    assert Device.objects.count() == 1
    assert DeviceActivity.objects.filter(kind="installed").count() == 1


def test_register_without_token_then_token_records_push_registered(sdk):
    sdk.register("inst-1")
    device = Device.objects.get()
    assert device.push_token == "" and kinds(device) == ["installed", "opened"]
    body = sdk.register("inst-1", push_token=IOS_TOKEN).json()
    assert body["token_registered"] is True
    assert kinds(device) == ["installed", "opened", "opened", "push_registered"]


def test_token_moves_from_other_active_device_of_same_app(sdk, sdk_app):
    sdk.register("old-install", push_token=IOS_TOKEN)
    response = sdk.register("new-install", push_token=IOS_TOKEN)
    assert response.status_code == 201
    old = Device.objects.get(installation_id="old-install")
    new = Device.objects.get(installation_id="new-install")
    assert old.push_token == "" and new.push_token == IOS_TOKEN
    assert new.status == "active"


def test_same_token_in_another_app_is_untouched(sdk):
    other = DeviceFactory(platform="ios", push_token=IOS_TOKEN)
    assert sdk.register("inst-1", push_token=IOS_TOKEN).status_code == 201
    other.refresh_from_db()
    assert other.push_token == IOS_TOKEN


@pytest.mark.parametrize("status", ["token_invalid", "unregistered"])
def test_reregistering_dead_device_with_token_reactivates_it(sdk, sdk_app, status):
    DeviceFactory(
        app=sdk_app,
        platform="ios",
        installation_id="inst-1",
        push_token="",
        status=status,
        status_reason="was dead",
        push_enabled=False,
    )
    response = sdk.register("inst-1", push_token=IOS_TOKEN, push_enabled=True)
    assert response.status_code == 200
    device = Device.objects.get()
    assert (device.status, device.status_reason, device.push_token) == ("active", "", IOS_TOKEN)
    assert device.push_enabled is True
    assert device.status_changed_at is not None


def test_register_keeps_working_while_addon_is_off(sdk):
    # No addon_on fixture: the Mobile Push add-on is off.
    assert sdk.register("inst-1", push_token=IOS_TOKEN).status_code == 201


def test_register_is_at_most_three_statements(sdk, django_assert_max_num_queries):
    # PostgreSQL: one upsert-with-activities statement, which also says which activities a
    # trigger listens for; elsewhere the upsert and the activity insert are two, and the
    # trigger-listener lookup is cached. The app lookup (and elsewhere the listener lookup)
    # happen on the first call of a process only (savepoints appear only because tests run
    # inside a transaction). On the database backend the throttle's lease claim is one more
    # statement per 25 calls, counted apart.
    writes, first_call = (1, 1) if connection.vendor == "postgresql" else (2, 2)
    # Mid-window (the clock ticks on from there): the lease claimed by the first call must
    # still be this window's at the third, which a minute boundary in between would change.
    mid_window = dt.datetime.now(dt.UTC).replace(second=20, microsecond=0)
    with time_machine.travel(mid_window, tick=True):
        for first_open, expected in ((True, writes + first_call), (False, writes), (False, writes)):
            with django_assert_max_num_queries(expected + 4 + throttle_claim_statements()) as qs:
                response = sdk.register("inst-1", push_token=IOS_TOKEN)
            assert response.json()["first_open"] is first_open
            real = [q["sql"] for q in qs.captured_queries if "SAVEPOINT" not in q["sql"]]
            claims = [sql for sql in real if "ratecounter" in sql]
            assert len(claims) == (throttle_claim_statements() if first_open else 0)
            assert len(real) - len(claims) == expected, [sql[:60] for sql in real]


PLATFORM_CHANGES = [
    ("ios", IOS_TOKEN, "android", FCM_TOKEN),
    ("android", FCM_TOKEN, "ios", IOS_TOKEN),
]


@pytest.mark.parametrize(
    ("old", "old_token", "new", "new_token"), PLATFORM_CHANGES, ids=["ios-android", "android-ios"]
)
def test_platform_change_without_token_drops_the_old_token(
    sdk, sdk_app, old, old_token, new, new_token
):
    configure_app(sdk_app)
    sdk.register("inst-1", platform=old, push_token=old_token)
    sdk.post("devices/inst-1/lead", {"email": "pat@example.com"})
    before = Device.objects.get()
    assert list(eligible_devices()) == [before]

    body = sdk.register("inst-1", platform=new).json()

    device = Device.objects.get()
    assert (device.platform, device.push_token) == (new, "")
    assert device.token_updated_at > before.token_updated_at
    assert body["token_registered"] is False
    assert kinds(device).count("push_registered") == 1  # the old token's, nothing new
    assert not eligible_devices().exists()
    assert device_ineligibility(device, app_configured=True) == ["no_token"]

    body = sdk.register("inst-1", platform=new, push_token=new_token).json()
    assert body["token_registered"] is True
    assert list(eligible_devices()) == [device]
    assert Device.objects.get().push_token == new_token


@pytest.mark.parametrize(
    ("platform", "token"), [("ios", IOS_TOKEN), ("android", FCM_TOKEN)], ids=["ios", "android"]
)
def test_open_without_token_on_the_same_platform_keeps_the_token(sdk, platform, token):
    sdk.register("inst-1", platform=platform, push_token=token)
    before = Device.objects.get()
    sdk.register("inst-1", platform=platform)
    device = Device.objects.get()
    assert device.push_token == token
    assert device.token_updated_at == before.token_updated_at


def test_android_token_rules(sdk):
    response = sdk.register("a1", platform="android", push_token="short")
    assert response.status_code == 400
    assert "100-255 characters" in error_fields(response)["push_token"][0]
    response = sdk.register("a1", platform="android", push_token="x" * 99 + "!")
    assert "only letters, digits" in error_fields(response)["push_token"][0]
    assert sdk.register("a1", platform="android", push_token=FCM_TOKEN).status_code == 201


@pytest.mark.parametrize(
    ("token", "rule"),
    [("ab" * 31, "even number of hex"), ("a" * 65, "even number of hex"), ("zz" * 32, "hex")],
)
def test_apns_token_rules(sdk, token, rule):
    response = sdk.register("i1", push_token=token)
    assert response.status_code == 400
    assert rule in error_fields(response)["push_token"][0]
    assert Device.objects.count() == 0


def test_apns_token_up_to_200_hex_is_accepted(sdk):
    assert sdk.register("i1", push_token="0f" * 100).status_code == 201


def test_validation_names_every_bad_field(sdk):
    response = sdk.post(
        "devices/register",
        {"platform": "windows", "time_zone": "Mars/Base", "locale": "english!"},
    )
    assert response.status_code == 400
    fields = error_fields(response)
    assert fields["installation_id"] == ["This field is required."]
    bad_id = sdk.post("devices/register", {"installation_id": "a/b", "platform": "ios"})
    assert "1-64 of the characters" in error_fields(bad_id)["installation_id"][0]
    assert "not a valid choice" in fields["platform"][0]
    assert "IANA time zone" in fields["time_zone"][0]
    assert "locale" in fields["locale"][0]
    assert response.json()["error"]["code"] == "invalid"


def test_malformed_json_is_400(sdk):
    response = sdk.post("devices/register", '{"installation_id": ')
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_body_over_64_kib_is_refused(sdk):
    response = sdk.register("i1", device_model="x" * (65 * 1024))
    assert response.status_code == 413
    assert "64 KiB" in response.json()["error"]["message"]
    assert Device.objects.count() == 0


# --- authentication, isolation, throttling ----------------------------------------------------


def test_missing_credentials_is_401_with_challenge(db):
    response = Client().post(
        "/api/sdk/v1/devices/register", {"installation_id": "x"}, content_type="application/json"
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic realm=")


def test_wrong_secret_and_unknown_key_are_401(sdk_app):
    for auth in (basic_auth(sdk_app.sdk_key, "wrong"), basic_auth("pk_nope"), "Basic !!!"):
        response = Client().post(
            "/api/sdk/v1/devices/register",
            {"installation_id": "x", "platform": "ios"},
            content_type="application/json",
            HTTP_AUTHORIZATION=auth,
        )
        assert response.status_code == 401, auth
        assert "WWW-Authenticate" in response
    assert Device.objects.count() == 0


def test_rotated_secret_stops_working_at_once(sdk, sdk_app):
    from pushmarketing.core.secrets import keyed_hash

    assert sdk.register("i1").status_code == 201  # the app lookup is now cached
    assert sdk.post("devices/i1/activities", {"kind": "opened"}).status_code == 201
    sdk_app.sdk_secret_hash = keyed_hash("new-secret")
    sdk_app.save(update_fields=["sdk_secret_hash"])
    before = DeviceActivity.objects.count()
    for _ in range(2):
        response = sdk.register("i1")
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Basic")
    assert sdk.post("devices/i1/activities", {"kind": "opened"}).status_code == 401
    assert DeviceActivity.objects.count() == before
    new = SdkClient(sdk_app.sdk_key, "new-secret")
    assert new.register("i1").status_code == 200
    assert new.post("devices/i1/activities", {"kind": "opened"}).status_code == 201


@pytest.mark.parametrize(
    "activity",
    [
        {"kind": "custom_action", "action_name": "checkout"},  # one statement on PostgreSQL
        {"kind": "opened"},  # the transaction (it updates the device)
    ],
)
def test_rotated_secret_stops_activities_at_once_on_every_path(sdk, sdk_app, activity):
    from pushmarketing.core.secrets import keyed_hash

    assert sdk.register("i1").status_code == 201
    assert sdk.post("devices/i1/activities", activity).status_code == 201  # lookup now cached
    sdk_app.sdk_secret_hash = keyed_hash("new-secret")
    sdk_app.save(update_fields=["sdk_secret_hash"])
    before = DeviceActivity.objects.count()
    response = sdk.post("devices/i1/activities", activity)
    assert response.status_code == 401
    assert DeviceActivity.objects.count() == before
    assert (
        SdkClient(sdk_app.sdk_key, "new-secret").post("devices/i1/activities", activity).status_code
        == 201
    )


def test_custom_actions_are_one_statement_on_postgresql(sdk, django_assert_max_num_queries):
    sdk.register("i1")
    body = [
        {"kind": "custom_action", "action_name": "checkout", "metric": 2.5, "details": "cart"},
        {"kind": "session", "length_seconds": 30},
        {"kind": "custom_action", "action_name": "share"},
    ]
    expected = 1 if connection.vendor == "postgresql" else 5
    with django_assert_max_num_queries(expected + 4) as captured:
        response = sdk.post("devices/i1/activities", body)
    assert response.status_code == 201, response.content
    real = [q for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(real) <= expected, [q["sql"][:60] for q in real]
    rows = list(
        DeviceActivity.objects.filter(pk__in=response.json()["activity_ids"])
        .order_by("id")
        .values_list("kind", "action_name", "metric", "length_seconds", "details", "lead_id")
    )
    assert rows == [
        ("custom_action", "checkout", 2.5, None, "cart", None),
        ("session", "", None, 30, "", None),
        ("custom_action", "share", None, None, "", None),
    ]
    assert sdk.post("devices/nobody/activities", body).status_code == 404


def test_other_apps_device_is_not_found(sdk, clean_cache):
    other = DeviceFactory(installation_id="theirs")
    bodies = {
        "token": {"push_token": FCM_TOKEN},
        "lead": {"email": "a@b.co"},
        "unregister": {},
        "activities": {"kind": "opened"},
    }
    for path, body in bodies.items():
        response = sdk.post(f"devices/theirs/{path}", body)
        assert response.status_code == 404, path
    other.refresh_from_db()
    assert other.status == "active" and other.lead.email != "a@b.co"


def test_same_installation_id_in_two_apps_are_two_devices(sdk):
    other_app = MobileAppFactory()
    assert sdk.register("shared-id").status_code == 201
    assert SdkClient(other_app.sdk_key).register("shared-id").status_code == 201
    assert Device.objects.filter(installation_id="shared-id").count() == 2


def test_throttle_per_app_returns_429_with_retry_after(sdk, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK}
    settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"sdk_app": "3/min"}
    clear_throttle_counts()
    statuses = [sdk.register("i1").status_code for _ in range(4)]
    assert statuses[:3] == [201, 200, 200]
    response = sdk.register("i1")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 61
    assert response.json()["error"]["code"] == "throttled"
    # Another app has its own budget.
    assert SdkClient(MobileAppFactory().sdk_key).register("i1").status_code == 201


# --- token, lead, unregister ------------------------------------------------------------------


def test_token_refresh_moves_token_and_records_push_registered(sdk):
    sdk.register("a", push_token=IOS_TOKEN)
    sdk.register("b")
    response = sdk.post("devices/b/token", {"push_token": IOS_TOKEN})
    assert response.status_code == 200
    assert response.json()["has_push_token"] is True
    assert Device.objects.get(installation_id="a").push_token == ""
    b = Device.objects.get(installation_id="b")
    assert b.push_token == IOS_TOKEN and "push_registered" in kinds(b)


def test_token_refresh_validates_against_device_platform(sdk):
    sdk.register("a")  # iOS
    response = sdk.post("devices/a/token", {"push_token": FCM_TOKEN})
    assert response.status_code == 400
    assert "APNs device token" in error_fields(response)["push_token"][0]


def test_lead_association_creates_then_reuses_lead_case_insensitively(sdk, sdk_app):
    MobileApp.objects.filter(pk=sdk_app.pk).update(sdk_writable_custom_fields=["Tier", "Points"])
    sdk.register("a")
    response = sdk.post(
        "devices/a/lead",
        {"email": "Jane@Example.com", "first_name": "Jane", "custom_fields": {"Tier": "gold"}},
    )
    assert response.status_code == 200, response.content
    assert response.json()["lead_email"] == "Jane@Example.com"
    sdk.post("devices/a/lead", {"email": "jane@example.COM", "custom_fields": {"Points": 5}})
    lead = Lead.objects.get()
    assert lead.first_name == "Jane"
    assert lead.custom_fields == {"Tier": "gold", "Points": 5}
    assert Device.objects.get().lead == lead


def test_shared_device_follows_last_lead(sdk):
    sdk.register("a")
    existing = LeadFactory(email="bob@example.com")
    sdk.post("devices/a/lead", {"email": "amy@example.com"})
    sdk.post("devices/a/lead", {"email": "BOB@example.com"})
    assert Device.objects.get().lead == existing
    assert Lead.objects.count() == 2


def test_lead_validation_names_fields(sdk):
    sdk.register("a")
    response = sdk.post(
        "devices/a/lead", {"email": "not-an-email", "custom_fields": {"x": {"nested": 1}}}
    )
    fields = error_fields(response)
    assert response.status_code == 400
    assert "valid email" in fields["email"][0]
    assert "string, number or boolean" in fields["custom_fields"][0]
    assert Lead.objects.count() == 0


def test_unregister_clears_token_and_disables_push(sdk):
    sdk.register("a", push_token=IOS_TOKEN)
    response = sdk.post("devices/a/unregister")
    assert response.status_code == 200
    device = Device.objects.get()
    assert (device.status, device.status_reason) == ("unregistered", "logout")
    assert device.push_token == "" and device.push_enabled is False


def test_unregister_detaches_the_lead_and_the_next_open_does_not_bring_it_back(sdk):
    sdk.register("a", push_token=IOS_TOKEN)
    sdk.post("devices/a/lead", {"email": "nina@example.com"})
    response = sdk.post("devices/a/unregister")
    assert response.json()["lead_email"] is None
    assert Device.objects.get().lead is None

    body = sdk.register("a", push_token=IOS_TOKEN).json()
    device = Device.objects.get()
    assert (device.status, device.push_enabled, device.push_token) == ("active", True, IOS_TOKEN)
    assert device.lead is None
    opened = DeviceActivity.objects.filter(pk__in=body["activity_ids"], kind="opened").get()
    assert opened.lead_id is None
    assert Lead.objects.filter(email="nina@example.com").exists()  # the lead itself stays

    response = sdk.post("devices/a/lead", {"email": "omar@example.com"})
    assert response.json()["lead_email"] == "omar@example.com"
