"""Management API for in-app messages and campaigns (/api/v1/inapp/): list, create, read,
edit, approve a message; list, create, read (with dashboard figures), edit a campaign and move
its status (approve = go live, pause, resume, stop).

Bearer token, admins and marketers, like the rest of /api/v1/, but behind the In-app messages
add-on rather than Mobile Push (403 while it is off). Views parse, call one service, answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import (
    BasePermission,
    IsAuthenticated,
    OperandHolder,
    SingleOperandHolder,
)
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from devices.models import MobileApp
from inapp.management_io import (
    InAppAppFilter,
    InAppCampaignCreateInput,
    InAppCampaignDetailOutput,
    InAppCampaignInput,
    InAppCampaignOutput,
    InAppCampaignStatusInput,
    InAppMessageCreateInput,
    InAppMessageInput,
    InAppMessageRecordOutput,
)
from inapp.models import InAppCampaign, InAppMessage
from inapp.rules import InAppError
from inapp.selectors.dashboard import campaign_figures, campaigns_for_app, messages_for_app
from inapp.services import campaigns as campaign_services
from inapp.services import messages as message_services
from pushmarketing.core.addons import IN_APP_ADDON_DISABLED_MESSAGE, in_app_messages_enabled
from pushmarketing.core.api_auth import role_permission
from pushmarketing.core.api_errors import Conflict, error_responses
from pushmarketing.core.management_api import (
    INVALID_QUERY,
    MANAGEMENT_TAG,
    PAGE_NOT_FOUND,
    ManagementAccess,
    ManagementApi,
)
from pushmarketing.core.roles import Role

INAPP_TAG = [*MANAGEMENT_TAG]
ACCESS_ERRORS = error_responses(
    {
        401: "Missing, malformed, invalid or revoked API token.",
        403: "The In-app messages add-on is off, or your role may not do this.",
        429: "Too many requests for this API token; see Retry-After.",
    }
)
BODY_ERRORS = error_responses(
    {
        400: "Invalid body: error.fields names each field and the rule it broke.",
        413: "Body larger than the upload limit.",
        415: "The body is not application/json.",
    }
)
MESSAGE_NOT_FOUND = error_responses({404: "No such in-app message."})
CAMPAIGN_NOT_FOUND = error_responses({404: "No such in-app campaign."})


class IsInAppAddOnEnabled(BasePermission):
    message = IN_APP_ADDON_DISABLED_MESSAGE
    code = "addon_disabled"

    def has_permission(self, request: Request, view: Any) -> bool:
        return in_app_messages_enabled()


class InAppAccess(ManagementAccess):
    permission_classes: Sequence[type[BasePermission] | OperandHolder | SingleOperandHolder] = [
        IsAuthenticated,
        IsInAppAddOnEnabled,
        role_permission(Role.ADMIN, Role.MARKETER),
    ]


def _actor(request: Request) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _invalid(error: InAppError) -> exceptions.ValidationError:
    return exceptions.ValidationError({error.field: [error.rule]})


class _InAppListApi(InAppAccess, ManagementApi):
    filter_serializer = InAppAppFilter

    def parsed(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        data = serializer_class(data=self.request.data)
        data.is_valid(raise_exception=True)
        return dict(data.validated_data)


class _InAppObjectApi(InAppAccess, APIView):
    def parsed(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        data = serializer_class(data=self.request.data)
        data.is_valid(raise_exception=True)
        return dict(data.validated_data)


def _app(app_id: int) -> MobileApp:
    app = MobileApp.objects.filter(pk=app_id).first()
    if app is None:
        raise exceptions.ValidationError({"app": ["No mobile app with this id."]})
    return app


class MessageListApi(_InAppListApi):
    serializer_class = InAppMessageRecordOutput

    def get_queryset(self) -> QuerySet[InAppMessage]:
        return messages_for_app(app_id=self.filters().get("app"))

    @extend_schema(
        tags=INAPP_TAG,
        operation_id="inapp_messages_list",
        summary="List in-app messages, last edited first",
        parameters=[InAppAppFilter],
        responses={
            200: InAppMessageRecordOutput(many=True),
            **INVALID_QUERY,
            **PAGE_NOT_FOUND,
            **ACCESS_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(
        tags=INAPP_TAG,
        operation_id="inapp_messages_create",
        summary="Create an in-app message (a draft)",
        request=InAppMessageCreateInput,
        responses={201: InAppMessageRecordOutput, **BODY_ERRORS, **ACCESS_ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = self.parsed(InAppMessageCreateInput)
        app = _app(data.pop("app"))
        try:
            message = message_services.message_create(app=app, actor=_actor(request), fields=data)
        except InAppError as error:
            raise _invalid(error) from None
        return Response(InAppMessageRecordOutput(message).data, status=status.HTTP_201_CREATED)


class MessageDetailApi(_InAppObjectApi):
    @extend_schema(
        tags=INAPP_TAG,
        operation_id="inapp_messages_retrieve",
        summary="An in-app message: working copy and approved copy",
        responses={200: InAppMessageRecordOutput, **MESSAGE_NOT_FOUND, **ACCESS_ERRORS},
    )
    def get(self, request: Request, inapp_message_id: int) -> Response:
        message = get_object_or_404(InAppMessage, pk=inapp_message_id)
        return Response(InAppMessageRecordOutput(message).data)

    @extend_schema(
        tags=INAPP_TAG,
        operation_id="inapp_messages_partial_update",
        summary="Edit an in-app message's working copy",
        description="An approved message keeps showing its approved copy until approved again.",
        request=InAppMessageInput,
        responses={
            200: InAppMessageRecordOutput,
            **BODY_ERRORS,
            **MESSAGE_NOT_FOUND,
            **ACCESS_ERRORS,
        },
    )
    def patch(self, request: Request, inapp_message_id: int) -> Response:
        message = get_object_or_404(InAppMessage, pk=inapp_message_id)
        data = self.parsed(InAppMessageInput)
        try:
            message = message_services.message_update(
                message=message, actor=_actor(request), fields=data
            )
        except InAppError as error:
            raise _invalid(error) from None
        return Response(InAppMessageRecordOutput(message).data)


class MessageApproveApi(_InAppObjectApi):
    @extend_schema(
        tags=INAPP_TAG,
        operation_id="inapp_messages_approve",
        summary="Approve the working copy (admins)",
        description="Live campaigns show the approved copy from the next SDK call on.",
        request=None,
        responses={
            200: InAppMessageRecordOutput,
            **error_responses({400: "The working copy breaks a rule (error.fields)."}),
            **MESSAGE_NOT_FOUND,
            **ACCESS_ERRORS,
        },
    )
    def post(self, request: Request, inapp_message_id: int) -> Response:
        message = get_object_or_404(InAppMessage, pk=inapp_message_id)
        try:
            message = message_services.message_approve(message=message, actor=_actor(request))
        except InAppError as error:
            raise _invalid(error) from None
        return Response(InAppMessageRecordOutput(message).data)


class CampaignListApi(_InAppListApi):
    serializer_class = InAppCampaignOutput

    def get_queryset(self) -> QuerySet[InAppCampaign]:
        return campaigns_for_app(app_id=self.filters().get("app"))

    @extend_schema(
        tags=INAPP_TAG,
        operation_id="inapp_campaigns_list",
        summary="List in-app campaigns, newest first",
        parameters=[InAppAppFilter],
        responses={
            200: InAppCampaignOutput(many=True),
            **INVALID_QUERY,
            **PAGE_NOT_FOUND,
            **ACCESS_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(
        tags=INAPP_TAG,
        operation_id="inapp_campaigns_create",
        summary="Create an in-app campaign (a draft)",
        request=InAppCampaignCreateInput,
        responses={201: InAppCampaignOutput, **BODY_ERRORS, **ACCESS_ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = self.parsed(InAppCampaignCreateInput)
        app = _app(data.pop("app"))
        try:
            campaign = campaign_services.campaign_create(
                app=app, actor=_actor(request), fields=data
            )
        except InAppError as error:
            raise _invalid(error) from None
        return Response(InAppCampaignOutput(campaign).data, status=status.HTTP_201_CREATED)


class CampaignDetailApi(_InAppObjectApi):
    @extend_schema(
        tags=INAPP_TAG,
        operation_id="inapp_campaigns_retrieve",
        summary="An in-app campaign with its dashboard figures",
        responses={200: InAppCampaignDetailOutput, **CAMPAIGN_NOT_FOUND, **ACCESS_ERRORS},
    )
    def get(self, request: Request, inapp_campaign_id: int) -> Response:
        campaign = get_object_or_404(InAppCampaign, pk=inapp_campaign_id)
        body = InAppCampaignOutput(campaign).data
        return Response({**body, "figures": campaign_figures(campaign=campaign).as_dict()})

    @extend_schema(
        tags=INAPP_TAG,
        operation_id="inapp_campaigns_partial_update",
        summary="Edit an in-app campaign (draft, live or paused)",
        request=InAppCampaignInput,
        responses={
            200: InAppCampaignOutput,
            **BODY_ERRORS,
            **CAMPAIGN_NOT_FOUND,
            **error_responses({409: "A stopped campaign cannot be edited."}),
            **ACCESS_ERRORS,
        },
    )
    def patch(self, request: Request, inapp_campaign_id: int) -> Response:
        campaign = get_object_or_404(InAppCampaign, pk=inapp_campaign_id)
        data = self.parsed(InAppCampaignInput)
        try:
            campaign = campaign_services.campaign_update(
                campaign=campaign, actor=_actor(request), fields=data
            )
        except InAppError as error:
            raise _status_or_invalid(error) from None
        return Response(InAppCampaignOutput(campaign).data)


def _status_or_invalid(error: InAppError) -> exceptions.APIException:
    if error.field == "status":
        return Conflict(
            f"status: {error.rule}", code="campaign_status", fields={"status": [error.rule]}
        )
    return _invalid(error)


class CampaignStatusApi(_InAppObjectApi):
    ACTIONS = {
        "approve": campaign_services.campaign_approve,
        "pause": campaign_services.campaign_pause,
        "resume": campaign_services.campaign_resume,
        "stop": campaign_services.campaign_stop,
    }

    @extend_schema(
        tags=INAPP_TAG,
        operation_id="inapp_campaigns_status",
        summary="Approve (go live), pause, resume or stop an in-app campaign",
        description="Approving needs the approver role (or admin) and an approved message. "
        "Stop cannot be undone.",
        request=InAppCampaignStatusInput,
        responses={
            200: InAppCampaignOutput,
            **BODY_ERRORS,
            **CAMPAIGN_NOT_FOUND,
            **error_responses({409: "The campaign's status does not allow this action."}),
            **ACCESS_ERRORS,
        },
    )
    def post(self, request: Request, inapp_campaign_id: int) -> Response:
        campaign = get_object_or_404(InAppCampaign, pk=inapp_campaign_id)
        action = self.parsed(InAppCampaignStatusInput)["action"]
        try:
            campaign = self.ACTIONS[action](campaign=campaign, actor=_actor(request))
        except InAppError as error:
            raise _status_or_invalid(error) from None
        return Response(InAppCampaignOutput(campaign).data)
