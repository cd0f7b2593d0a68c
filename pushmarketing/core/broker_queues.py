"""What waits in the Celery queues, read straight from the broker: each queue's depth and its
oldest message, and since when that message has been due (`pm_sent_at`, stamped on publish
by pushmarketing.core.celery, or its ETA when later)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings

from pushmarketing.core.celery import QUEUES, SENT_AT_HEADER
from pushmarketing.core.celery import app as celery_app

# A message read from a broker folder a worker empties meanwhile: look at the next one.
FOLDER_READ_ATTEMPTS = 3


@dataclass(frozen=True)
class QueueHead:
    depth: int
    oldest: bytes | None  # the next message a worker takes, as stored by kombu
    stored_at: float | None  # the broker's own time for it, when it has one (a file's mtime)


def _redis_queue_heads() -> dict[str, QueueHead]:
    # kombu's Redis transport LPUSHes and workers BRPOP: the tail (index -1) is the oldest.
    with celery_app.connection_for_read() as conn:
        pipe = conn.default_channel.client.pipeline()
        for queue in QUEUES:
            pipe.llen(queue)
            pipe.lindex(queue, -1)
        replies = pipe.execute()
    return {
        queue: QueueHead(int(replies[2 * i]), replies[2 * i + 1], None)
        for i, queue in enumerate(QUEUES)
    }


def _folder_queue_heads() -> dict[str, QueueHead]:
    # kombu's filesystem transport names each file `<monotonic ms>_<uuid>.<queue>.msg` and takes
    # them in name order: the first name is the oldest (to the millisecond).
    folder = Path(str(celery_app.conf.broker_transport_options["data_folder_in"]))
    names = sorted(p.name for p in folder.glob("*.msg")) if folder.exists() else []
    heads = {}
    for queue in QUEUES:
        mine = [n for n in names if n.endswith(f".{queue}.msg")]
        oldest, stored_at = None, None
        for name in mine[:FOLDER_READ_ATTEMPTS]:
            try:
                stored_at = (folder / name).stat().st_mtime
                oldest = (folder / name).read_bytes()
            except FileNotFoundError:  # a worker took it since the listing
                continue
            break
        heads[queue] = QueueHead(len(mine), oldest, stored_at)
    return heads


def queue_heads() -> dict[str, QueueHead] | None:
    """Each queue's depth and oldest message; None when the broker cannot be read."""
    try:
        return _redis_queue_heads() if settings.REDIS_URL else _folder_queue_heads()
    except Exception:  # noqa: BLE001 - the broker probe says why
        return None


def message_waiting_since(raw: bytes, *, stored_at: float | None) -> float | None:
    """Epoch seconds since which a stored message has been due: when it was published (our
    header; else the broker's own time), or its ETA if that is later (a countdown task is not
    late before its time). None when neither is known."""
    try:
        headers = json.loads(raw).get("headers") or {}
        sent_at = headers.get(SENT_AT_HEADER, stored_at)
        if sent_at is None:
            return None
        eta = headers.get("eta")
        due = datetime.fromisoformat(eta).timestamp() if isinstance(eta, str) else 0.0
        return max(float(sent_at), due)
    except (ValueError, TypeError, AttributeError):  # not a message of ours: the broker's time
        return stored_at
