"""Reads for campaigns: the sendable audience, audience counts by exclusion reason, progress."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from campaigns.audience import audience_devices
from campaigns.ledger.counters import COUNTED_STATUSES, COUNTER_FIELDS, FEEDBACK_STAMPS, PLATFORMS
from campaigns.models import Campaign, CampaignRun, Delivery
from campaigns.reports.figures import run_purge_note
from campaigns.wording import audience_sentences
from devices.eligibility import NOT_ELIGIBLE_REASONS, eligible_q
from devices.models import Device, MobileApp, PushCredential
from notifications.image_retention import image_names_in
from notifications.models import PushNotification
from pushmarketing.core.models import AuditEntry

EXCLUSION_REASONS: dict[str, StrOrPromise] = {
    "platform_not_enabled": _("the push is not enabled for this platform"),
    **NOT_ELIGIBLE_REASONS,
}
COUNTERS: tuple[str, ...] = (*COUNTED_STATUSES, *FEEDBACK_STAMPS)


def notification_platforms(notification: PushNotification) -> list[str]:
    """Platforms the approved content is enabled for ([] when not approved)."""
    content = notification.approved_content or {}
    return [
        platform
        for platform, key in (("ios", "ios_enabled"), ("android", "android_enabled"))
        if content and content.get(key, True)
    ]


def _configured() -> Exists:
    return Exists(
        PushCredential.objects.filter(app_id=OuterRef("app_id"), platform=OuterRef("platform"))
    )


def sendable_devices(
    *, app_id: int, rows: list[dict[str, Any]], platforms: list[str]
) -> QuerySet[Device]:
    """The audience filters AND eligibility AND the push's platforms: one queryset."""
    return (
        audience_devices(app_id=app_id, rows=rows)
        .filter(eligible_q(), platform__in=platforms)
        .filter(_configured())
        .order_by()
    )


def _reason_case() -> Case:
    # First failing condition wins so the excluded counts add up to the matched total.
    return Case(
        When(Q(_platform_ok=False), then=Value("platform_not_enabled")),
        When(Q(status=Device.Status.TOKEN_INVALID), then=Value("token_invalid")),
        When(Q(status=Device.Status.UNREGISTERED), then=Value("unregistered")),
        When(Q(first_opened_at__isnull=True), then=Value("never_opened")),
        When(Q(push_enabled=False), then=Value("push_disabled")),
        When(Q(push_token=""), then=Value("no_token")),
        When(Q(lead__isnull=True), then=Value("no_lead")),
        When(Q(_configured=False), then=Value("app_not_configured")),
        default=Value(""),
        output_field=CharField(),
    )


def audience_count(
    *, app: MobileApp, rows: list[dict[str, Any]], notification: PushNotification | None
) -> dict[str, Any]:
    """Matched devices split into eligible and excluded-by-reason, plus eligible leads.
    Two aggregate queries whatever the audience size."""
    platforms = notification_platforms(notification) if notification else ["ios", "android"]
    matched = audience_devices(app_id=app.pk, rows=rows).order_by()
    by_reason = (
        matched.annotate(
            _platform_ok=Case(
                When(platform__in=platforms, then=Value(True)),
                default=Value(False),
            ),
            _configured=_configured(),
        )
        .annotate(reason=_reason_case())
        .values("reason")
        .annotate(n=Count("id"))
    )
    counts = {row["reason"]: row["n"] for row in by_reason}
    leads = sendable_devices(app_id=app.pk, rows=rows, platforms=platforms).aggregate(
        n=Count("lead_id", distinct=True)
    )["n"]
    excluded = {
        code: {"count": counts.get(code, 0), "label": label}
        for code, label in EXCLUSION_REASONS.items()
    }
    return {
        "matched_devices": sum(counts.values()),
        "eligible_devices": counts.get("", 0),
        "eligible_leads": leads,
        "excluded": excluded,
        "platforms": platforms,
    }


def campaigns_for_list() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("app", "notification", "created_by").prefetch_related(
        "variants"
    )


def campaign_totals(campaign: Campaign) -> dict[str, Any]:
    """Counters summed over every run of the campaign, per platform, in one query."""
    sums = CampaignRun.objects.filter(campaign=campaign).aggregate(
        total=Sum("total"), **{f: Sum(F(f)) for f in COUNTER_FIELDS.values()}
    )
    out: dict[str, Any] = {"total": sums["total"] or 0}
    for name in COUNTERS:
        by_platform = {p: sums[COUNTER_FIELDS[(name, p)]] or 0 for p in PLATFORMS}
        out[name] = {**by_platform, "all": sum(by_platform.values())}
    return _with_pending(out)


def _with_pending(out: dict[str, Any]) -> dict[str, Any]:
    """`queued_*` counts rows queued at resolution (the engine never decrements it); rows not
    yet in a terminal state are what is left of every row after the terminal counters."""
    pending = {}
    for p in PLATFORMS:
        done = sum(out[name][p] for name in ("sent", "failed", "token_invalid", "skipped"))
        pending[p] = max(out["queued"][p] + out["skipped"][p] - done, 0)
    out["pending"] = {**pending, "all": pending["ios"] + pending["android"]}
    return out


def run_stats(run: CampaignRun) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": run.pk,
        "kind": run.kind,
        "status": run.status,
        "status_label": run.get_status_display(),
        "total": run.total,
        "created_at": run.created_at.isoformat(),
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "deliveries_purged_at": (
            run.deliveries_purged_at.isoformat() if run.deliveries_purged_at else None
        ),
        "deliveries_purged_note": run_purge_note(run),
    }
    for name in COUNTERS:
        by_platform = {p: getattr(run, COUNTER_FIELDS[(name, p)]) for p in PLATFORMS}
        out[name] = {**by_platform, "all": sum(by_platform.values())}
    return _with_pending(out)


def campaign_runs(campaign: Campaign, *, limit: int = 20) -> list[CampaignRun]:
    """The latest runs, each with `number`: its place among the campaign's runs (1 = first).
    The window is computed over every run of the campaign before the LIMIT applies."""
    return list(
        CampaignRun.objects.filter(campaign=campaign)
        .annotate(number=Window(RowNumber(), order_by=[F("created_at").asc(), F("id").asc()]))
        .order_by("-created_at", "-id")[:limit]
    )


def run_number(run: CampaignRun) -> int | None:
    """The run's place among its campaign's runs (None for a sample or API send without one)."""
    if run.campaign_id is None:
        return None
    return (
        CampaignRun.objects.filter(campaign_id=run.campaign_id)
        .filter(Q(created_at__lt=run.created_at) | Q(created_at=run.created_at, id__lte=run.pk))
        .count()
    )


def campaigns_sending_summary() -> dict[str, int]:
    """What turning the add-on off would stop: campaigns running or listening, and the
    deliveries still queued (they are skipped with "add-on disabled")."""
    running = Campaign.objects.filter(
        status__in=[Campaign.Status.RUNNING, Campaign.Status.ACTIVE]
    ).count()
    queued = Delivery.objects.filter(
        status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING]
    ).count()
    return {"running_campaigns": running, "queued_deliveries": queued}


# Runs whose queued rows are waiting: a paused run's are not (nor are a finished run's, which
# has none).
_WAITING_RUN_STATUSES = (
    CampaignRun.Status.RESOLVING,
    CampaignRun.Status.SENDING,
    CampaignRun.Status.LISTENING,
)
# Since when a queued row has been due: its `not_before` when it has one (a retry's backoff, a
# throttle, quiet hours), else its creation. The in-flight index orders each run's rows by it.
_DUE_SINCE = Coalesce("not_before", "created_at")


def _run_queued(run_id: Any) -> QuerySet[Delivery]:
    """A run's queued rows. Ordered by _DUE_SINCE they come from delivery_inflight_due_idx
    (status, run, due since), so the longest-waiting is one index probe however many are
    queued. No tie-break on id: a batch run's rows share their creation time, and ordering
    300,000 ties by id sorted them all."""
    return Delivery.objects.filter(status=Delivery.Status.QUEUED, run_id=run_id)


def deliveries_due_since_by_run(*, now: datetime) -> list[dict[str, Any]]:
    """Per waiting run with a queued row due by `now`: its id, kind and since when its
    longest-waiting row has been due. One probe per open run (~3 ms behind 300,000 queued rows,
    bench/health_reads.py): aggregating over the queued rows read every one of them (80-185 ms
    for those 300,000) on every metrics scrape."""
    first_due = _run_queued(OuterRef("pk")).values(since=_DUE_SINCE).order_by("since")[:1]
    runs = (
        CampaignRun.objects.filter(status__in=_WAITING_RUN_STATUSES)
        .annotate(since=Subquery(first_due))
        .order_by()
        .values("id", "kind", "since")
    )
    # Compared here, not in SQL: a filter on the annotation repeats the subquery in WHERE (a
    # second probe per run) for the handful of open runs this returns anyway.
    return [dict(run) for run in runs if run["since"] is not None and run["since"] <= now]


def deliveries_due_since_by_run_kind(*, now: datetime) -> dict[str, datetime]:
    """Per run kind, since when its longest-waiting due delivery has been due. Kinds with none
    due are absent."""
    by_kind: dict[str, datetime] = {}
    for run in deliveries_due_since_by_run(now=now):
        kind, since = run["kind"], run["since"]
        if kind not in by_kind or since < by_kind[kind]:
            by_kind[kind] = since
    return by_kind


def delivery_longest_due(*, now: datetime, kinds: Sequence[str]) -> dict[str, Any] | None:
    """The longest-waiting due delivery of runs of `kinds` (id, run_id, run__kind, since)."""
    runs = [run for run in deliveries_due_since_by_run(now=now) if run["kind"] in kinds]
    if not runs:
        return None
    longest = min(runs, key=lambda run: (run["since"], run["id"]))
    row = (
        _run_queued(longest["id"])
        .values("id", "run_id", since=_DUE_SINCE)
        .order_by("since")
        .first()
    )
    if row is None:  # sent meanwhile
        return None
    return {**row, "run__kind": longest["kind"]}


def runs_unfinished_counts() -> dict[tuple[str, str], int]:
    """{(kind, status): runs} for runs neither completed nor cancelled."""
    finished = [CampaignRun.Status.COMPLETED, CampaignRun.Status.CANCELLED]
    rows = (
        CampaignRun.objects.exclude(status__in=finished)
        .order_by()
        .values("kind", "status")
        .annotate(n=Count("id"))
    )
    return {(row["kind"], row["status"]): row["n"] for row in rows}


def campaign_audience_numbers(campaign: Campaign) -> dict[str, int]:
    """Devices the campaign would reach if sent now (for the confirmation): matched by the
    filters, and of those the eligible ones."""
    counts = audience_count(
        app=campaign.app, rows=campaign.audience or [], notification=campaign.notification
    )
    return {"devices": counts["matched_devices"], "eligible": counts["eligible_devices"]}


def campaign_progress(campaign: Campaign) -> dict[str, Any]:
    """What the campaign page polls: status, totals and the latest runs."""
    runs = campaign_runs(campaign, limit=10)
    return {
        "id": campaign.pk,
        "status": campaign.status,
        "status_label": campaign.get_status_display(),
        "next_run_at": campaign.next_run_at.isoformat() if campaign.next_run_at else None,
        "totals": campaign_totals(campaign),
        "runs": [run_stats(run) for run in runs],
    }


def deliveries_recent(
    *, lead_id: int | None = None, device_id: int | None = None, limit: int = 25
) -> list[Delivery]:
    """The latest pushes sent to a lead or a device (one query): the lead and device pages of
    devices show them through the hook registered in CampaignsConfig.ready()."""
    deliveries = Delivery.objects.select_related("run__campaign", "run__notification", "device")
    if lead_id is not None:
        deliveries = deliveries.filter(lead_id=lead_id)
    if device_id is not None:
        deliveries = deliveries.filter(device_id=device_id)
    return list(deliveries.order_by("-created_at", "-id")[:limit])


def notification_campaign_names(notification: PushNotification) -> list[str]:
    """Names of campaigns that use the push (directly or through a run); [] when unused.
    Notifications asks through the hook registered in CampaignsConfig.ready()."""
    names = list(
        Campaign.objects.filter(Q(notification=notification) | Q(runs__notification=notification))
        .values_list("name", flat=True)
        .distinct()
        .order_by("name")
    )
    if not names and CampaignRun.objects.filter(notification=notification).exists():
        names = ["a sample or API send"]
    return names


def run_image_names() -> set[str]:
    """The stored images runs froze (content, A/B arms): a phone may still fetch them.
    Notifications asks through the hook registered in CampaignsConfig.ready()."""
    return image_names_in(CampaignRun.objects.all(), "content", "variants")


def campaign_audience_sentences(campaign: Campaign) -> list[str]:
    """The audience rows as sentences; the apps and pushes they name are read in two queries."""
    rows = campaign.audience or []
    app_ids = {r.get("value") for r in rows if r.get("field") == "app"}
    push_ids = {r.get("notification_id") for r in rows if r.get("notification_id")}
    app_names = (
        dict(MobileApp.objects.filter(pk__in=app_ids).values_list("pk", "name")) if app_ids else {}
    )
    push_names = (
        dict(PushNotification.objects.filter(pk__in=push_ids).values_list("pk", "name"))
        if push_ids
        else {}
    )
    return audience_sentences(rows, app_names=app_names, push_names=push_names)


def campaign_trigger_push_name(campaign: Campaign) -> str:
    """The name of the push a "tapped a push" trigger waits for ("" when it names none)."""
    push_id = (campaign.trigger or {}).get("notification_id")
    if not push_id:
        return ""
    name = PushNotification.objects.filter(pk=push_id).values_list("name", flat=True).first()
    return name or ""


def campaign_ab_steps(campaign: Campaign, *, limit: int = 20) -> list[AuditEntry]:
    """The A/B test's steps from the audit log, oldest first: test sent, winner picked (or
    abandoned); the campaign page lists them as they happen."""
    entries = AuditEntry.objects.filter(
        target_type=Campaign._meta.label_lower,
        target_id=str(campaign.pk),
        action__startswith="campaign.ab_",
    ).order_by("-created_at", "-id")[:limit]
    return list(reversed(entries))
