"""The SDK inputs' shallow field copies: each call gets its own bound fields."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from devices.api_serializers import FlatInput, RegisterInput


def test_each_input_binds_its_own_copies_of_the_declared_fields():
    first, second = RegisterInput(data={}), RegisterInput(data={})
    assert first.fields["platform"] is not second.fields["platform"]
    assert first.fields["platform"].parent is first
    assert second.fields["platform"].parent is second
    assert RegisterInput._declared_fields["platform"].parent is None  # the class's stay unbound


def test_two_calls_validate_independently():
    ok = RegisterInput(data={"installation_id": "a-1", "platform": "ios"})
    bad = RegisterInput(data={"installation_id": "a 1", "platform": "symbian"})
    assert ok.is_valid(), ok.errors
    assert not bad.is_valid()
    assert set(bad.errors) == {"installation_id", "platform"}
    assert ok.validated_data["installation_id"] == "a-1"


def test_a_flat_input_refuses_nested_fields():
    with pytest.raises(TypeError, match="nested fields"):

        class Nested(FlatInput):
            ids = serializers.ListField(child=serializers.IntegerField())
