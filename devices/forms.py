"""HTML forms: parse the request only. Every rule lives in the services, whose
ValidationErrors are keyed by these field names and shown next to the field."""

from __future__ import annotations

from django import forms

from devices.credentials import MAX_CREDENTIAL_BYTES
from devices.models import Device, DeviceActivity, MobileApp, Platform


class AppForm(forms.Form):
    name = forms.CharField(max_length=100)
    app_type = forms.ChoiceField(
        label="Type",
        choices=MobileApp.AppType.choices,
        help_text="Sandbox apps use the APNs sandbox; production apps the production APNs.",
    )
    ios_bundle_id = forms.CharField(
        label="iOS bundle id",
        max_length=155,
        required=False,
        help_text="Reverse-DNS, e.g. com.example.shop. It is the APNs topic.",
    )
    android_package = forms.CharField(
        label="Android package",
        max_length=155,
        required=False,
        help_text="Java package name, e.g. com.example.shop.",
    )
    icon = forms.FileField(
        required=False, help_text="Optional PNG or JPEG, at most 512 KiB (shown in previews)."
    )


class AppEditForm(AppForm):
    remove_icon = forms.BooleanField(required=False, label="Remove the current icon")


def _read_upload(form: forms.Form, field: str) -> bytes:
    upload = form.cleaned_data[field]
    if upload.size > MAX_CREDENTIAL_BYTES:
        # Do not read an oversize file into memory just to reject it.
        return b"\0" * (MAX_CREDENTIAL_BYTES + 1)
    return upload.read()


class ApnsTokenForm(forms.Form):
    key = forms.FileField(label=".p8 auth key", help_text="The AuthKey_XXXXXXXXXX.p8 file.")
    # Lengths and alphabet are checked by the service, whose message names the rule.
    key_id = forms.CharField(label="Key id", max_length=40)
    team_id = forms.CharField(label="Team id", max_length=40)

    def key_bytes(self) -> bytes:
        return _read_upload(self, "key")


class ApnsCertificateForm(forms.Form):
    certificate = forms.FileField(label=".p12 certificate")
    password = forms.CharField(
        required=False, strip=False, widget=forms.PasswordInput(render_value=False)
    )

    def certificate_bytes(self) -> bytes:
        return _read_upload(self, "certificate")


class FcmServiceAccountForm(forms.Form):
    service_account = forms.FileField(
        label="Service-account JSON",
        help_text="Firebase console → Project settings → Service accounts → Generate new key.",
    )

    def service_account_bytes(self) -> bytes:
        return _read_upload(self, "service_account")


YES_NO = [("", "Any"), ("yes", "Yes"), ("no", "No")]


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class DeviceFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    app = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    platform = forms.ChoiceField(required=False, choices=[("", "Any"), *Platform.choices])
    status = forms.ChoiceField(required=False, choices=[("", "Any"), *Device.Status.choices])
    eligible = forms.ChoiceField(required=False, choices=YES_NO)
    test_device = forms.ChoiceField(required=False, choices=YES_NO, label="Test device")

    def __init__(self, *args: object, app_choices: list[tuple[int, str]], **kwargs: object):
        super().__init__(*args, **kwargs)
        self.fields["app"].choices = [("", "Any"), *app_choices]

    def yes_no(self, field: str) -> bool | None:
        return _yes_no(self.cleaned_data.get(field) or "")


class LeadFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    app = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)

    def __init__(self, *args: object, app_choices: list[tuple[int, str]], **kwargs: object):
        super().__init__(*args, **kwargs)
        self.fields["app"].choices = [("", "Any"), *app_choices]


class ActivityFilterForm(forms.Form):
    kind = forms.ChoiceField(required=False, choices=[("", "All"), *DeviceActivity.Kind.choices])
