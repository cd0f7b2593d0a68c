"""The overview panel on the home page; its numbers come from one selector."""

from __future__ import annotations

from typing import Any

from django import template

from devices.selectors.browse import overview_counts

register = template.Library()


@register.inclusion_tag("pushmarketing/_overview.html", takes_context=True)
def overview_panel(context: template.Context) -> dict[str, Any]:
    return {
        "counts": overview_counts(),
        "addon_enabled": context.get("addon_enabled"),
        "is_admin": context.get("is_admin"),
        "is_marketer": context.get("is_marketer"),
        "is_approver": context.get("is_approver"),
        "nav_links": context.get("nav_links", []),
    }
