"""Stored push images nothing refers to any more are deleted, once a day.

The composer stores an upload as soon as it is chosen (notifications.images.image_store), so
the preview can show it before the push is saved: an upload replaced by another, or a form
never saved, leaves a file behind. A file is deleted only when it is older than
UNREFERENCED_IMAGE_GRACE_HOURS (a composer left open keeps its upload meanwhile; after that,
saving asks for the image again) and no push, translation, approved copy, run or in-app message
names it. Runs keep theirs for good: a phone may still fetch the picture of a push it got.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Model, QuerySet, TextField
from django.db.models.functions import Cast

from notifications import hooks
from notifications.images import IMAGE_DIR, STORED_NAME_RE
from notifications.models import PushNotification, PushTranslation

logger = logging.getLogger(__name__)

# A stored name inside any text: an image field's value, or the absolute `image_url` of a
# frozen or approved copy (SITE_URL + MEDIA_URL + name).
_NAME_IN_TEXT = re.compile(rf"{IMAGE_DIR}/[0-9a-f]{{32}}\.(?:jpg|png)")


def image_names_in(queryset: QuerySet[Model], *fields: str) -> set[str]:
    """The stored image names written anywhere in `fields` (image, JSON or text columns) of
    the rows of `queryset`. Only rows whose text holds the image directory are read."""
    names: set[str] = set()
    for field in fields:
        texts = (
            queryset.annotate(_as_text=Cast(field, TextField()))
            .filter(_as_text__contains=f"{IMAGE_DIR}/")
            .values_list("_as_text", flat=True)
        )
        for text in texts.iterator(chunk_size=2000):
            names.update(_NAME_IN_TEXT.findall(text))
    return names


def image_names_in_use() -> set[str]:
    """Every stored image a push, a translation, an approved copy or a layer above names."""
    return (
        image_names_in(PushNotification.objects.all(), "image", "approved_content")
        | image_names_in(PushTranslation.objects.all(), "image")
        | hooks.image_names_in_use_above()
    )


def _stored_images() -> Iterable[str]:
    try:
        _directories, files = default_storage.listdir(IMAGE_DIR)
    except FileNotFoundError:  # nothing was ever uploaded
        return []
    names = (f"{IMAGE_DIR}/{file}" for file in files)
    return [name for name in names if STORED_NAME_RE.match(name)]


def images_unreferenced_purge(*, now: datetime) -> int:
    """Delete the stored images older than the grace period that nothing names; return how
    many. The names in use are read after the candidates are listed, so an image saved into a
    push meanwhile is seen as in use."""
    cutoff = now - timedelta(hours=settings.UNREFERENCED_IMAGE_GRACE_HOURS)
    old = [name for name in _stored_images() if default_storage.get_modified_time(name) < cutoff]
    if not old:
        return 0
    in_use = image_names_in_use()
    deleted = 0
    for name in old:
        if name not in in_use:
            default_storage.delete(name)
            deleted += 1
    if deleted:
        logger.info("images: %s unreferenced push image(s) deleted", deleted)
    return deleted
