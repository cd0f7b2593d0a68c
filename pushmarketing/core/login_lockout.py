"""UI sign-in lockout (django-axes, configured in settings): after AXES_FAILURE_LIMIT wrong
passwords for one username from one address, sign-in is refused for a cool-off that doubles
with each further lockout in a day; every lockout is written to the audit log."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from axes.helpers import get_client_username
from axes.models import AccessFailureLog
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from pushmarketing.core.audit import audit_record
from pushmarketing.core.models import AuditEntry

logger = logging.getLogger(__name__)

FIRST_COOLOFF = timedelta(minutes=1)
MAX_COOLOFF = timedelta(hours=24)
BACKOFF_MEMORY = timedelta(hours=24)
LOCKOUT_ACTION = "auth.login_locked_out"


def login_cooloff(request: HttpRequest | None) -> timedelta:
    """1 minute for the first lockout, doubling with each lockout of the same username from
    the same address in the past day (5 wrong passwords a lockout: 1, 2, 4 … minutes), at
    most a day. Axes calls this on every sign-in, so it is one indexed count."""
    if request is None:
        return FIRST_COOLOFF
    # The credentials when axes has them, else the form's username field (axes checks a
    # lockout before authenticating, when only the form has it).
    username = get_client_username(request, getattr(request, "axes_credentials", None))
    address = getattr(request, "axes_ip_address", None)
    if not username or not address:
        return FIRST_COOLOFF
    failures = AccessFailureLog.objects.filter(
        username=username,
        ip_address=address,
        attempt_time__gte=timezone.now() - BACKOFF_MEMORY,
    ).count()
    lockouts = max(1, failures // settings.AXES_FAILURE_LIMIT)
    return min(FIRST_COOLOFF * 2 ** min(lockouts - 1, 11), MAX_COOLOFF)


def _minutes(delta: timedelta) -> str:
    minutes = max(1, round(delta.total_seconds() / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def login_locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The sign-in page again, saying why and for how long (429)."""
    message = (
        "Too many failed sign-ins for this username from your address. "
        f"Try again in {_minutes(login_cooloff(request))}, or ask an admin to reset your password."
    )
    context = {"form": AuthenticationForm(request), "lockout_message": message}
    return render(request, "auth/login.html", context, status=429)


def login_lockout_audit(
    sender: object, request: HttpRequest, username: str | None, ip_address: str | None, **_: Any
) -> None:
    """axes' user_locked_out signal: one audit entry per lockout (no password, of course)."""
    cooloff = login_cooloff(request)
    # axes signals again for each attempt refused while locked: the lockout was audited when
    # it began, within this cool-off (each lockout's is longer than the one before).
    audited = AuditEntry.objects.filter(
        action=LOCKOUT_ACTION,
        created_at__gte=timezone.now() - cooloff,
        details__cooloff_seconds=int(cooloff.total_seconds()),
        details__username=username or "",
        details__ip_address=ip_address or "",
    )
    if audited.exists():
        return
    logger.warning("login: %s locked out from %s for %s", username, ip_address, cooloff)
    audit_record(
        actor=None,
        action=LOCKOUT_ACTION,
        summary=f"Sign-in locked for {username} from {ip_address} for {_minutes(cooloff)}",
        details={
            "username": username or "",
            "ip_address": ip_address or "",
            "cooloff_seconds": int(cooloff.total_seconds()),
        },
    )
