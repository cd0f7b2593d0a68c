"""Admin pages: users & roles, the audit log (the add-on switch is pushmarketing.views)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from pushmarketing.core.http import AuthenticatedHttpRequest
from pushmarketing.core.locale import session_language_remember
from pushmarketing.core.models import AuditEntry
from pushmarketing.core.roles import Role
from pushmarketing.core.services import (
    user_create,
    user_deactivate,
    user_reactivate,
    user_set_language,
    user_set_password,
    user_set_roles,
)
from pushmarketing.core.ui import apply_service_errors, role_required, service_error_text

AUDIT_PAGE_SIZE = 50
USER_PAGE_SIZE = 50


class RolesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Role.choices, required=False, **kwargs)


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150, label=_("Username"))
    # Checked by user_create, so one submit reports every problem together.
    email = forms.CharField(
        required=False, max_length=254, widget=forms.EmailInput, label=_("Email")
    )
    password = forms.CharField(strip=False, widget=forms.PasswordInput, label=_("Password"))
    roles = RolesField(label=_("Roles"))


class UserRolesForm(forms.Form):
    roles = RolesField(label=_("Roles"))


class UserPasswordForm(forms.Form):
    password = forms.CharField(
        label=_("New password"), strip=False, widget=forms.PasswordInput(render_value=False)
    )


# --- users ----------------------------------------------------------------------------------


def _users_page(request: HttpRequest) -> Page[User]:
    users = User.objects.order_by("username").prefetch_related(
        Prefetch("groups", queryset=Group.objects.filter(name__in=Role.values))
    )
    return Paginator(users, USER_PAGE_SIZE).get_page(request.GET.get("page"))


@role_required(Role.ADMIN)
def user_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = user_create(
                username=data["username"],
                email=data["email"],
                password=data["password"],
                roles=data["roles"],
                actor=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request, gettext("User %(name)s created.") % {"name": user.get_username()}
            )
            return redirect("user-list")
    status = 400 if form.errors else 200
    return render(
        request,
        "pushmarketing/user_list.html",
        {"form": form, "page": _users_page(request)},
        status=status,
    )


def _user_detail_page(
    request: AuthenticatedHttpRequest,
    target: User,
    *,
    roles_form: forms.Form | None = None,
    password_form: forms.Form | None = None,
) -> HttpResponse:
    if roles_form is None:
        current = sorted(set(target.groups.values_list("name", flat=True)) & set(Role.values))
        roles_form = UserRolesForm(initial={"roles": current})
    recent = AuditEntry.objects.filter(
        target_type=target._meta.label_lower, target_id=str(target.pk)
    )[:20]
    failed = bool(roles_form.errors or (password_form is not None and password_form.errors))
    return render(
        request,
        "pushmarketing/user_detail.html",
        {
            "target": target,
            "form": roles_form,
            "password_form": password_form or UserPasswordForm(),
            "recent": recent,
            "is_self": target.pk == request.user.pk,
        },
        status=400 if failed else 200,
    )


@role_required(Role.ADMIN)
def user_detail(request: AuthenticatedHttpRequest, user_id: int) -> HttpResponse:
    target = get_object_or_404(User, pk=user_id)
    if request.method != "POST":
        return _user_detail_page(request, target)
    form = UserRolesForm(request.POST)
    if form.is_valid():
        try:
            user_set_roles(user=target, roles=form.cleaned_data["roles"], actor=request.user)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request, gettext("Roles of %(name)s saved.") % {"name": target.get_username()}
            )
            return redirect("user-detail", user_id=target.pk)
    return _user_detail_page(request, target, roles_form=form)


@require_POST
@role_required(Role.ADMIN)
def user_password(request: AuthenticatedHttpRequest, user_id: int) -> HttpResponse:
    target = get_object_or_404(User, pk=user_id)
    form = UserPasswordForm(request.POST)
    if form.is_valid():
        try:
            user_set_password(
                user=target, password=form.cleaned_data["password"], actor=request.user
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request, gettext("New password set for %(name)s.") % {"name": target.get_username()}
            )
            return redirect("user-detail", user_id=target.pk)
    return _user_detail_page(request, target, password_form=form)


@require_POST
@role_required(Role.ADMIN)
def user_set_active(request: AuthenticatedHttpRequest, user_id: int) -> HttpResponse:
    target = get_object_or_404(User, pk=user_id)
    try:
        if request.POST.get("active") == "1":
            user_reactivate(user=target, actor=request.user)
            messages.success(
                request, gettext("%(name)s can sign in again.") % {"name": target.get_username()}
            )
        else:
            user_deactivate(user=target, actor=request.user)
            messages.success(
                request, gettext("%(name)s deactivated.") % {"name": target.get_username()}
            )
    except ValidationError as exc:
        messages.error(request, service_error_text(exc))
    return redirect("user-detail", user_id=target.pk)


# --- audit log ------------------------------------------------------------------------------


@role_required(Role.ADMIN)
def audit_log(request: AuthenticatedHttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:100]
    entries = AuditEntry.objects.order_by("-created_at", "-id")
    if q:
        entries = entries.filter(
            Q(action__icontains=q) | Q(actor_label__icontains=q) | Q(summary__icontains=q)
        )
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "pushmarketing/audit_log.html", {"page": page, "q": q})


# --- the language picker (every user, in the menu) -------------------------------------------


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("Browser default")), *settings.LANGUAGES],
        required=False,
        error_messages={
            "invalid_choice": _("Language: choose one of the listed languages or the default.")
        },
    )


@login_required
@require_POST
def language_set(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = LanguageForm(request.POST)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = ""
    if not form.is_valid():
        messages.error(request, " ".join(str(error) for error in form.errors["language"]))
        return redirect(back or "home")
    language = form.cleaned_data["language"]
    user_set_language(user=request.user, language=language, actor=request.user)
    session_language_remember(request, language)
    # The confirmation is in the language just chosen, as the next page will be.
    with translation.override(language or translation.get_language_from_request(request)):
        messages.success(request, gettext("Language saved."))
    return redirect(back or "home")
