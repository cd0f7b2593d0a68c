"""Send one chunk of a run: claim → check → quiet hours → throttle → render → send → record.

Statements per chunk are constant (claim, run, rows+devices, leads, credentials, add-on, a
few grouped UPDATEs), whatever the chunk size. Personalization is compiled once per chunk and
rendered per lead; the provider I/O runs concurrently on the worker's long-lived loop.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db.models import BigIntegerField, BooleanField, ExpressionWrapper, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns import enqueue
from campaigns.delivery import ratelimit
from campaigns.delivery.content import ChosenPush, delivery_label, run_pushes
from campaigns.delivery.transport import pushes_stream
from campaigns.ledger.claim import deliveries_claim, next_due_in_range
from campaigns.ledger.record import (
    ClaimedDelivery,
    RecordSummary,
    deliveries_record_chunk_end,
    deliveries_record_results,
    deliveries_record_skipped,
    deliveries_requeue,
)
from campaigns.ledger.recovery import deleted_run_deliveries_drop
from campaigns.models import CampaignRun, Delivery
from campaigns.qualification import quiet_hours_release, zone_for
from devices.eligibility import device_ineligibility
from devices.models import PushCredential
from devices.selectors import leads_token_values
from notifications.content import PushContent
from notifications.locales import content_for_locale
from notifications.payloads import (
    MAX_PAYLOAD_BYTES,
    PushIds,
    apns_payload_encoded,
    apns_request,
    fcm_message,
    fcm_message_encoded,
)
from notifications.personalization import CompiledContent, TokenError, compile_content
from notifications.transports.base import Outcome, OutgoingPush, SendResult
from pushmarketing.core.addons import mobile_push_enabled

logger = logging.getLogger(__name__)


@dataclass
class SendSummary:
    claimed: int = 0
    skipped: int = 0
    quiet: int = 0
    throttled: int = 0
    counts: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Device:
    """What the send path reads of a claimed row's device (eligibility, quiet hours, language)."""

    lead_id: int | None
    app_id: int
    status: str
    has_opened: bool
    push_token: str
    push_enabled: bool
    time_zone: str
    locale: str


@dataclass
class _Batch:
    run: CampaignRun
    claimed_at: datetime
    claimed: QuerySet[Delivery]  # this claim's rows still `sending`
    rows: list[ClaimedDelivery]
    devices: dict[int, _Device]  # by delivery id
    credentials: dict[str, PushCredential]
    # Claimed rows whose device was deleted under them (no database FK stops that: see
    # campaigns.models.Delivery): {delivery id: platform}.
    orphans: dict[int, str]


def deliveries_send(*, run_id: int, first_id: int, last_id: int) -> SendSummary:
    """Send the due queued deliveries of `run_id` in [first_id, last_id] that this call claims."""
    now = timezone.now()
    claimed_ids = deliveries_claim(run_id=run_id, first_id=first_id, last_id=last_id, now=now)
    summary = SendSummary(claimed=len(claimed_ids))
    run = CampaignRun.objects.select_related("app", "campaign").filter(pk=run_id).first()
    if run is None:
        # Deleted with its campaign; rows a trigger fire added meanwhile are dropped.
        deleted_run_deliveries_drop(run_id=run_id)
        return summary
    if claimed_ids:
        batch = _load(run=run, claimed_at=now, ids=claimed_ids)
        _process(batch, summary=summary, now=now)
    # Rows of this range still queued for later (retries, throttled, scheduled): one
    # follow-up task at the earliest due time.
    due = next_due_in_range(run_id=run_id, first_id=first_id, last_id=last_id)
    if due is not None and run.status != CampaignRun.Status.PAUSED:
        enqueue.chunk_follow_up(
            run_id=run_id,
            first_id=first_id,
            last_id=last_id,
            due=due,
            queue=enqueue.queue_for_run_kind(run.kind),
        )
    logger.info(
        "send: run %s [%s..%s] claimed %s skipped %s quiet %s throttled %s %s",
        run_id,
        first_id,
        last_id,
        summary.claimed,
        summary.skipped,
        summary.quiet,
        summary.throttled,
        summary.counts,
    )
    return summary


# One query for the claimed rows and their devices, as plain tuples: model instances for 500
# rows and 500 devices cost more CPU than the query itself. No timestamp column: Django's
# timezone-aware loader parses each in Python (~12 µs apiece here), so the device's first open
# comes as a boolean (all eligibility asks) and its token's registration time stays in the
# database (record compares it there, for the rare APNs 410).
_LOAD_COLUMNS = (
    "id", "platform", "attempts", "lead_id", "variant", "device_id",
    "device__lead_id", "device__app_id", "device__status", "device_has_opened",
    "device__push_token", "device__push_enabled", "device__time_zone", "device__locale",
)  # fmt: skip
_HAS_OPENED = ExpressionWrapper(
    Q(device__first_opened_at__isnull=False), output_field=BooleanField()
)


def _load(*, run: CampaignRun, claimed_at: datetime, ids: list[int]) -> _Batch:
    # Our rows are the range's `sending` rows with our claim's time (the guard every record
    # write uses too): a statement that reads the same whatever the chunk's size, where
    # `id IN (<500 ids>)` made psycopg parse 500 placeholders in Python on every chunk.
    claimed = Delivery.objects.filter(
        run_id=run.id,
        id__gte=ids[0],
        id__lte=ids[-1],
        status=Delivery.Status.SENDING,
        claimed_at=claimed_at,
    )
    loaded = (
        claimed.annotate(device_has_opened=_HAS_OPENED).order_by("id").values_list(*_LOAD_COLUMNS)
    )
    rows: list[ClaimedDelivery] = []
    devices: dict[int, _Device] = {}
    for pk, platform, attempts, lead_id, variant, device_id, *device in loaded:
        facts = _Device(*device)  # the device__ columns, in the dataclass's field order
        devices[pk] = facts
        rows.append(
            ClaimedDelivery(
                id=pk,
                platform=platform,
                device_id=device_id,
                token=facts.push_token,
                attempts=attempts,
                lead_id=lead_id or facts.lead_id,
                variant=variant,
            )
        )
    credentials = {c.platform: c for c in PushCredential.objects.filter(app_id=run.app_id)}
    orphans: dict[int, str] = {}
    if len(devices) < len(ids):  # the rare case: every claimed row normally loads its device
        missing = [pk for pk in ids if pk not in devices]
        orphans = dict(claimed.filter(id__in=missing).values_list("id", "platform"))
    return _Batch(
        run=run,
        claimed_at=claimed_at,
        claimed=claimed,
        rows=rows,
        devices=devices,
        credentials=credentials,
        orphans=orphans,
    )


def _process(batch: _Batch, *, summary: SendSummary, now: datetime) -> None:
    run = batch.run
    if batch.orphans:
        deliveries_record_skipped(
            run_id=run.id,
            campaign_id=run.campaign_id,
            claimed_at=batch.claimed_at,
            skips={pk: (platform, "device_deleted") for pk, platform in batch.orphans.items()},
            now=now,
        )
        summary.skipped += len(batch.orphans)
    if run.status == CampaignRun.Status.PAUSED:
        # Paused: give the rows back; resuming the run dispatches them again.
        deliveries_requeue(
            run_id=run.id,
            campaign_id=run.campaign_id,
            claimed_at=batch.claimed_at,
            not_before={row.id: None for row in batch.rows},
        )
        return
    skips = _skips(batch)
    if skips:
        deliveries_record_skipped(
            run_id=run.id,
            campaign_id=run.campaign_id,
            claimed_at=batch.claimed_at,
            skips=skips,
            now=now,
        )
        summary.skipped += len(skips)
    sendable = [row for row in batch.rows if row.id not in skips]
    quiet = _quiet_hours_holds(batch, sendable, now=now)
    if quiet:
        deliveries_requeue(
            run_id=run.id,
            campaign_id=run.campaign_id,
            claimed_at=batch.claimed_at,
            not_before=quiet,
        )
        summary.quiet = len(quiet)
        sendable = [row for row in sendable if row.id not in quiet]
    if not sendable:
        return
    allowed, held = _throttle(batch, sendable)
    if held:
        deliveries_requeue(
            run_id=run.id, campaign_id=run.campaign_id, claimed_at=batch.claimed_at, not_before=held
        )
        summary.throttled = len(held)
    to_send = [row for row in sendable if row.id in allowed]
    if not to_send:
        return
    recorder = _Recorder(batch, expected=len(to_send))
    for answer in _send(batch, to_send):
        recorder.add(answer)
    recorder.finish()
    summary.counts = recorder.counts


class _Recorder:
    """Writes answers as they arrive: every PUSH_RECORD_EVERY answers, or once the oldest
    unwritten one is PUSH_RECORD_INTERVAL_MS old, whichever comes first. A worker that dies
    mid-chunk leaves only its last few answers and the requests in flight unrecorded, so the
    sweeper's requeue re-sends those, not the whole chunk.

    Those batches write rows and counters only; `finish` writes the rest (always including the
    chunk's last answer) under the campaign and run locks and settles the run, so the
    transaction that records a run's last delivery is still the one that completes it."""

    def __init__(self, batch: _Batch, *, expected: int) -> None:
        self.batch = batch
        self.expected = expected
        self.received = 0
        self.rows: list[ClaimedDelivery] = []
        self.results: list[SendResult] = []
        self.counts: dict[tuple[str, str], int] = defaultdict(int)
        self.oldest = 0.0
        self.every = settings.PUSH_RECORD_EVERY
        self.interval = settings.PUSH_RECORD_INTERVAL_MS / 1000

    def add(self, answer: tuple[ClaimedDelivery, SendResult] | None) -> None:
        """An answer, or None: time passed without one (flush if the oldest is due)."""
        if answer is not None:
            if not self.rows:
                self.oldest = time.monotonic()
            self.rows.append(answer[0])
            self.results.append(answer[1])
            self.received += 1
            if self.received >= self.expected:
                return  # the last answer: `finish` records it with the settle
        if len(self.rows) >= self.every or (
            self.rows and time.monotonic() - self.oldest >= self.interval
        ):
            self._write(deliveries_record_results)

    def finish(self) -> None:
        run = self.batch.run
        self._write(partial(deliveries_record_chunk_end, campaign_id=run.campaign_id))

    def _write(self, record: Callable[..., RecordSummary]) -> None:
        run = self.batch.run
        summary = record(
            run_id=run.id,
            app_id=run.app_id,
            claimed_at=self.batch.claimed_at,
            rows=self.rows,
            results=self.results,
            now=timezone.now(),
        )
        for key, n in summary.counts.items():
            self.counts[key] += n
        self.rows, self.results = [], []


def _skips(batch: _Batch) -> dict[int, tuple[str, str]]:
    """Rows that must not be sent, with the reason code (checked fresh at send time)."""
    run = batch.run
    if run.status == CampaignRun.Status.CANCELLED:
        return {row.id: (row.platform, "run_cancelled") for row in batch.rows}
    # Read fresh for every chunk: switching the add-on off stops a running campaign.
    if not mobile_push_enabled():
        return {row.id: (row.platform, "addon_disabled") for row in batch.rows}
    pushes = run_pushes(run)
    skips: dict[int, tuple[str, str]] = {}
    for row in batch.rows:
        content = pushes[delivery_label(pushes, row.variant)].content.default
        device = batch.devices[row.id]
        reasons = device_ineligibility(device, app_configured=row.platform in batch.credentials)
        if run.kind == CampaignRun.Kind.SAMPLE:
            # Test devices may be sent a sample without a lead (rendered with defaults).
            reasons = [reason for reason in reasons if reason != "no_lead"]
        if (
            run.kind != CampaignRun.Kind.SAMPLE  # a sample renders as a chosen lead on purpose
            and row.lead_id is not None
            and device.lead_id not in (None, row.lead_id)
        ):
            # Planned for whoever was logged in then; since, they logged out and someone else
            # logged in on this (shared) phone, who must not get a push rendered for them.
            reasons.append("lead_changed")
        if device.app_id != run.app_id:
            reasons.insert(0, "wrong_app")
        if not content.platform_enabled(row.platform):
            reasons.insert(0, "platform_disabled")
        if reasons:
            skips[row.id] = (row.platform, reasons[0])
    return skips


def _quiet_hours_holds(
    batch: _Batch, rows: list[ClaimedDelivery], *, now: datetime
) -> dict[int, datetime]:
    """Rows whose device is inside the campaign's quiet hours now, with when they end there.

    Runs plan their rows past quiet hours, but a retry's backoff, a throttle or a backlog can
    carry a row into them after planning; such a row waits for the morning instead of
    waking the phone. Samples (no campaign) ignore quiet hours."""
    quiet = batch.run.campaign.quiet_hours if batch.run.campaign else None
    if not quiet:
        return {}
    release_by_zone: dict[str, datetime | None] = {}
    holds: dict[int, datetime] = {}
    for row in rows:
        zone_name = batch.devices[row.id].time_zone
        if zone_name not in release_by_zone:
            release_by_zone[zone_name] = quiet_hours_release(now, quiet, zone_for(zone_name))
        release = release_by_zone[zone_name]
        if release is not None:
            holds[row.id] = release
    return holds


def _throttle(batch: _Batch, rows: list[ClaimedDelivery]) -> tuple[set[int], dict[int, datetime]]:
    """Take rate-limit tokens: the run's throttle, then the app's provider quota.

    Rows over the limit get a `not_before` spread at the limiting rate (row k of the
    remainder at wait + k / rate), so follow-ups find about as many rows due as there are
    tokens, instead of re-claiming the whole remainder each time."""
    run = batch.run
    allowed: set[int] = set()
    held: dict[int, datetime] = {}
    now = timezone.now()
    by_platform: dict[str, list[ClaimedDelivery]] = defaultdict(list)
    for row in rows:
        by_platform[row.platform].append(row)
    throttle = run.campaign.throttle_per_minute if run.campaign else None
    for platform, group in by_platform.items():
        n, wait, limiting = len(group), 0.0, None
        if throttle:
            grant = ratelimit.rate_take(key=f"run:{run.id}", per_minute=throttle, requested=n)
            if grant.granted < n:
                n, wait, limiting = grant.granted, grant.wait_seconds, throttle
        quota = ratelimit.provider_rate_per_minute(platform)
        provider = "apns" if platform == "ios" else "fcm"
        grant = ratelimit.rate_take(
            key=f"app:{run.app_id}:{provider}", per_minute=quota, requested=n
        )
        if grant.granted < n:
            wait, limiting = max(wait, grant.wait_seconds), min(limiting or quota, quota)
        allowed.update(row.id for row in group[: grant.granted])
        spacing = 60.0 / limiting if limiting else 0.0
        for k, row in enumerate(group[grant.granted :]):
            held[row.id] = now + timedelta(seconds=wait + k * spacing)
    return allowed, held


def _send(
    batch: _Batch, rows: list[ClaimedDelivery]
) -> Iterator[tuple[ClaimedDelivery, SendResult] | None]:
    """(row, result) per row as its answer arrives; None while waiting (see _Recorder)."""
    run = batch.run
    variants = _variants(batch, rows, run_pushes(run))
    leads = _leads(variants.values(), batch.claimed)
    by_id = {row.id: row for row in rows}
    by_platform: dict[str, list[OutgoingPush]] = defaultdict(list)
    for row in rows:
        variant = variants[row.id]
        if variant.compiled is None:
            # Approved content was validated; this only guards against a hand-edited row.
            yield row, SendResult(outcome=Outcome.FAILED, reason=variant.error)
            continue
        push_or_failure = _build(
            run, variant, variant.compiled, leads.get(row.lead_id or 0, {}), row
        )
        if isinstance(push_or_failure, SendResult):
            yield row, push_or_failure
        else:
            by_platform[row.platform].append(push_or_failure)
    groups = [
        (batch.credentials[platform], run.app, pushes) for platform, pushes in by_platform.items()
    ]
    tick = settings.PUSH_RECORD_INTERVAL_MS / 1000
    for answer in pushes_stream(groups, tick=tick):
        yield None if answer is None else (by_id[answer[0].delivery_id], answer[1])


@dataclass(frozen=True)
class _Variant:
    """One language of one of the run's pushes, compiled (or why it does not compile)."""

    notification_id: int
    content: PushContent
    compiled: CompiledContent | None
    error: str = ""


def _variant_compile(notification_id: int, content: PushContent) -> _Variant:
    try:
        return _Variant(notification_id, content=content, compiled=compile_content(content))
    except TokenError as exc:
        return _Variant(notification_id, content, compiled=None, error=f"personalization: {exc}")


def _variants(
    batch: _Batch, rows: list[ClaimedDelivery], pushes: dict[str, ChosenPush]
) -> dict[int, _Variant]:
    """Each row's content: its A/B variant's push (campaigns.delivery.content), in its
    device's language (notifications.locales), read from the run's frozen copies; each
    (push, language) is compiled once per chunk."""
    compiled: dict[tuple[str, str], _Variant] = {}
    # A chunk's 1,000 rows have a handful of (variant, device locale) pairs: choose each once.
    chosen_for: dict[tuple[str, str], _Variant] = {}
    out: dict[int, _Variant] = {}
    for row in rows:
        label = delivery_label(pushes, row.variant)
        locale = batch.devices[row.id].locale
        variant = chosen_for.get((label, locale))
        if variant is None:
            chosen = pushes[label]
            code, content = content_for_locale(chosen.content, locale)
            if (label, code) not in compiled:
                compiled[(label, code)] = _variant_compile(chosen.notification_id, content)
            variant = chosen_for[(label, locale)] = compiled[(label, code)]
        out[row.id] = variant
    return out


def _leads(variants: Iterable[_Variant], claimed: QuerySet[Delivery]) -> dict[int, dict[str, str]]:
    """The token values of the leads the claim's rows still to send are rendered for (the
    row's planned lead, else its device's), when any of the chunk's contents has a token."""
    distinct = {id(variant): variant for variant in variants}.values()  # one per (push, language)
    names = {
        token.field for variant in distinct if variant.compiled for token in variant.compiled.tokens
    }
    if not names:
        return {}
    for_lead = Coalesce("lead_id", "device__lead_id", output_field=BigIntegerField())
    lead_ids = claimed.annotate(for_lead=for_lead).values("for_lead")
    return leads_token_values(lead_ids=lead_ids, names=names)


def _build(
    run: CampaignRun,
    variant: _Variant,
    compiled: CompiledContent,
    values: Mapping[str, str],
    row: ClaimedDelivery,
) -> OutgoingPush | SendResult:
    content = variant.content
    text = compiled.render(values)
    ids = PushIds(delivery_id=row.id, notification_id=variant.notification_id, run_id=run.id)
    if row.platform == "ios":
        request = apns_request(content, text, ids, topic=run.app.ios_bundle_id)
        encoded, size = apns_payload_encoded(request)
        body = {"headers": request.headers, "payload": request.payload}
    else:
        body = fcm_message(content, text, ids, row.token)
        encoded, size = fcm_message_encoded(body)
    if size > MAX_PAYLOAD_BYTES:
        return SendResult(
            outcome=Outcome.FAILED,
            reason=f"payload is {size} bytes, over the {MAX_PAYLOAD_BYTES}-byte limit",
        )
    return OutgoingPush(delivery_id=row.id, token=row.token, body=body, encoded=encoded)
