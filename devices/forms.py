"""HTML forms: parse the request only. Every rule lives in the services, whose
ValidationErrors are keyed by these field names and shown next to the field."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from devices.credentials import (
    MAX_CREDENTIAL_BYTES,
    apns_key_id_filename_problem,
    credential_too_large_message,
)
from devices.models import LEAD_STANDARD_FIELDS, Device, DeviceActivity, MobileApp, Platform


class AppForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Name"))
    app_type = forms.ChoiceField(
        label=_("Type"),
        choices=MobileApp.AppType.choices,
        help_text=_("Sandbox apps use the APNs sandbox; production apps the production APNs."),
    )
    ios_bundle_id = forms.CharField(
        label=_("iOS bundle id"),
        max_length=155,
        required=False,
        help_text=_("Reverse-DNS, e.g. com.example.shop. It is the APNs topic."),
    )
    android_package = forms.CharField(
        label=_("Android package"),
        max_length=155,
        required=False,
        help_text=_("Java package name, e.g. com.example.shop."),
    )
    icon = forms.FileField(
        required=False,
        help_text=_("Optional PNG or JPEG, at most 512 KiB (shown in previews)."),
        label=_("Icon"),
    )


class AppEditForm(AppForm):
    remove_icon = forms.BooleanField(required=False, label=_("Remove the current icon"))


class AppIdentityForm(forms.Form):
    identity_verification_required = forms.BooleanField(
        required=False,
        label=_("Require identity verification"),
        help_text=_("Logins without a valid identity_signature from your backend get 401."),
    )
    sdk_writable_lead_fields = forms.MultipleChoiceField(
        required=False,
        label=_("Lead fields the SDK may write"),
        choices=[(name, name.replace("_", " ").capitalize()) for name in LEAD_STANDARD_FIELDS],
        widget=forms.CheckboxSelectMultiple,
    )
    sdk_writable_custom_fields = forms.CharField(
        required=False,
        label=_("Custom fields the SDK may write"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One name per line or comma-separated; any other custom field gets 400."),
    )

    @staticmethod
    def initial_for(app: MobileApp) -> dict[str, Any]:
        return {
            "identity_verification_required": app.identity_verification_required,
            "sdk_writable_lead_fields": app.sdk_writable_lead_fields,
            "sdk_writable_custom_fields": "\n".join(app.sdk_writable_custom_fields),
        }

    def custom_field_names(self) -> list[str]:
        text: str = self.cleaned_data["sdk_writable_custom_fields"]
        return [name for line in text.splitlines() for name in line.split(",")]


class CredentialFileField(forms.FileField):
    """Refuses an oversize file by its declared size, before reading it into memory."""

    def __init__(self, *, what: str, **kwargs: Any) -> None:
        self.what = what
        super().__init__(**kwargs)

    def clean(self, data: object, initial: object = None) -> object:
        upload = super().clean(data, initial)
        if upload is not None and upload.size > MAX_CREDENTIAL_BYTES:
            raise forms.ValidationError(credential_too_large_message(self.what, upload.size))
        return upload


def _read_upload(form: forms.Form, field: str) -> bytes:
    return form.cleaned_data[field].read()


class ApnsTokenForm(forms.Form):
    key = CredentialFileField(
        what=".p8 key file", label=_(".p8 auth key"), help_text=_("The AuthKey_XXXXXXXXXX.p8 file.")
    )
    # Lengths and alphabet are checked by the service, whose message names the rule.
    key_id = forms.CharField(label=_("Key id"), max_length=40)
    team_id = forms.CharField(label=_("Team id"), max_length=40)

    def clean(self) -> dict[str, Any]:
        super().clean()
        # Only the form sees the file's name, which Apple sets to AuthKey_<key id>.p8.
        upload, key_id = self.cleaned_data.get("key"), self.cleaned_data.get("key_id") or ""
        name = upload.name or "" if upload is not None else ""
        if problem := apns_key_id_filename_problem(name, key_id):
            self.add_error("key_id", problem)
        return self.cleaned_data

    def key_bytes(self) -> bytes:
        return _read_upload(self, "key")


class ApnsCertificateForm(forms.Form):
    certificate = CredentialFileField(what=".p12 file", label=_(".p12 certificate"))
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        label=_("Password"),
    )

    def certificate_bytes(self) -> bytes:
        return _read_upload(self, "certificate")


class FcmServiceAccountForm(forms.Form):
    service_account = CredentialFileField(
        what="service-account file",
        label=_("Service-account JSON"),
        help_text=_("Firebase console → Project settings → Service accounts → Generate new key."),
    )

    def service_account_bytes(self) -> bytes:
        return _read_upload(self, "service_account")


YES_NO = [("", "Any"), ("yes", "Yes"), ("no", "No")]


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class DeviceFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        label=_("Search"),
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "install id, token prefix, email"}),
    )
    app = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label=_("App"))
    platform = forms.ChoiceField(
        required=False, choices=[("", _("Any")), *Platform.choices], label=_("Platform")
    )
    status = forms.ChoiceField(
        required=False, choices=[("", _("Any")), *Device.Status.choices], label=_("Status")
    )
    eligible = forms.ChoiceField(required=False, choices=YES_NO, label=_("Eligible"))
    test_device = forms.ChoiceField(required=False, choices=YES_NO, label=_("Test device"))

    def __init__(self, *args: Any, app_choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.TypedChoiceField, self.fields["app"]).choices = [("", "Any"), *app_choices]

    def yes_no(self, field: str) -> bool | None:
        return _yes_no(self.cleaned_data.get(field) or "")


class LeadFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        label=_("Search"),
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "Email or name", "aria-label": "Search"}),
    )
    app = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label=_("App"))

    def __init__(self, *args: Any, app_choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.TypedChoiceField, self.fields["app"]).choices = [("", "Any"), *app_choices]


class ActivityFilterForm(forms.Form):
    kind = forms.ChoiceField(
        required=False, choices=[("", _("All")), *DeviceActivity.Kind.choices], label=_("Kind")
    )
    since = forms.DateField(
        required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("must be on or after the From date"))
        return cleaned

    def filters(self) -> dict[str, Any]:
        """Keyword filters for activity_list; an invalid form filters nothing."""
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {"kind": data["kind"], "since": data["since"], "until": data["until"]}
