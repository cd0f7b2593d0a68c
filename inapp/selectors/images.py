"""The stored images in-app messages name (their working copy and their approved copy)."""

from __future__ import annotations

from inapp.models import InAppMessage
from notifications.image_retention import image_names_in


def message_image_names() -> set[str]:
    """Notifications asks through the hook registered in InAppConfig.ready()."""
    return image_names_in(InAppMessage.objects.all(), "image", "approved_content")
