from __future__ import annotations

import pytest

from devices.lead_fields import lead_token_values
from devices.selectors import leads_token_values
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_token_values_of_many_leads_in_one_query_equal_each_lead_s(django_assert_num_queries):
    ada = LeadFactory(
        first_name="Ada", city="",
        custom_fields={"Tier": "gold", "Points": 12, "Gone": None, "City": "custom never wins"},
    )  # fmt: skip
    bob = LeadFactory(first_name="Bob", custom_fields={})

    with django_assert_num_queries(1):
        values = leads_token_values(lead_ids=[ada.pk, bob.pk, ada.pk])

    assert values == {ada.pk: lead_token_values(ada), bob.pk: lead_token_values(bob)}
    assert values[ada.pk]["First Name"] == "Ada"
    assert values[ada.pk]["City"] == ""
    assert (values[ada.pk]["Points"], values[ada.pk]["Gone"]) == ("12", "")


def test_custom_fields_are_left_unread_when_only_standard_tokens_are_wanted():
    ada = LeadFactory(first_name="Ada", custom_fields={"Tier": "gold"})

    values = leads_token_values(lead_ids=[ada.pk], names={"First Name"})
    both = leads_token_values(lead_ids=[ada.pk], names={"First Name", "Tier"})

    assert values[ada.pk]["First Name"] == "Ada" and "Tier" not in values[ada.pk]
    assert both[ada.pk]["Tier"] == "gold"
