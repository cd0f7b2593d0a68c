"""Stored push images nothing names any more are deleted once they are past the grace period;
every image a push, translation, approved copy, run or in-app message names is kept."""

from __future__ import annotations

import os
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from campaigns.models import CampaignRun
from inapp.models import InAppMessage
from notifications.content import PushContent
from notifications.image_retention import images_unreferenced_purge
from notifications.images import image_absolute_url, image_store
from notifications.models import PushTranslation
from pushmarketing.core.celery import app as celery_app
from tests.composer_fixtures import image_bytes, media_root  # noqa: F401 - fixture
from tests.delivery_fixtures import run_create
from tests.factories import PushNotificationFactory


def _stored(*, hours_old: float) -> str:
    name = image_store(data=image_bytes(size=(40, 20)))
    when = (timezone.now() - timedelta(hours=hours_old)).timestamp()
    os.utime(default_storage.path(name), (when, when))
    return name


def test_old_uploads_nothing_names_are_deleted_and_every_named_one_is_kept(
    media_root,  # noqa: F811
    push_app,
    make_devices,
    settings,
):
    settings.UNREFERENCED_IMAGE_GRACE_HOURS = 24
    abandoned = _stored(hours_old=30)  # chosen in a composer that was never saved
    pending = _stored(hours_old=2)  # a composer still open: kept through the grace period
    # Named by each place that can name one, every file old enough to go otherwise.
    pushed, translated, approved, frozen, arm, inapp, inapp_approved = (
        _stored(hours_old=30) for _ in range(7)
    )
    notification = PushNotificationFactory(app=push_app, image=pushed)
    PushTranslation.objects.create(
        notification=notification, locale="fr", message="Salut", image=translated
    )
    notification.approved_content = {"default": {"image_url": image_absolute_url(approved)}}
    notification.save(update_fields=["approved_content"])
    run = run_create(
        app=push_app,
        devices=make_devices(1),
        content=PushContent(message="Hi", image_url=image_absolute_url(frozen)),
    )
    CampaignRun.objects.filter(pk=run.pk).update(
        variants={"B": {"share": 50, "content": {"image_url": image_absolute_url(arm)}}}
    )
    InAppMessage.objects.create(
        app=push_app,
        name="m",
        body="x",
        image=inapp,
        approved_content={"image_url": image_absolute_url(inapp_approved)},
    )
    # Not ours to judge: anything the uploader did not name.
    default_storage.save("push-images/notes.txt", ContentFile(b"x"))

    assert images_unreferenced_purge(now=timezone.now()) == 1

    assert not default_storage.exists(abandoned)
    for kept in (pending, pushed, translated, approved, frozen, arm, inapp, inapp_approved):
        assert default_storage.exists(kept), kept
    assert default_storage.exists("push-images/notes.txt")
    # Nothing left to do: a second pass deletes nothing.
    assert images_unreferenced_purge(now=timezone.now()) == 0


def test_an_image_past_the_grace_period_goes_once_its_push_lets_go_of_it(
    media_root,  # noqa: F811
    push_app,
    settings,
):
    settings.UNREFERENCED_IMAGE_GRACE_HOURS = 1
    old, new = _stored(hours_old=5), _stored(hours_old=5)
    notification = PushNotificationFactory(app=push_app, image=old)
    assert images_unreferenced_purge(now=timezone.now()) == 1  # `new`: never saved into a push
    assert default_storage.exists(old) and not default_storage.exists(new)

    notification.image = ""  # the marketer removed the picture
    notification.save(update_fields=["image"])

    assert images_unreferenced_purge(now=timezone.now()) == 1
    assert not default_storage.exists(old)


def test_no_upload_yet_is_nothing_to_do(media_root, db):  # noqa: F811
    assert images_unreferenced_purge(now=timezone.now()) == 0


def test_the_beat_runs_the_purge_daily(media_root, db):  # noqa: F811
    from notifications.tasks import images_unreferenced_purge as task

    assert task() == 0
    assert "notifications.images_unreferenced_purge" in {
        entry["task"] for entry in celery_app.conf.beat_schedule.values()
    }
