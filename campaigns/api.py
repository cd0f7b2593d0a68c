"""Management API for campaigns: list, detail, run stats, and idempotent API-triggered sends.

Marketers and admins only; 403 while the add-on is off. Authentication is the per-user API
token (pushmarketing.core.api_auth)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotAuthenticated, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns import selectors, services
from campaigns.abtest.variants import ab_test_describe
from campaigns.lifecycle import LifecycleError
from campaigns.models import Campaign, CampaignRun, SeriesUnit
from campaigns.qualification import RuleError
from campaigns.reports.figures import campaign_figures, run_figures
from campaigns.reports.variants import comparison_dict, run_comparison
from pushmarketing.core.api_errors import Conflict, error_responses
from pushmarketing.core.api_input import (
    Int64Field,
    StrictCharField,
    StrictEmailField,
    StrictInput,
)
from pushmarketing.core.management_api import (
    ACCESS_ERRORS,
    INVALID_QUERY,
    MANAGEMENT_TAG,
    PAGE_NOT_FOUND,
    ManagementAccess,
    ManagementApi,
)
from pushmarketing.core.models import ApiToken


class _CampaignApi(ManagementAccess, APIView):
    """Campaign endpoints that answer one object each: no pagination or filters."""


CAMPAIGN_NOT_FOUND = error_responses({404: "No such campaign."})


class VariantSettingOutput(serializers.Serializer):
    # DRF takes declared fields off the class, so `label` shadows Field.label only in the stubs.
    label = serializers.CharField(help_text="A to E")  # type: ignore[assignment]
    notification_id = serializers.IntegerField(
        allow_null=True, help_text="The variant's push; null for a control group"
    )
    control = serializers.BooleanField(help_text="true: sent nothing (held out)")
    share_percent = serializers.IntegerField()


class AbTestOutput(serializers.Serializer):
    variants = VariantSettingOutput(many=True)
    winner_mode = serializers.BooleanField()
    test_percent = serializers.IntegerField(allow_null=True)
    wait_minutes = serializers.IntegerField(allow_null=True)


class CampaignOutput(serializers.ModelSerializer):
    kind = serializers.CharField(help_text=" | ".join(Campaign.Kind.values))
    status = serializers.CharField(help_text=" | ".join(Campaign.Status.values))
    ab_test = serializers.SerializerMethodField(
        help_text="The batch campaign's A/B test; null when it has none."
    )

    @extend_schema_field(AbTestOutput(allow_null=True))
    def get_ab_test(self, campaign: Campaign) -> dict[str, Any] | None:
        return ab_test_describe(campaign)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "kind",
            "status",
            "app",
            "notification",
            "audience",
            "schedule_kind",
            "schedule_at",
            "schedule_spec",
            "next_run_at",
            "trigger",
            "qualification",
            "qualification_period_hours",
            "throttle_per_minute",
            "frequency_cap",
            "quiet_hours",
            "ab_test",
            "created_at",
        ]


class CounterOutput(serializers.Serializer):
    ios = serializers.IntegerField()
    android = serializers.IntegerField()
    all = serializers.IntegerField()


class TotalsOutput(serializers.Serializer):
    total = serializers.IntegerField()
    queued = CounterOutput(help_text="Rows queued at resolution")
    pending = CounterOutput(help_text="Rows not yet in a terminal state")
    sent = CounterOutput()
    failed = CounterOutput()
    token_invalid = CounterOutput()
    skipped = CounterOutput()
    received = CounterOutput()
    tapped = CounterOutput()


class RunOutput(TotalsOutput):
    id = serializers.IntegerField()
    # Plain strings, values in the help text: a `kind`/`status` enum per model would collide
    # with the other areas' enums of the same field name in the OpenAPI components.
    kind = serializers.CharField(help_text=" | ".join(CampaignRun.Kind.values))
    status = serializers.CharField(help_text=" | ".join(CampaignRun.Status.values))
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    deliveries_purged_at = serializers.DateTimeField(
        allow_null=True,
        help_text="Set once retention deleted the run's delivery rows; its figures stay.",
    )
    deliveries_purged_note = serializers.CharField(allow_null=True)


class TapRateOutput(serializers.Serializer):
    ios = serializers.FloatField(allow_null=True)
    android = serializers.FloatField(allow_null=True)
    all = serializers.FloatField(allow_null=True)


class ReportOutput(serializers.Serializer):
    """Aggregates refreshed in the background while a run sends (campaigns.reports.refresh)."""

    unique_leads_sent = serializers.IntegerField()
    tap_rate_percent = TapRateOutput()
    failed_by_reason = serializers.DictField(child=serializers.IntegerField())
    skipped_by_reason = serializers.DictField(child=serializers.IntegerField())
    sends_over_time = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="[offset since the first send in sends_unit, iOS sends, Android sends]",
    )
    sends_unit = serializers.ChoiceField(
        choices=SeriesUnit.choices,
        help_text="Seconds for a run of under 3 minutes, minutes up to a day, then hours.",
    )
    tap_decay = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="[offset since the first send in tap_decay_unit, iOS taps, Android taps]",
    )
    tap_decay_unit = serializers.ChoiceField(
        choices=SeriesUnit.choices,
        help_text="Seconds under 3 minutes after the send, minutes up to 3 hours, then hours.",
    )


class VariantFiguresOutput(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]  # see VariantSettingOutput
    push_name = serializers.CharField()
    share_percent = serializers.IntegerField()
    control = serializers.BooleanField()
    deliveries = serializers.IntegerField()
    sent = serializers.IntegerField()
    received = serializers.IntegerField()
    tapped = serializers.IntegerField()
    held_out = serializers.IntegerField(help_text="Control rows: recorded, never sent")
    tap_rate_percent = serializers.FloatField(allow_null=True)
    winner = serializers.BooleanField()


class RunAbTestOutput(serializers.Serializer):
    """The A/B comparison of a test run (for a winner run: of its test run)."""

    run_id = serializers.IntegerField(help_text="The test run")
    variants = VariantFiguresOutput(many=True)
    confidence = serializers.FloatField(
        allow_null=True, help_text="Two-proportion z-test, leader against runner-up, 0-1"
    )
    statement = serializers.CharField()
    test_percent = serializers.IntegerField(allow_null=True)
    winner = serializers.CharField(help_text="The winner's label; empty until picked")
    winner_due_at = serializers.DateTimeField(allow_null=True)
    winner_run_id = serializers.IntegerField(allow_null=True)


class RunDetailOutput(RunOutput):
    report = ReportOutput()
    ab_test = RunAbTestOutput(allow_null=True)


class CampaignDetailOutput(CampaignOutput):
    totals = TotalsOutput(read_only=True)
    report = ReportOutput(read_only=True)
    runs = RunOutput(many=True, read_only=True)

    class Meta(CampaignOutput.Meta):
        fields = [*CampaignOutput.Meta.fields, "totals", "report", "runs"]


class TriggerOutput(serializers.Serializer):
    run = RunOutput()
    created = serializers.BooleanField(help_text="false: the idempotency key was seen before")


class CampaignFilter(serializers.Serializer):
    app = Int64Field(required=False, min_value=1, help_text="Only this app's campaigns.")


class CampaignListApi(ManagementApi):
    serializer_class = CampaignOutput
    filter_serializer = CampaignFilter

    def get_queryset(self) -> QuerySet[Campaign]:
        campaigns = selectors.campaigns_for_list()
        app = self.filters().get("app")
        return campaigns if app is None else campaigns.filter(app_id=app)

    @extend_schema(
        tags=MANAGEMENT_TAG,
        operation_id="campaigns_list",
        summary="List campaigns, newest first",
        parameters=[CampaignFilter],
        responses={
            200: CampaignOutput(many=True),
            **INVALID_QUERY,
            **PAGE_NOT_FOUND,
            **ACCESS_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        return self.list(request)


class CampaignDetailApi(_CampaignApi):
    @extend_schema(
        tags=MANAGEMENT_TAG,
        operation_id="campaigns_retrieve",
        summary="A campaign with totals and runs",
        responses={200: CampaignDetailOutput, **CAMPAIGN_NOT_FOUND, **ACCESS_ERRORS},
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        progress = selectors.campaign_progress(campaign)
        return Response(
            {
                **CampaignOutput(campaign).data,
                "totals": progress["totals"],
                "report": campaign_figures(campaign=campaign).report(),
                "runs": progress["runs"],
            }
        )


class CampaignRunDetailApi(_CampaignApi):
    @extend_schema(
        tags=MANAGEMENT_TAG,
        operation_id="campaigns_runs_retrieve",
        summary="One run's counters and report",
        responses={
            200: RunDetailOutput,
            **error_responses({404: "No such campaign, or no such run of it."}),
            **ACCESS_ERRORS,
        },
    )
    def get(self, request: Request, campaign_id: int, run_id: int) -> Response:
        run = get_object_or_404(
            CampaignRun.objects.select_related("report", "ab_test_run__report"),
            pk=run_id,
            campaign_id=campaign_id,
        )
        comparison = run_comparison(run.ab_test_run or run)
        return Response(
            {
                **selectors.run_stats(run),
                "report": run_figures(run=run).report(),
                "ab_test": comparison_dict(comparison) if comparison else None,
            }
        )


class CampaignTriggerApi(_CampaignApi):
    class Input(StrictInput):
        leads = serializers.ListField(
            child=StrictEmailField(), required=False, default=list, max_length=1000
        )
        lead_ids = serializers.ListField(
            child=Int64Field(min_value=1),
            required=False,
            default=list,
            max_length=1000,
        )
        idempotency_key = StrictCharField(min_length=8, max_length=120)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if not attrs["leads"] and not attrs["lead_ids"]:
                raise serializers.ValidationError({"leads": ["give leads (emails) or lead_ids"]})
            return attrs

    @extend_schema(
        tags=MANAGEMENT_TAG,
        operation_id="campaigns_trigger",
        request=Input,
        responses={
            201: TriggerOutput,
            200: TriggerOutput,
            **error_responses(
                {
                    400: "Invalid body: error.fields names each field and the rule it broke.",
                    404: "No such campaign.",
                    409: "The idempotency key was used for another request "
                    "(idempotency_key_reused), or the campaign cannot be triggered in its "
                    "status (campaign_not_triggerable).",
                    413: "Body larger than the upload limit.",
                    415: "The body is not application/json.",
                }
            ),
            **ACCESS_ERRORS,
        },
        summary="Send the campaign's push to these leads (idempotent)",
        description="Idempotency keys are scoped to the API token and kept 24 hours. The same "
        "key with the same request returns the first run with 200 and sends nothing; with a "
        "different request (another campaign or other leads) it answers 409. Only a running, "
        "scheduled, active or completed campaign can be triggered: a draft, paused or "
        "cancelled one answers 409 with the reason.",
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        if not isinstance(request.auth, ApiToken):
            raise NotAuthenticated("Triggering needs an API token: idempotency keys belong to one.")
        try:
            run, created = services.campaign_api_trigger(
                # ManagementAccess lets only signed-in users through (IsAuthenticated).
                actor=request.user if isinstance(request.user, User) else None,
                token=request.auth,
                campaign=campaign,
                emails=data.validated_data["leads"],
                lead_ids=data.validated_data["lead_ids"],
                idempotency_key=data.validated_data["idempotency_key"],
            )
        except services.IdempotencyKeyConflict as error:
            raise Conflict(
                f"idempotency_key: {error.rule}",
                code="idempotency_key_reused",
                fields={error.field: [error.rule]},
            ) from None
        except LifecycleError as error:
            raise Conflict(
                f"{error.field}: {error.rule}",
                code="campaign_not_triggerable",
                fields={error.field: [error.rule]},
            ) from None
        except RuleError as error:
            raise ValidationError({error.field: [error.rule]}) from None
        return Response(
            {"run": selectors.run_stats(run), "created": created},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
