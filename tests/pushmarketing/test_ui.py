from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.http import HttpRequest
from django.urls import reverse

from devices.models import PushCredential
from pushmarketing.core.addons import addon_set_enabled, mobile_push_enabled
from pushmarketing.core.audit import audit_record
from pushmarketing.core.models import AddOn, AuditEntry
from pushmarketing.templatetags.display import count, when
from tests.factories import (
    DeviceFactory,
    LeadFactory,
    MobileAppFactory,
    PushNotificationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
User = get_user_model()

ADMIN_PAGES = ["settings", "user-list", "audit-log", "app-list", "app-create"]


# --- role enforcement -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_admin_pages_open_for_admins(admin_client, name):
    assert admin_client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", ADMIN_PAGES)
@pytest.mark.parametrize("client_name", ["marketer_client", "approver_client"])
def test_admin_pages_refuse_other_roles(request, client_name, name):
    client = request.getfixturevalue(client_name)
    assert client.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", ADMIN_PAGES + ["lead-list", "device-list"])
def test_anonymous_goes_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_user_without_role_gets_403_everywhere(client):
    client.force_login(UserFactory())
    for name in ADMIN_PAGES + ["lead-list", "device-list"]:
        assert client.get(reverse(name)).status_code == 403, name


def nav_hrefs(client) -> set[str]:
    return {link["url"] for link in client.get(reverse("home")).context["nav_links"]}


def test_sidebar_links_follow_roles(admin_client, marketer_client, approver_client):
    admin_links = nav_hrefs(admin_client)
    for name in ADMIN_PAGES[:4] + ["lead-list", "device-list"]:
        assert reverse(name) in admin_links
    marketer_links = nav_hrefs(marketer_client)
    assert {reverse("lead-list"), reverse("device-list")} <= marketer_links
    assert not {reverse(n) for n in ADMIN_PAGES} & marketer_links
    approver_links = nav_hrefs(approver_client)
    assert not {reverse(n) for n in ADMIN_PAGES + ["lead-list", "device-list"]} & approver_links
    page = approver_client.get(reverse("home")).content.decode()
    assert f'href="{reverse("settings")}"' not in page


# --- settings -------------------------------------------------------------------------------


def test_admin_turns_the_addon_on_and_off_and_sees_who(admin_client, admin_user):
    page = admin_client.get(reverse("settings")).content.decode()
    assert "Turn Mobile Push on" in page and "nobody has turned it on yet" in page
    response = admin_client.post(reverse("settings"), {"enabled": "1"}, follow=True)
    assert mobile_push_enabled()
    page = response.content.decode()
    assert "Turned on by alice-admin on " in page
    assert "Turn Mobile Push off" in page
    admin_client.post(reverse("settings"), {"enabled": "0"})
    assert not mobile_push_enabled()
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "addon.enabled",
        "addon.disabled",
    ]


def test_settings_post_rejects_bad_values_and_other_roles(admin_client, marketer_client):
    response = admin_client.post(reverse("settings"), {"enabled": "maybe"}, follow=True)
    assert "enabled must be 1 (on) or 0 (off)" in response.content.decode()
    assert not AddOn.objects.filter(enabled=True).exists()
    assert marketer_client.post(reverse("settings"), {"enabled": "1"}).status_code == 403
    assert not mobile_push_enabled()


def test_settings_post_needs_csrf(admin_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(reverse("settings"), {"enabled": "1"}).status_code == 403
    assert not mobile_push_enabled()


# --- users ----------------------------------------------------------------------------------


def test_admin_creates_a_user_with_roles(admin_client):
    response = admin_client.post(
        reverse("user-list"),
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "password": "a-long-enough-pass-9",
            "roles": ["marketer", "approver"],
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert user.check_password("a-long-enough-pass-9")
    assert set(user.groups.values_list("name", flat=True)) == {"marketer", "approver"}
    assert AuditEntry.objects.filter(action="user.created").exists()


def test_user_create_errors_name_the_field(admin_client, marketer_user):
    response = admin_client.post(
        reverse("user-list"),
        {"username": "MARK-marketer", "email": "x", "password": "123", "roles": ["approver"]},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"username", "email", "password"}
    assert errors["username"] == ['username "MARK-marketer" is already taken']
    assert errors["email"] == ["enter a valid email address"]
    assert User.objects.count() == 2  # admin + marketer fixtures
    response = admin_client.post(
        reverse("user-list"),
        {"username": "z", "password": "a-long-enough-pass-9", "roles": ["boss"]},
    )
    assert response.status_code == 400
    assert "roles" in response.context["form"].errors
    assert not User.objects.filter(username="z").exists()


def test_user_list_is_cheap(admin_client, django_assert_max_num_queries):
    groups = {g.name: g for g in Group.objects.all()}
    for n in range(20):
        # Plain rows: password hashing would dominate the test's run time.
        user = User.objects.create(username=f"bulk{n}")
        user.groups.add(groups[["admin", "marketer", "approver"][n % 3]])
    with django_assert_max_num_queries(8):
        response = admin_client.get(reverse("user-list"))
    assert response.content.decode().count('class="pill">marketer<') >= 7


def test_admin_changes_roles_and_it_is_audited(admin_client, marketer_user):
    url = reverse("user-detail", args=[marketer_user.pk])
    assert admin_client.post(url, {"roles": ["approver"]}).status_code == 302
    assert list(marketer_user.groups.values_list("name", flat=True)) == ["approver"]
    entry = AuditEntry.objects.get(action="user.roles_changed")
    assert entry.details == {"before": ["marketer"], "after": ["approver"]}


def test_admin_cannot_remove_own_admin_role(admin_client, admin_user):
    url = reverse("user-detail", args=[admin_user.pk])
    response = admin_client.post(url, {"roles": ["marketer"]})
    assert response.status_code == 400
    assert "you cannot remove your own admin role" in response.content.decode()
    assert admin_user.groups.filter(name="admin").exists()


def test_admin_cannot_deactivate_self_but_can_deactivate_others(
    admin_client, admin_user, marketer_user, client
):
    admin_client.post(reverse("user-set-active", args=[admin_user.pk]), {"active": "0"})
    admin_user.refresh_from_db()
    assert admin_user.is_active
    admin_client.post(reverse("user-set-active", args=[marketer_user.pk]), {"active": "0"})
    marketer_user.refresh_from_db()
    assert not marketer_user.is_active
    # django-axes needs the request it counts failures against.
    login = {"username": "mark-marketer", "password": "pass-for-tests"}
    assert not client.login(request=HttpRequest(), **login)
    admin_client.post(reverse("user-set-active", args=[marketer_user.pk]), {"active": "1"})
    marketer_user.refresh_from_db()
    assert marketer_user.is_active
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"user.deactivated", "user.reactivated"} <= actions


def test_marketer_cannot_change_roles(marketer_client, marketer_user, approver_user):
    url = reverse("user-detail", args=[approver_user.pk])
    assert marketer_client.post(url, {"roles": ["admin"]}).status_code == 403
    url = reverse("user-detail", args=[marketer_user.pk])
    assert marketer_client.post(url, {"roles": ["admin"]}).status_code == 403
    assert not marketer_user.groups.filter(name="admin").exists()
    active_url = reverse("user-set-active", args=[approver_user.pk])
    assert marketer_client.post(active_url, {"active": "0"}).status_code == 403


# --- audit log ------------------------------------------------------------------------------


def test_audit_log_newest_first_searchable_and_paged(admin_client, admin_user):
    for n in range(55):
        audit_record(actor=admin_user, action="app.created", summary=f"app {n}")
    audit_record(actor=None, action="credential.uploaded", summary="fcm key")
    response = admin_client.get(reverse("audit-log"))
    entries = list(response.context["page"])
    assert entries[0].action == "credential.uploaded"
    assert len(entries) == 50
    second = admin_client.get(reverse("audit-log"), {"page": 2})
    assert len(second.context["page"].object_list) == 6
    found = admin_client.get(reverse("audit-log"), {"q": "credential"})
    assert [e.action for e in found.context["page"]] == ["credential.uploaded"]
    by_actor = admin_client.get(reverse("audit-log"), {"q": "system"})
    assert [e.action for e in by_actor.context["page"]] == ["credential.uploaded"]
    assert (
        "No audit entries match"
        in admin_client.get(reverse("audit-log"), {"q": "zzz"}).content.decode()
    )


# --- overview -------------------------------------------------------------------------------


def test_overview_counts(admin_client, addon_on, django_assert_max_num_queries):
    app = MobileAppFactory()
    PushCredential.objects.create(app=app, platform="android", kind="fcm_service_account")
    DeviceFactory.create_batch(3, app=app)
    DeviceFactory(app=app, platform="ios")  # app not configured for iOS
    DeviceFactory(app=app, lead=None)
    LeadFactory()
    with django_assert_max_num_queries(10):
        response = admin_client.get(reverse("home"))
    page = response.content.decode()
    assert '3 <span class="muted">of 5</span>' in page
    assert "1 with push credentials" in page
    assert "Add your first mobile app" not in page


def test_overview_for_marketer_has_no_admin_links(marketer_client, addon_on):
    page = marketer_client.get(reverse("home")).content.decode()
    assert "Devices that can receive a push" in page
    assert reverse("app-create") not in page
    assert reverse("device-list") in page


def test_addon_off_hides_the_pages_it_forbids(marketer_client, approver_client):
    DeviceFactory.create_batch(2)
    page = marketer_client.get(reverse("home")).content.decode()
    assert "Devices that can receive a push" not in page
    assert "No push can be sent while the add-on is off" in page
    for forbidden in ("notification-list", "campaign-list", "simulator-inbox"):
        assert f'href="{reverse(forbidden)}"' not in page
    assert f'href="{reverse("lead-list")}"' in page
    assert (
        f'href="{reverse("notification-list")}'
        not in approver_client.get(reverse("home")).content.decode()
    )


def test_approver_link_lists_the_pushes_waiting_for_approval(approver_client, addon_on):
    draft = PushNotificationFactory(name="Needs a look")
    approved = PushNotificationFactory(name="Already fine", status="approved")
    page = approver_client.get(reverse("home")).content.decode()
    link = f"{reverse('notification-list')}?status=waiting"
    assert f'href="{link}"' in page
    listed = approver_client.get(link).content.decode()
    assert draft.name in listed and approved.name not in listed


def test_settings_says_the_demo_seed_turned_it_on(admin_client):
    addon_set_enabled(enabled=True, actor=None, source="the demo seed")
    page = admin_client.get(reverse("settings")).content.decode()
    assert "Turned on by the demo seed on " in page


def test_overview_for_user_without_role_says_so(client):
    client.force_login(UserFactory())
    page = client.get(reverse("home")).content.decode()
    assert "You have no role yet" in page
    assert reverse("device-list") not in page


def test_admin_sets_a_password_and_the_audit_does_not_hold_it(admin_client, marketer_user):
    url = reverse("user-password", args=[marketer_user.pk])
    response = admin_client.post(url, {"password": "short"})
    assert response.status_code == 400
    assert "too short" in response.content.decode()
    assert admin_client.post(url, {"password": "another-long-pass-42"}).status_code == 302
    marketer_user.refresh_from_db()
    assert marketer_user.check_password("another-long-pass-42")
    entry = AuditEntry.objects.get(action="user.password_set")
    assert "another-long-pass-42" not in entry.summary + str(entry.details)


def test_marketer_cannot_set_passwords(marketer_client, approver_user):
    url = reverse("user-password", args=[approver_user.pk])
    assert marketer_client.post(url, {"password": "another-long-pass-42"}).status_code == 403
    approver_user.refresh_from_db()
    assert approver_user.check_password("pass-for-tests")


def test_dates_read_one_way():
    moment = dt.datetime(2026, 11, 30, 17, 5, tzinfo=ZoneInfo("Europe/Paris"))
    assert when(moment) == "30 Nov 2026, 16:05 UTC"
    assert when(dt.date(2026, 3, 1)) == "1 Mar 2026"
    assert when(None) == "—" and when(None, "never") == "never"
    assert count(12400) == "12,400"


def test_settings_names_the_demo_seed_after_seeding(admin_client, settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    page = admin_client.get(reverse("settings")).content.decode()
    assert "Turned on by the demo seed on " in page
