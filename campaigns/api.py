"""Management API for campaigns: list, detail, run stats, and idempotent API-triggered sends.

Marketers and admins only; 403 while the add-on is off. Authentication is the per-user API
token (pushmarketing.api_auth)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns import selectors, services
from campaigns.models import Campaign, CampaignRun
from campaigns.qualification import RuleError
from pushmarketing.api_auth import ApiTokenAuthentication, IsAddOnEnabled, role_permission
from pushmarketing.management_api import ManagementThrottle
from pushmarketing.roles import Role


class _CampaignApi(APIView):
    """Bearer token, add-on on, admin or marketer, throttled: as every /api/v1/ endpoint."""

    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [
        IsAuthenticated,
        IsAddOnEnabled,
        role_permission(Role.ADMIN, Role.MARKETER),
    ]
    throttle_classes = [ManagementThrottle]


class CampaignOutput(serializers.ModelSerializer):
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
            "created_at",
        ]


class CampaignListApi(_CampaignApi):
    @extend_schema(responses=CampaignOutput(many=True), summary="List campaigns")
    def get(self, request: Request) -> Response:
        campaigns = selectors.campaigns_for_list()
        app = request.query_params.get("app")
        if app:
            if not app.isdigit():
                raise ValidationError({"app": ["must be an app id"]})
            campaigns = campaigns.filter(app_id=int(app))
        return Response({"results": CampaignOutput(campaigns[:500], many=True).data})


class CampaignDetailApi(_CampaignApi):
    @extend_schema(summary="A campaign with its totals and latest runs")
    def get(self, request: Request, campaign_id: int) -> Response:
        campaign = services.campaign_status_refresh(get_object_or_404(Campaign, pk=campaign_id))
        progress = selectors.campaign_progress(campaign)
        return Response(
            {
                **CampaignOutput(campaign).data,
                "totals": progress["totals"],
                "runs": progress["runs"],
            }
        )


class CampaignRunDetailApi(_CampaignApi):
    @extend_schema(summary="One run's counters")
    def get(self, request: Request, campaign_id: int, run_id: int) -> Response:
        run = get_object_or_404(CampaignRun, pk=run_id, campaign_id=campaign_id)
        return Response(selectors.run_stats(run))


class CampaignTriggerApi(_CampaignApi):
    class Input(serializers.Serializer):
        leads = serializers.ListField(
            child=serializers.EmailField(), required=False, default=list, max_length=1000
        )
        lead_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1),
            required=False,
            default=list,
            max_length=1000,
        )
        idempotency_key = serializers.CharField(min_length=8, max_length=120)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if not attrs["leads"] and not attrs["lead_ids"]:
                raise serializers.ValidationError({"leads": ["give leads (emails) or lead_ids"]})
            return attrs

    @extend_schema(
        request=Input,
        summary="Send the campaign's push to these leads (idempotent)",
        description="A repeated idempotency_key returns the first run with 200 and sends nothing.",
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            run, created = services.campaign_api_trigger(
                actor=request.user,
                campaign=campaign,
                emails=data.validated_data["leads"],
                lead_ids=data.validated_data["lead_ids"],
                idempotency_key=data.validated_data["idempotency_key"],
            )
        except RuleError as error:
            raise ValidationError({error.field: [error.rule]}) from None
        return Response(
            {"run": selectors.run_stats(run), "created": created},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
