"""The lead fields personalization tokens can name, Marketo-style: `{{lead.First Name}}`."""

from __future__ import annotations

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
    values = {name: str(getattr(lead, attr) or "") for name, attr in STANDARD_LEAD_FIELDS.items()}
    for key, value in (lead.custom_fields or {}).items():
        values.setdefault(str(key), "" if value is None else str(value))
    return values
