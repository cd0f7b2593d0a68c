"""The in-app management API's request and answer shapes (inapp.management_api): nested
inputs that say exactly what a message and a campaign accept (the services check the rules
again and name the field), and the outputs the schema documents. Names carry an InApp prefix:
OpenAPI components share one namespace with the push campaigns' serializers."""

from __future__ import annotations

from rest_framework import serializers

from inapp.models import InAppCampaign, InAppMessage, Layout, TapAction
from inapp.services import campaigns as campaign_services
from pushmarketing.core.api_input import Int64Field, StrictCharField, StrictInput


class InAppTapActionInput(StrictInput):
    action = serializers.ChoiceField(choices=TapAction.values)
    uri = StrictCharField(required=False, allow_blank=True, max_length=2000)


class InAppPerPlatformInput(StrictInput):
    ios = InAppTapActionInput(required=False)
    android = InAppTapActionInput(required=False)


class InAppButtonInput(InAppPerPlatformInput):
    # A declared field named like Field.label: DRF's metaclass moves it into `fields`, so the
    # attribute never shadows the serializer's own label at run time.
    label = StrictCharField(max_length=25, help_text="Tokens allowed.")  # type: ignore[assignment]


class InAppTapActionsInput(StrictInput):
    text = InAppPerPlatformInput(required=False)
    image = InAppPerPlatformInput(required=False)
    background = InAppPerPlatformInput(required=False)


class InAppMessageInput(StrictInput):
    name = StrictCharField(required=False, max_length=120)
    layout = serializers.ChoiceField(choices=Layout.values, required=False)
    title = StrictCharField(required=False, allow_blank=True, max_length=200)
    body = StrictCharField(required=False, allow_blank=True, max_length=1000)
    image = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="The storage name of an image uploaded through the composer; '' removes it.",
    )
    buttons = InAppButtonInput(many=True, required=False)
    tap_actions = InAppTapActionsInput(required=False)
    background_color = StrictCharField(required=False, max_length=7)
    text_color = StrictCharField(required=False, max_length=7)
    button_color = StrictCharField(required=False, max_length=7)
    button_text_color = StrictCharField(required=False, max_length=7)
    close_button = serializers.BooleanField(required=False)


class InAppMessageCreateInput(InAppMessageInput):
    app = Int64Field(min_value=1, help_text="The mobile app's id.")


class InAppCampaignInput(StrictInput):
    name = StrictCharField(required=False, max_length=120)
    message = Int64Field(required=False, min_value=1, help_text="An in-app message's id.")
    audience = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        max_length=30,
        help_text="Filter rows as for push campaigns, e.g. "
        '{"field": "platform", "op": "is", "value": "ios", "negate": false}.',
    )
    starts_at = serializers.DateTimeField(required=False, allow_null=True)
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    trigger = serializers.ChoiceField(choices=InAppCampaign.Trigger.values, required=False)
    trigger_action_name = StrictCharField(required=False, allow_blank=True, max_length=19)
    display_limit = serializers.ChoiceField(
        choices=InAppCampaign.DisplayLimit.values, required=False
    )
    priority = serializers.IntegerField(required=False, min_value=1, max_value=10)
    frequency_cap_count = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=100
    )
    frequency_cap_hours = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=720
    )


class InAppCampaignCreateInput(InAppCampaignInput):
    app = Int64Field(min_value=1, help_text="The mobile app's id.")
    name = StrictCharField(max_length=120)
    message = Int64Field(min_value=1, help_text="An in-app message's id.")


class InAppCampaignStatusInput(StrictInput):
    action = serializers.ChoiceField(
        choices=[a.value for a in campaign_services.Action if a != "edit"]
    )


class InAppMessageRecordOutput(serializers.ModelSerializer):
    status = serializers.CharField(help_text=" | ".join(InAppMessage.Status.values))
    layout = serializers.CharField(help_text=" | ".join(Layout.values))
    image = serializers.SerializerMethodField()

    class Meta:
        model = InAppMessage
        fields = [
            "id",
            "app",
            "name",
            "status",
            "layout",
            "title",
            "body",
            "image",
            "buttons",
            "tap_actions",
            "background_color",
            "text_color",
            "button_color",
            "button_text_color",
            "close_button",
            "approved_content",
            "approved_at",
            "created_at",
            "updated_at",
        ]

    def get_image(self, message: InAppMessage) -> str:
        return message.image.name or ""


class InAppCampaignOutput(serializers.ModelSerializer):
    status = serializers.CharField(help_text=" | ".join(InAppCampaign.Status.values))
    trigger = serializers.CharField(help_text=" | ".join(InAppCampaign.Trigger.values))
    display_limit = serializers.CharField(help_text=" | ".join(InAppCampaign.DisplayLimit.values))

    class Meta:
        model = InAppCampaign
        fields = [
            "id",
            "app",
            "name",
            "message",
            "status",
            "audience",
            "starts_at",
            "ends_at",
            "trigger",
            "trigger_action_name",
            "display_limit",
            "priority",
            "frequency_cap_count",
            "frequency_cap_hours",
            "approved_at",
            "stopped_at",
            "created_at",
            "updated_at",
        ]


class InAppPlatformFiguresOutput(serializers.Serializer):
    eligible_devices = serializers.IntegerField()
    impressions = serializers.IntegerField()
    unique_viewers = serializers.IntegerField()
    taps = serializers.IntegerField()
    unique_tappers = serializers.IntegerField()
    dismissals = serializers.IntegerField()
    taps_by_target = serializers.DictField(child=serializers.IntegerField())
    tap_through_rate_percent = serializers.FloatField(allow_null=True)


class InAppDailyOutput(serializers.Serializer):
    day = serializers.DateField()
    impressions = serializers.IntegerField()
    taps = serializers.IntegerField()
    dismissals = serializers.IntegerField()


class InAppFiguresOutput(serializers.Serializer):
    ios = InAppPlatformFiguresOutput()
    android = InAppPlatformFiguresOutput()
    all = InAppPlatformFiguresOutput()
    daily = InAppDailyOutput(many=True)


class InAppCampaignDetailOutput(InAppCampaignOutput):
    figures = InAppFiguresOutput(read_only=True)

    class Meta(InAppCampaignOutput.Meta):
        fields = [*InAppCampaignOutput.Meta.fields, "figures"]


class InAppAppFilter(serializers.Serializer):
    app = Int64Field(required=False, min_value=1, help_text="Only this app's.")
