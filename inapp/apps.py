from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InAppConfig(AppConfig):
    name = "inapp"
    verbose_name = _("In-app messages")

    def ready(self) -> None:
        # Imported here: models may be imported only once the app registry is ready.
        from inapp.selectors.images import message_image_names
        from notifications import hooks as notification_hooks

        # In-app messages store their images with the push composer's image_store.
        notification_hooks.image_users_register(message_image_names)
