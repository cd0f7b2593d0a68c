"""Demo data for `make run`: users for each role, the add-on on, and a demo app. Safe to run
again; later modules extend it (simulator credentials, devices, a push)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from pushmarketing.models import AddOn

DEMO_USERS = (
    ("admin", "admin-demo-pass", "admin"),
    ("marketer", "marketer-demo-pass", "marketer"),
    ("approver", "approver-demo-pass", "approver"),
)


class Command(BaseCommand):
    help = "Create demo users, enable the add-on and create a demo app (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        for username, password, role in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
            user.groups.add(Group.objects.get(name=role))
        AddOn.objects.update_or_create(code=AddOn.Code.MOBILE_PUSH, defaults={"enabled": True})
        self.stdout.write("demo users ready; Mobile Push add-on enabled")
