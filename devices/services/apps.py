"""Mobile apps: create, update, rotate the SDK secret. Only a keyed hash of the secret is kept;
the plain secret is returned once to the caller, which shows it once."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from PIL import Image, UnidentifiedImageError

from devices.models import MobileApp
from pushmarketing.core.audit import audit_record, fields_apply
from pushmarketing.core.secrets import keyed_hash, random_token

# Apple: alphanumerics, hyphens and periods, reverse-DNS, at least two parts.
IOS_BUNDLE_ID_RE = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
# Java package: dot-separated identifiers, each starting with a letter (Android requires
# at least two segments and ASCII letters, digits and underscores only).
ANDROID_SEGMENT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
JAVA_KEYWORDS = frozenset(
    [
        "abstract",
        "assert",
        "boolean",
        "break",
        "byte",
        "case",
        "catch",
        "char",
        "class",
        "const",
        "continue",
        "default",
        "do",
        "double",
        "else",
        "enum",
        "extends",
        "final",
        "finally",
        "float",
        "for",
        "goto",
        "if",
        "implements",
        "import",
        "instanceof",
        "int",
        "interface",
        "long",
        "native",
        "new",
        "package",
        "private",
        "protected",
        "public",
        "return",
        "short",
        "static",
        "strictfp",
        "super",
        "switch",
        "synchronized",
        "this",
        "throw",
        "throws",
        "transient",
        "try",
        "void",
        "volatile",
        "while",
        "true",
        "false",
        "null",
    ]
)
ICON_MAX_BYTES = 512 * 1024
ICON_MAX_SIDE = 2048
ICON_FORMATS = {"PNG": "png", "JPEG": "jpg"}
SDK_KEY_ATTEMPTS = 5


def ios_bundle_id_problem(value: str) -> str:
    if not value:
        return ""
    if len(value) > 155:
        return gettext("iOS bundle id must be at most 155 characters")
    if not IOS_BUNDLE_ID_RE.match(value):
        return gettext(
            "iOS bundle id must be reverse-DNS (e.g. com.example.app): letters, digits, "
            "hyphens, at least two parts separated by dots"
        )
    return ""


def android_package_problem(value: str) -> str:
    if not value:
        return ""
    if len(value) > 155:
        return gettext("Android package must be at most 155 characters")
    segments = value.split(".")
    if len(segments) < 2:
        return gettext(
            "Android package needs at least two parts separated by dots (e.g. com.example.app)"
        )
    for segment in segments:
        if not ANDROID_SEGMENT_RE.match(segment):
            return gettext(
                'Android package part "%(part)s" must start with a letter and contain only '
                "letters, digits and underscores"
            ) % {"part": segment}
        if segment in JAVA_KEYWORDS:
            return gettext('Android package part "%(part)s" is a Java keyword') % {"part": segment}
    return ""


def app_icon_problem(icon: UploadedFile) -> str:
    if icon.size is not None and icon.size > ICON_MAX_BYTES:
        return gettext("icon must be at most %(limit)s KiB") % {"limit": ICON_MAX_BYTES // 1024}
    try:
        icon.seek(0)
        with Image.open(icon) as image:
            image_format = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return gettext("icon is not a readable PNG or JPEG image")
    finally:
        icon.seek(0)
    if image_format not in ICON_FORMATS:
        return gettext("icon must be PNG or JPEG (got %(format)s)") % {"format": image_format}
    if width > ICON_MAX_SIDE or height > ICON_MAX_SIDE:
        return gettext("icon must be at most %(side)s×%(side)s pixels") % {"side": ICON_MAX_SIDE}
    return ""


def _validate_app(
    *,
    name: str,
    app_type: str,
    ios_bundle_id: str,
    android_package: str,
    icon: UploadedFile | None,
) -> tuple[str, str, str]:
    """Check every field; return (name, ios_bundle_id, android_package) stripped."""
    name, ios_bundle_id, android_package = (
        name.strip(),
        ios_bundle_id.strip(),
        android_package.strip(),
    )
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        if message:
            errors.setdefault(field, []).append(message)

    if not name.strip():
        add("name", gettext("name is required"))
    elif len(name) > 100:
        add("name", gettext("name must be at most 100 characters"))
    if app_type not in MobileApp.AppType.values:
        add(
            "app_type",
            gettext("type must be one of %(types)s")
            % {"types": ", ".join(MobileApp.AppType.values)},
        )
    add("ios_bundle_id", ios_bundle_id_problem(ios_bundle_id))
    add("android_package", android_package_problem(android_package))
    if not ios_bundle_id and not android_package:
        add("ios_bundle_id", gettext("enter an iOS bundle id, an Android package, or both"))
    if icon is not None:
        add("icon", app_icon_problem(icon))
    if errors:
        raise ValidationError(errors)
    return name, ios_bundle_id, android_package


def _new_sdk_key() -> str:
    for _ in range(SDK_KEY_ATTEMPTS):
        key = random_token("pk_", 12)
        if not MobileApp.objects.filter(sdk_key=key).exists():
            return key
    raise RuntimeError("could not generate a unique SDK key")  # 96 random bits: never happens


def _save_icon(app: MobileApp, icon: UploadedFile) -> None:
    icon.seek(0)
    with Image.open(icon) as image:
        extension = ICON_FORMATS[image.format or "PNG"]
    icon.seek(0)
    app.icon.save(f"{app.sdk_key}.{extension}", icon, save=False)


@transaction.atomic
def app_create(
    *,
    name: str,
    app_type: str,
    ios_bundle_id: str,
    android_package: str,
    actor: User | None,
    icon: UploadedFile | None = None,
) -> tuple[MobileApp, str]:
    """Returns the app and its SDK secret, the only time the secret exists in plain text."""
    name, ios_bundle_id, android_package = _validate_app(
        name=name,
        app_type=app_type,
        ios_bundle_id=ios_bundle_id,
        android_package=android_package,
        icon=icon,
    )
    secret = random_token("sk_", 24)
    app = MobileApp(
        name=name,
        app_type=app_type,
        ios_bundle_id=ios_bundle_id,
        android_package=android_package,
        sdk_key=_new_sdk_key(),
        sdk_secret_hash=keyed_hash(secret),
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    if icon is not None:
        _save_icon(app, icon)
    app.save()
    audit_record(
        actor=actor,
        action="app.created",
        target=app,
        summary=f"Mobile app {app.name} created ({app.get_app_type_display()})",
        details={
            "sdk_key": app.sdk_key,
            "ios_bundle_id": ios_bundle_id,
            "android_package": android_package,
        },
    )
    return app, secret


@transaction.atomic
def app_update(
    *,
    app: MobileApp,
    name: str,
    app_type: str,
    ios_bundle_id: str,
    android_package: str,
    actor: User | None,
    icon: UploadedFile | None = None,
    remove_icon: bool = False,
) -> MobileApp:
    name, ios_bundle_id, android_package = _validate_app(
        name=name,
        app_type=app_type,
        ios_bundle_id=ios_bundle_id,
        android_package=android_package,
        icon=icon,
    )
    new_values: dict[str, Any] = {
        "name": name,
        "app_type": app_type,
        "ios_bundle_id": ios_bundle_id,
        "android_package": android_package,
    }
    changes = fields_apply(app, new_values)
    if icon is not None:
        _save_icon(app, icon)
        changes["icon"] = ["", "uploaded"]
    elif remove_icon and app.icon:
        app.icon.delete(save=False)
        changes["icon"] = ["", "removed"]
    app.save(update_fields=[*new_values, "icon"])
    if changes:
        audit_record(
            actor=actor,
            action="app.updated",
            target=app,
            summary=f"Mobile app {app.name} updated: {', '.join(changes)}",
            details={"changes": changes},
        )
    return app


@transaction.atomic
def app_rotate_secret(*, app: MobileApp, actor: User | None) -> str:
    """A new secret; the old one stops working with this commit (only one hash is kept)."""
    secret = random_token("sk_", 24)
    app.sdk_secret_hash = keyed_hash(secret)
    app.sdk_secret_rotated_at = timezone.now()
    app.save(update_fields=["sdk_secret_hash", "sdk_secret_rotated_at"])
    audit_record(
        actor=actor,
        action="app.secret_rotated",
        target=app,
        summary=f"SDK secret of {app.name} rotated; the old secret no longer works",
        details={"sdk_key": app.sdk_key},
    )
    return secret
