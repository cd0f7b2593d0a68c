from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The shared core every app builds on: add-ons, roles, audit, secrets, API tokens.

    Its label stays "pushmarketing" (the app it was split from), so its tables, content types
    and migration dependencies ("pushmarketing", "000x") are unchanged."""

    name = "pushmarketing.core"
    label = "pushmarketing"
    verbose_name = "PushMarketing core"

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in

        from pushmarketing.core.locale import language_on_login
        from pushmarketing.core.login_lockout import login_lockout_audit

        user_locked_out.connect(login_lockout_audit, dispatch_uid="pm-login-lockout-audit")
        user_logged_in.connect(language_on_login, dispatch_uid="pm-language-on-login")
