from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from devices.models import Device, Lead, MobileApp
from notifications.models import PushNotification
from pushmarketing.core.secrets import keyed_hash

DEFAULT_SDK_SECRET = "sdk-secret-for-tests"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pass-for-tests")

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if extracted:
            # The role groups come from a data migration, which a transactional test's flush
            # empties for the tests after it; roles are checked by group name alone.
            self.groups.add(Group.objects.get_or_create(name=extracted)[0])
        if create:
            self.save()


class MobileAppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MobileApp

    name = factory.Sequence(lambda n: f"App {n}")
    ios_bundle_id = factory.Sequence(lambda n: f"com.example.app{n}")
    android_package = factory.Sequence(lambda n: f"com.example.app{n}")
    sdk_key = factory.Sequence(lambda n: f"pk_test_{n:08d}")
    sdk_secret_hash = factory.LazyFunction(lambda: keyed_hash(DEFAULT_SDK_SECRET))


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = "Lead"


class DeviceFactory(factory.django.DjangoModelFactory):
    """An eligible device by default: opened, token, push on, lead associated."""

    class Meta:
        model = Device

    app = factory.SubFactory(MobileAppFactory)
    platform = "android"
    installation_id = factory.Sequence(lambda n: f"install-{n:08d}")
    push_token = factory.Sequence(lambda n: f"fcm-token-{n:08d}")
    lead = factory.SubFactory(LeadFactory)
    first_opened_at = factory.LazyFunction(timezone.now)
    last_opened_at = factory.LazyFunction(timezone.now)


class PushNotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PushNotification

    app = factory.SubFactory(MobileAppFactory)
    name = factory.Sequence(lambda n: f"Push {n}")
    title = "Hello"
    message = "Hi {{lead.First Name:default=there}}"
