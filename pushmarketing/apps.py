from __future__ import annotations

from django.apps import AppConfig


class PushMarketingConfig(AppConfig):
    name = "pushmarketing"
    verbose_name = "PushMarketing core"
