"""Management API for pushes (/api/v1/notifications/…): read one push with its translations,
and write or remove one translation. Admins and marketers; 403 while the add-on is off.

Writes go through the same services as the composer, so a translation follows the same rules
and changing one of an approved push makes it "approved with draft changes" until approved
again (campaigns keep sending the approved copy)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import services
from notifications.content import TRANSLATIONS_KEY
from notifications.images import MAX_IMAGE_BYTES, image_absolute_url
from notifications.locales import LOCALE_CODE_RULE, locale_code_error, locale_normalize
from notifications.models import PushNotification, PushTranslation
from pushmarketing.core.api_errors import error_responses
from pushmarketing.core.api_input import StrictCharField, StrictInput
from pushmarketing.core.api_parsers import (
    RequestTooLarge,
    body_byte_limit,
    request_too_large_message,
)
from pushmarketing.core.management_api import ACCESS_ERRORS, MANAGEMENT_TAG, ManagementAccess

NOTIFICATION_NOT_FOUND = error_responses({404: "No such push."})
TRANSLATION_NOT_FOUND = error_responses(
    {404: "No such push, or it has no translation for this locale."}
)


class TranslationOutput(serializers.Serializer):
    locale = serializers.CharField(help_text="Normalised: fr or fr_CA.")
    title = serializers.CharField()
    subtitle = serializers.CharField()
    message = serializers.CharField()
    image_url = serializers.CharField(help_text="Empty: the push's own image is used.")
    tap_uri = serializers.CharField(help_text="Empty: the push's own link is used.")
    updated_at = serializers.DateTimeField()


def _translation_data(translation: PushTranslation) -> dict[str, Any]:
    return {
        "locale": translation.locale,
        "title": translation.title,
        "subtitle": translation.subtitle,
        "message": translation.message,
        "image_url": image_absolute_url(translation.image.name or ""),
        "tap_uri": translation.tap_uri,
        "updated_at": translation.updated_at,
    }


class NotificationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    app = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField(help_text=" | ".join(PushNotification.Status.values))
    title = serializers.CharField()
    subtitle = serializers.CharField()
    message = serializers.CharField()
    tap_action = serializers.CharField(help_text=" | ".join(PushNotification.TapAction.values))
    tap_uri = serializers.CharField()
    translations = TranslationOutput(many=True, help_text="The working copy's translations.")
    approved_locales = serializers.ListField(
        child=serializers.CharField(),
        allow_null=True,
        help_text="The translations campaigns send (frozen at approval); null if never approved.",
    )
    updated_at = serializers.DateTimeField()


class _NotificationApi(ManagementAccess, APIView):
    """Push endpoints that answer one object each: no pagination or filters."""


class NotificationDetailApi(_NotificationApi):
    @extend_schema(
        tags=MANAGEMENT_TAG,
        operation_id="notifications_retrieve",
        summary="A push with its translations",
        responses={200: NotificationOutput, **NOTIFICATION_NOT_FOUND, **ACCESS_ERRORS},
    )
    def get(self, request: Request, notification_id: int) -> Response:
        push = get_object_or_404(PushNotification, pk=notification_id)
        approved = push.approved_content
        return Response(
            {
                "id": push.pk,
                "app": push.app_id,
                "name": push.name,
                "status": push.status,
                "title": push.title,
                "subtitle": push.subtitle,
                "message": push.message,
                "tap_action": push.tap_action,
                "tap_uri": push.tap_uri,
                "translations": [_translation_data(t) for t in push.translations.all()],
                "approved_locales": None
                if approved is None
                else sorted(approved.get(TRANSLATIONS_KEY, {})),
                "updated_at": push.updated_at,
            }
        )


def _locale_or_404(locale: str) -> str:
    if locale_code_error(locale):
        raise Http404("No translation for this locale.")
    return locale_normalize(locale)


class TranslationInput(StrictInput):
    title = StrictCharField(required=False, allow_blank=True, max_length=200, default="")
    subtitle = StrictCharField(required=False, allow_blank=True, max_length=200, default="")
    message = StrictCharField(max_length=100_000, help_text="Tokens allowed, as in the push.")
    tap_uri = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        default="",
        help_text="Empty: the push's own link. Shaped for the push's tap action.",
    )


def _service_fields(error: DjangoValidationError) -> dict[str, list[str]]:
    """The service's `translations.<code>.<field>` keys as the body's field names."""
    return {key.rsplit(".", 1)[-1]: list(messages) for key, messages in error.message_dict.items()}


class TranslationDetailApi(_NotificationApi):
    @extend_schema(
        tags=MANAGEMENT_TAG,
        operation_id="notifications_translations_retrieve",
        summary="One translation of a push",
        responses={200: TranslationOutput, **TRANSLATION_NOT_FOUND, **ACCESS_ERRORS},
    )
    def get(self, request: Request, notification_id: int, locale: str) -> Response:
        translation = get_object_or_404(
            PushTranslation, notification_id=notification_id, locale=_locale_or_404(locale)
        )
        return Response(_translation_data(translation))

    @extend_schema(
        tags=MANAGEMENT_TAG,
        operation_id="notifications_translations_put",
        summary="Create or replace one translation of a push",
        description="The locale in the path is a language (fr) or a language and region "
        "(fr_CA or fr-CA; stored as fr_CA). Devices get the translation of their locale, else "
        "of their language, else the push's own content. The image is kept by this call (set "
        "it with PUT …/image). Changing a translation of an approved push leaves it approved "
        "with draft changes: campaigns send the approved copy until it is approved again.",
        request=TranslationInput,
        examples=[
            OpenApiExample(
                "French",
                value={"title": "Soldes", "message": "Bonjour {{lead.First Name:default=toi}}"},
                request_only=True,
            )
        ],
        responses={
            200: TranslationOutput,
            201: TranslationOutput,
            **error_responses(
                {
                    400: "Invalid body or locale: error.fields names each field and the rule.",
                    404: "No such push.",
                    413: "Body larger than the upload limit.",
                    415: "The body is not application/json.",
                }
            ),
            **ACCESS_ERRORS,
        },
    )
    def put(self, request: Request, notification_id: int, locale: str) -> Response:
        push = get_object_or_404(PushNotification, pk=notification_id)
        if locale_code_error(locale):
            raise ValidationError({"locale": [str(LOCALE_CODE_RULE)]})
        data = TranslationInput(data=request.data)
        data.is_valid(raise_exception=True)
        current = push.translations.filter(locale=locale_normalize(locale)).first()
        fields = {**data.validated_data, "image": current.image.name if current else ""}
        try:
            translation, created = services.notification_translation_put(
                notification=push,
                # ManagementAccess lets only signed-in users through (IsAuthenticated).
                actor=request.user if isinstance(request.user, User) else None,
                locale=locale,
                fields=fields,
            )
        except DjangoValidationError as error:
            raise ValidationError(_service_fields(error)) from None
        return Response(
            _translation_data(translation),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        tags=MANAGEMENT_TAG,
        operation_id="notifications_translations_destroy",
        summary="Remove one translation of a push",
        description="Answers the translation as it was. Devices of that language then get the "
        "push's own content (or their language's translation, for a regional one).",
        responses={200: TranslationOutput, **TRANSLATION_NOT_FOUND, **ACCESS_ERRORS},
    )
    def delete(self, request: Request, notification_id: int, locale: str) -> Response:
        translation = get_object_or_404(
            PushTranslation, notification_id=notification_id, locale=_locale_or_404(locale)
        )
        removed = _translation_data(translation)
        services.notification_translation_delete(
            notification=translation.notification,
            actor=request.user if isinstance(request.user, User) else None,
            locale=translation.locale,
        )
        return Response(removed)


IMAGE_MEDIA_TYPES = ("image/png", "image/jpeg", "image/gif")


class ImageBodyParser(BaseParser):
    """An image sent as the whole request body, at most the view's body cap. The bytes are
    checked by the same rules as the composer's upload (notifications.images)."""

    media_type = "image/*"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = body_byte_limit((parser_context or {}).get("view"))
        # One byte past the limit: a body sent without an honest length is caught too.
        body = stream.read(limit + 1) if limit else stream.read()
        if limit and len(body) > limit:
            raise RequestTooLarge(request_too_large_message(limit))
        return body


class TranslationImageApi(_NotificationApi):
    parser_classes = [ImageBodyParser]
    # The composer's limit, not Django's 2 MiB for other bodies: an image the composer takes
    # must not be refused here.
    max_body_bytes = MAX_IMAGE_BYTES

    def _translation(self, notification_id: int, locale: str) -> PushTranslation:
        return get_object_or_404(
            PushTranslation.objects.select_related("notification"),
            notification_id=notification_id,
            locale=_locale_or_404(locale),
        )

    def _set(self, translation: PushTranslation, image: bytes | None) -> PushTranslation:
        try:
            return services.notification_translation_image_set(
                notification=translation.notification,
                actor=self.request.user if isinstance(self.request.user, User) else None,
                locale=translation.locale,
                image=image,
            )
        except DjangoValidationError as error:
            if hasattr(error, "error_dict"):  # another field's rule (the push changed since)
                raise ValidationError(_service_fields(error)) from None
            raise ValidationError({"image": error.messages}) from None

    @extend_schema(
        tags=MANAGEMENT_TAG,
        operation_id="notifications_translations_image_put",
        summary="Give one translation its own image",
        description="The body is the image file itself (PNG, JPEG or GIF, with its Content-Type), "
        "checked and cleaned as an upload in the composer: at most 1024 pixels a side after "
        "scaling, no metadata kept. At most 5 MB, as in the composer (413 above it). "
        "The translation must exist; its texts stay. Devices of that language get this image "
        "instead of the push's own. An approved push is left approved with draft changes.",
        request={media_type: OpenApiTypes.BINARY for media_type in IMAGE_MEDIA_TYPES},
        responses={
            200: TranslationOutput,
            **error_responses(
                {
                    400: "Not a usable image, or an empty body: error.fields.image names the rule.",
                    404: "No such push, or it has no translation for this locale.",
                    413: "Body larger than 5 MB, the composer's limit for images.",
                    415: "The body is not a PNG, JPEG or GIF Content-Type.",
                }
            ),
            **ACCESS_ERRORS,
        },
    )
    def put(self, request: Request, notification_id: int, locale: str) -> Response:
        translation = self._translation(notification_id, locale)
        body = request.data
        if not isinstance(body, bytes) or not body:
            raise ValidationError(
                {"image": ["Send the image file itself as the body (PNG, JPEG or GIF)."]}
            )
        return Response(_translation_data(self._set(translation, body)))

    @extend_schema(
        tags=MANAGEMENT_TAG,
        operation_id="notifications_translations_image_destroy",
        summary="Remove one translation's own image",
        description="Devices of that language then get the push's own image. Answers the "
        "translation as it is now.",
        responses={200: TranslationOutput, **TRANSLATION_NOT_FOUND, **ACCESS_ERRORS},
    )
    def delete(self, request: Request, notification_id: int, locale: str) -> Response:
        translation = self._translation(notification_id, locale)
        return Response(_translation_data(self._set(translation, None)))
