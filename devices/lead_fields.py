"""The lead fields personalization tokens can name, Marketo-style: `{{lead.First Name}}`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Token name -> Lead attribute. Custom fields are addressed by their key in custom_fields.
STANDARD_LEAD_FIELDS: dict[str, str] = {
    "Email Address": "email",
    "First Name": "first_name",
    "Last Name": "last_name",
    "Phone Number": "phone",
    "Company Name": "company",
    "City": "city",
    "Country": "country",
}


def lead_token_values(lead: Any | None) -> dict[str, str]:
    """Every token name with its value for one lead ({} for no lead)."""
    if lead is None:
        return {}
    standard = [getattr(lead, attr) for attr in STANDARD_LEAD_FIELDS.values()]
    return token_values(standard, lead.custom_fields)


def token_values(
    standard: Sequence[Any], custom_fields: Mapping[str, Any] | None
) -> dict[str, str]:
    """Every token name with its value, from a lead's STANDARD_LEAD_FIELDS values (in that
    order) and its custom fields; a custom field never hides a standard one."""
    values = {
        name: str(value or "") for name, value in zip(STANDARD_LEAD_FIELDS, standard, strict=True)
    }
    for key, value in (custom_fields or {}).items():
        values.setdefault(str(key), "" if value is None else str(value))
    return values
