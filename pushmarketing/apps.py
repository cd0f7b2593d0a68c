from __future__ import annotations

from django.apps import AppConfig


class ShellConfig(AppConfig):
    """The project shell: root URLs, ops pages, the overview panel, seed_demo and runstack.
    It may import every app and no app imports it; it has no models."""

    name = "pushmarketing"
    label = "pushmarketing_shell"
    verbose_name = "PushMarketing"
