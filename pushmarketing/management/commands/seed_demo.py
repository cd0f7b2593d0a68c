"""Demo data for `make run` (DEBUG only; safe to run again): a user per role, the add-on on,
and a *Demo Shop* app wired to the built-in simulator with leads, registered devices, a test
device, an approved push and two campaigns, so a newcomer can send real pushes at once."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from campaigns.models import Campaign
from campaigns.services import campaign_activate, campaign_create
from devices.models import Device, MobileApp
from devices.services.apps import app_create
from devices.services.identity import app_identity_settings_update
from devices.services.leads import device_lead_associate
from devices.services.registration import device_register
from inapp.models import InAppCampaign, Layout
from inapp.services.addon import addon_in_app_set_enabled
from inapp.services.campaigns import campaign_approve
from inapp.services.campaigns import campaign_create as inapp_campaign_create
from inapp.services.messages import message_approve, message_create
from notifications.models import PushNotification
from notifications.services import notification_approve, notification_create
from notifications.simulator.credentials import demo_credentials
from notifications.simulator.demo_app import simulator_credentials_install
from pushmarketing.core.addons import addon_set_enabled
from pushmarketing.core.secrets import keyed_hash

DEMO_USERS = (
    ("admin", "admin-demo-pass", "admin"),
    ("marketer", "marketer-demo-pass", "marketer"),
    ("approver", "approver-demo-pass", "approver"),
)
# Fixed so the README's curl examples work against `make run`. Demo only: seed_demo refuses to
# run with DEBUG off.
DEMO_SDK_KEY = "pk_demo_shop"
DEMO_SDK_SECRET = "sk_demo_shop_secret"  # noqa: S105 - a name or public constant, not a password
DEMO_LEADS = (
    ("ada@example.com", "Ada", "Lovelace", "London"),
    ("grace@example.com", "Grace", "Hopper", "New York"),
    ("alan@example.com", "Alan", "Turing", "Manchester"),
    ("katherine@example.com", "Katherine", "Johnson", "Hampton"),
    ("linus@example.com", "Linus", "Torvalds", "Portland"),
    ("margaret@example.com", "Margaret", "Hamilton", "Boston"),
)
TIME_ZONES = ("Europe/London", "America/New_York", "Europe/Paris", "Asia/Tokyo")
# Device locales, cycled like the time zones: the demo push has French and German translations.
LOCALES = ("en_GB", "en_US", "fr_FR", "ja_JP", "de_DE", "fr-CA")


def _ios_token(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()  # 64 hex characters, like a real one


def _android_token(seed: str) -> str:
    body = hashlib.sha512(seed.encode()).hexdigest()
    return f"demo{body[:20]}:APA91b{body}"[:152]


class Command(BaseCommand):
    help = "Create the demo users, app, devices, push and campaigns (idempotent, DEBUG only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo creates known passwords and keys: DEBUG only")
        users = self._users()
        addon_set_enabled(enabled=True, actor=None, source="the demo seed")
        addon_in_app_set_enabled(enabled=True, actor=None, source="the demo seed")
        if MobileApp.objects.filter(sdk_key=DEMO_SDK_KEY).exists():
            self.stdout.write("demo data already present")
            return
        with transaction.atomic():
            app = self._app(users["admin"])
            self._devices(app)
            push = self._push(app, users)
            self._campaigns(app, push, users["marketer"])
            self._inapp(app, users)
        self.stdout.write(
            f"demo app '{app.name}' ready: SDK key {DEMO_SDK_KEY}, secret {DEMO_SDK_SECRET}"
        )

    def _users(self) -> dict[str, Any]:
        User = get_user_model()
        users = {}
        for username, password, role in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
            user.groups.add(Group.objects.get(name=role))
            users[role] = user
        return users

    def _app(self, admin: Any) -> MobileApp:
        app, _secret = app_create(
            name="Demo Shop",
            app_type=MobileApp.AppType.SANDBOX,
            ios_bundle_id="com.example.pushdemo",
            android_package="com.example.pushdemo",
            actor=admin,
        )
        app.sdk_key, app.sdk_secret_hash = DEMO_SDK_KEY, keyed_hash(DEMO_SDK_SECRET)
        app.save(update_fields=["sdk_key", "sdk_secret_hash"])
        # The README's login example writes the `tier` custom field from the SDK.
        app_identity_settings_update(
            app=app,
            verification_required=False,
            writable_fields=app.sdk_writable_lead_fields,
            writable_custom_fields=["tier"],
            actor=admin,
        )
        if settings.PUSH_SIMULATOR_ENABLED:
            creds = demo_credentials(settings.PUSH_SIMULATOR_DIR)
            simulator_credentials_install(app=app, creds=creds, actor=admin)
        return app

    def _devices(self, app: MobileApp) -> None:
        for index, (email, first, last, city) in enumerate(DEMO_LEADS):
            for platform in ("ios", "android") if index % 2 == 0 else ("ios",):
                installation_id = f"demo-{platform}-{index}"
                token = (
                    _ios_token(installation_id)
                    if platform == "ios"
                    else _android_token(installation_id)
                )
                device_register(
                    app_id=app.pk,
                    data={
                        "installation_id": installation_id,
                        "platform": platform,
                        "push_token": token,
                        "push_enabled": True,
                        "locale": LOCALES[index % len(LOCALES)],
                        "time_zone": TIME_ZONES[index % len(TIME_ZONES)],
                        "app_version": "2.4.0",
                        "os_version": "18.1" if platform == "ios" else "15",
                        "device_model": "iPhone 16" if platform == "ios" else "Pixel 9",
                    },
                )
                device_lead_associate(
                    app_id=app.pk,
                    installation_id=installation_id,
                    email=email,
                    attributes={"first_name": first, "last_name": last, "city": city},
                )
        # An Android token the simulator answers UNREGISTERED: the first send deactivates it,
        # which the token health page then shows.
        device_register(
            app_id=app.pk,
            data={
                "installation_id": "demo-android-stale",
                "platform": "android",
                "push_token": _android_token("stale").replace("demo", "dead", 1),
                "push_enabled": True,
                "time_zone": "UTC",
            },
        )
        device_lead_associate(
            app_id=app.pk,
            installation_id="demo-android-stale",
            email="stale@example.com",
            attributes={"first_name": "Sam"},
        )
        Device.objects.filter(app=app, installation_id="demo-ios-0").update(
            is_test_device=True, test_device_name="Ada's test iPhone"
        )

    def _push(self, app: MobileApp, users: dict[str, Any]) -> PushNotification:
        push = notification_create(
            app=app,
            actor=users["marketer"],
            fields={
                "name": "Welcome back",
                "title": "Welcome back, {{lead.First Name:default=friend}}!",
                "subtitle": "New arrivals this week",
                "message": "Hi {{lead.First Name:default=there}}, 20% off everything in "
                "{{lead.City:default=your city}} until Sunday.",
                "tap_action": PushNotification.TapAction.DEEP_LINK,
                "tap_uri": "demoshop://sale?city={{lead.City:default=any}}",
                "custom_data": {"campaign": "spring-sale"},
            },
            # French and German readers get their language; the ja_JP phones, the default.
            translations={
                "fr": {
                    "title": "Bon retour, {{lead.First Name:default=toi}} !",
                    "subtitle": "Nouveautés de la semaine",
                    "message": "Bonjour {{lead.First Name:default=toi}}, -20 % sur tout à "
                    "{{lead.City:default=ta ville}} jusqu'à dimanche.",
                },
                "de": {
                    "title": "Willkommen zurück, {{lead.First Name:default=du}}!",
                    "message": "Hallo {{lead.First Name:default=du}}, 20 % auf alles in "
                    "{{lead.City:default=deiner Stadt}} bis Sonntag.",
                },
            },
        )
        return notification_approve(notification=push, actor=users["approver"])

    def _campaigns(self, app: MobileApp, push: PushNotification, marketer: Any) -> None:
        campaign_create(
            actor=marketer,
            app=app,
            kind=Campaign.Kind.BATCH,
            # Every time: the demo's "Send again" reaches everyone again ("once", the default,
            # would leave a second run with no one left to qualify).
            data={
                "name": "Spring sale — everyone",
                "notification": push,
                "audience": [],
                "qualification": Campaign.Qualification.EVERY_TIME,
            },
        )
        trigger = campaign_create(
            actor=marketer,
            app=app,
            kind=Campaign.Kind.TRIGGER,
            data={
                "name": "Welcome on first open",
                "notification": push,
                "trigger": {"event": "installed"},
            },
        )
        campaign_activate(actor=marketer, campaign=trigger)

    def _inapp(self, app: MobileApp, users: dict[str, Any]) -> InAppCampaign:
        """A live in-app pop-up on app open: the demo's virtual phones see it from their
        second open (every seeded phone has opened once already)."""
        message = message_create(
            app=app,
            actor=users["marketer"],
            fields={
                "name": "Spring sale pop-up",
                "layout": Layout.POPUP_TEXT,
                "title": "Hi {{lead.First Name:default=there}}!",
                "body": "20% off everything until Sunday.",
                "buttons": [
                    {
                        "label": "Shop now",
                        "ios": {"action": "deep_link", "uri": "demoshop://sale"},
                        "android": {"action": "deep_link", "uri": "demoshop://sale"},
                    },
                    {"label": "Later"},
                ],
            },
        )
        message = message_approve(message=message, actor=users["approver"])
        campaign = inapp_campaign_create(
            app=app,
            actor=users["marketer"],
            fields={
                "name": "Spring sale pop-up on open",
                "message": message.pk,
                "trigger": InAppCampaign.Trigger.APP_OPEN,
                "display_limit": InAppCampaign.DisplayLimit.ONCE_PER_SESSION,
            },
        )
        return campaign_approve(campaign=campaign, actor=users["approver"])
