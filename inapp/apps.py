from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InAppConfig(AppConfig):
    name = "inapp"
    verbose_name = _("In-app messages")
