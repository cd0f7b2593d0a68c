from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_lead_field_cache() -> None:
    # lead_token_field_names() caches custom field keys for a minute; tests create leads.
    cache.delete("notifications:lead-token-fields")
