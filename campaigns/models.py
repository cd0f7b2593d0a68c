from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from devices.models import Device, MobileApp
from notifications.models import PushNotification


class Campaign(models.Model):
    class Kind(models.TextChoices):
        BATCH = "batch", _("Batch")
        TRIGGER = "trigger", _("Trigger")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        RUNNING = "running", _("Running")
        ACTIVE = "active", _("Active (trigger)")
        PAUSED = "paused", _("Paused")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    class ScheduleKind(models.TextChoices):
        NOW = "now", _("Run now")
        AT = "at", _("At a date and time")
        RECURRING = "recurring", _("Recurring")
        LOCAL_TIME = "local_time", _("At a local time in each device's time zone")

    class Qualification(models.TextChoices):
        ONCE = "once", _("Once")
        EVERY_TIME = "every_time", _("Every time")
        ONCE_PER = "once_per", _("Once per period")

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    app = models.ForeignKey(MobileApp, on_delete=models.PROTECT, related_name="campaigns")
    notification = models.ForeignKey(
        PushNotification, on_delete=models.PROTECT, related_name="campaigns"
    )
    # A list of filter rows, compiled to one queryset by campaigns.audience.
    audience = models.JSONField(default=list, blank=True)
    schedule_kind = models.CharField(
        max_length=12, choices=ScheduleKind.choices, default=ScheduleKind.NOW
    )
    schedule_at = models.DateTimeField(null=True, blank=True)
    schedule_spec = models.JSONField(default=dict, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    trigger = models.JSONField(default=dict, blank=True)
    qualification = models.CharField(
        max_length=12, choices=Qualification.choices, default=Qualification.ONCE
    )
    qualification_period_hours = models.PositiveIntegerField(null=True, blank=True)
    throttle_per_minute = models.PositiveIntegerField(null=True, blank=True)
    frequency_cap = models.JSONField(default=dict, blank=True)
    quiet_hours = models.JSONField(default=dict, blank=True)
    # A/B test winner mode (campaigns.abtest): the variants go to `ab_test_percent` of the
    # audience; `ab_wait_minutes` later the variant with the best tap-through rate goes to the
    # rest. Without winner mode the variants split the whole audience.
    ab_winner_mode = models.BooleanField(default=False)
    ab_test_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    ab_wait_minutes = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class CampaignVariant(models.Model):
    """One arm of a batch campaign's A/B test: a push, or nothing (a control group held out).

    A lead's arm is a hash of (run, lead) compared with the cumulative shares in the SQL that
    creates the run's rows (campaigns.abtest.assignment), so all its devices share it."""

    LABELS = ("A", "B", "C", "D", "E")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    label = models.CharField(max_length=1)
    # None: the control group, whose deliveries are recorded as held out and never sent.
    notification = models.ForeignKey(
        PushNotification,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="campaign_variants",
    )
    share_percent = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["campaign", "label"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "label"], name="variant_label_unique")
        ]

    def __str__(self) -> str:
        return f"variant {self.label}"

    @property
    def is_control(self) -> bool:
        return self.notification_id is None


class CampaignRun(models.Model):
    """One execution: a batch run, the stream of a trigger campaign, a sample send or an API send.

    Rows, counters and status are written by campaigns.ledger only (status through the table in
    campaigns.lifecycle); dashboards never count deliveries at request time."""

    class Kind(models.TextChoices):
        BATCH = "batch", _("Batch")
        TRIGGER = "trigger", _("Trigger")
        SAMPLE = "sample", _("Sample send")
        API = "api", _("API send")

    class Status(models.TextChoices):
        RESOLVING = "resolving", _("Resolving audience")
        SENDING = "sending", _("Sending")
        LISTENING = "listening", _("Listening")
        PAUSED = "paused", _("Paused")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RESOLVING)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="runs"
    )
    notification = models.ForeignKey(
        PushNotification, on_delete=models.PROTECT, related_name="runs"
    )
    app = models.ForeignKey(MobileApp, on_delete=models.PROTECT, related_name="+")
    # The content sent by this run, frozen at start (PushContent.to_dict()).
    content = models.JSONField()
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A trigger campaign's stream: the run each activation opens, listening while the campaign
    # is active (later fires of a device that already has a row there go to their own runs).
    is_stream = models.BooleanField(default=False)
    total = models.PositiveIntegerField(default=0)
    # Per-platform outcome counters, incremented per batch with F() by the send path.
    queued_ios = models.PositiveIntegerField(default=0)
    queued_android = models.PositiveIntegerField(default=0)
    sent_ios = models.PositiveIntegerField(default=0)
    sent_android = models.PositiveIntegerField(default=0)
    failed_ios = models.PositiveIntegerField(default=0)
    failed_android = models.PositiveIntegerField(default=0)
    token_invalid_ios = models.PositiveIntegerField(default=0)
    token_invalid_android = models.PositiveIntegerField(default=0)
    skipped_ios = models.PositiveIntegerField(default=0)
    skipped_android = models.PositiveIntegerField(default=0)
    received_ios = models.PositiveIntegerField(default=0)
    received_android = models.PositiveIntegerField(default=0)
    tapped_ios = models.PositiveIntegerField(default=0)
    tapped_android = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set when retention (campaigns.ledger.retention) starts deleting the run's delivery rows:
    # from then on its counters and RunReport are the record, frozen, and the rows are gone.
    deliveries_purged_at = models.DateTimeField(null=True, blank=True)
    # When a send last recorded an outcome here (campaigns.ledger.counters): a sending run
    # with due rows and no progress for minutes lost its messages (the sweeper re-sends).
    progressed_at = models.DateTimeField(null=True, blank=True)
    # An A/B test's arms, frozen at start like `content`: {label: {"share": percent,
    # "notification_id": id or None, "content": PushContent dict or None (control)}}.
    # Empty: every row gets `content`.
    variants = models.JSONField(default=dict, blank=True)
    # Winner mode: the share of the audience (percent) this test run sends to; the rest is
    # sent by a later run (`ab_test_run` set) carrying `ab_winner` once it is picked, which
    # is due at `ab_winner_due_at`.
    ab_test_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    ab_winner_due_at = models.DateTimeField(null=True, blank=True)
    ab_winner = models.CharField(max_length=1, blank=True, default="")
    ab_test_run = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} run {self.pk}"


class TriggerKey(models.Model):
    """An idempotency key of `POST /api/v1/campaigns/{id}/trigger`, on Stripe's rules: scoped
    to the API token that sent it, bound to the request it first came with (`request_hash`),
    and forgotten after campaigns.services.api_send.TRIGGER_KEY_TTL."""

    token = models.ForeignKey("pushmarketing.ApiToken", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=120)
    # SHA-256 of the campaign id and the request's parameters, canonical JSON.
    request_hash = models.CharField(max_length=64)
    run = models.ForeignKey(CampaignRun, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="trigger_key_token_key_unique")
        ]

    def __str__(self) -> str:
        return self.key


class Delivery(models.Model):
    """One push to one device in one run. Unique on (run, device): never twice per run."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        TOKEN_INVALID = "token_invalid", _("Token invalid")
        SKIPPED = "skipped", _("Skipped")

    TERMINAL = (Status.SENT, Status.FAILED, Status.TOKEN_INVALID, Status.SKIPPED)

    # No single-column indexes on the two keys: delivery_once_per_run (run, device) and
    # delivery_device_sent_idx (device, sent_at) lead with them and serve every lookup and
    # cascade by either. A row is written three times (queued, sending, its outcome), each
    # write a new version in every index of the table, so an index no query needs costs the
    # send path on every delivery.
    # No database FK checks either (as DeviceActivity): every row is inserted by a statement
    # that reads its device (an audience's INSERT … SELECT) or just after reading it (trigger
    # fires, samples), in the transaction that opened or locked its run. The checks ran one
    # locking lookup per row per key at COMMIT: 20,000 audience rows committed in ~300 ms with
    # them and ~10 ms without, and nothing was sent meanwhile (~15 s for a 1M audience).
    # Django's on_delete still cascades. What the checks stopped, a delete racing an insert,
    # is handled where it shows: a row whose device was deleted under it (in the admin) is
    # skipped (campaigns.delivery.send); rows of a deleted run (a campaign deleted from a
    # shell: the product deletes none) are dropped (ledger.recovery.deleted_run_deliveries_drop).
    run = models.ForeignKey(
        CampaignRun,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,
        db_constraint=False,
    )
    device = models.ForeignKey(
        Device,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,
        db_constraint=False,
    )
    lead_id = models.BigIntegerField(null=True, blank=True)
    platform = models.CharField(max_length=10)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The worker process that last claimed the row (pushmarketing.core.liveness): rows a
    # process still holds `sending` after its heartbeat stopped are requeued within seconds.
    # A database default too: the ledger's raw INSERT … SELECT statements leave it out.
    claimed_by = models.CharField(max_length=100, blank=True, default="", db_default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    tapped_at = models.DateTimeField(null=True, blank=True)
    # The A/B variant label (CampaignVariant.label) the row's lead was assigned; "" outside a
    # test. A database default too: the trigger and sample INSERTs leave it out.
    variant = models.CharField(max_length=1, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "device"], name="delivery_once_per_run")
        ]
        indexes = [
            models.Index(fields=["run", "status"], name="delivery_run_status_idx"),
            # Only rows in flight: the sweeper's stuck `sending` rows, "has this run anything
            # left?" and, per run, its longest-waiting queued row first (since its
            # `not_before`, else its creation), so System health and the metrics find it with
            # one probe per open run instead of reading every queued row. A row that reaches
            # its outcome leaves it (no new entry).
            models.Index(
                "status",
                "run",
                Coalesce("not_before", "created_at"),
                "claimed_at",
                name="delivery_inflight_due_idx",
                condition=models.Q(status__in=["queued", "sending"]),
            ),
            models.Index(fields=["device", "-sent_at"], name="delivery_device_sent_idx"),
            # Qualification (lead already sent this campaign) and frequency caps (pushes per
            # lead in a window) are per lead. One index serves both: every extra index on
            # this table slows audience resolution (it is written once per delivery).
            models.Index(fields=["lead_id", "sent_at"], name="delivery_lead_sent_idx"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"


class SeriesUnit(models.TextChoices):
    """The unit of a chart series' offsets (one name in the API schema for both series)."""

    SECOND = "second", _("seconds")
    MINUTE = "minute", _("minutes")
    HOUR = "hour", _("hours")


class RunReport(models.Model):
    """Aggregates that would need a scan of the deliveries (reasons, unique leads, time series),
    computed by a task while a run sends and once when it ends, so a dashboard never counts
    deliveries at request time. Live totals come from the run's counters."""

    run = models.OneToOneField(CampaignRun, on_delete=models.CASCADE, related_name="report")
    computed_at = models.DateTimeField()
    unique_leads_sent = models.PositiveIntegerField(default=0)
    failed_by_reason = models.JSONField(default=dict, blank=True)
    skipped_by_reason = models.JSONField(default=dict, blank=True)

    Unit = SeriesUnit

    # [[offset since the first send in sends_unit, ios count, android count], ...]: the unit
    # fits the run (seconds for a run of a few minutes, minutes up to a day, then hours).
    sends_over_time = models.JSONField(default=list, blank=True)
    sends_unit = models.CharField(max_length=6, choices=Unit.choices, default=Unit.MINUTE)
    # [[offset since the first send in tap_decay_unit, ios taps, android taps], ...]
    tap_decay = models.JSONField(default=list, blank=True)
    tap_decay_unit = models.CharField(max_length=6, choices=Unit.choices, default=Unit.HOUR)
    # Set by the first push feedback (received/tapped) after computed_at: the report is behind
    # the taps, so the beat and the dashboard refresh it (taps arrive after a run ends).
    feedback_at = models.DateTimeField(null=True, blank=True)
    # {label: {"deliveries", "sent", "received", "tapped", "held_out"}} of an A/B run.
    by_variant = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"report for run {self.run_id}"
