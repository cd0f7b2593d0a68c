from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from devices import api_serializers as io
from pushmarketing.core.api_input import Int64Field, StrictCharField, StrictRegexField
from pushmarketing.core.api_plain import plain_validated

REGISTER_BODY = {
    "installation_id": "6f9619ff-8b86-d011-b42d-00cf4fc964ff",
    "platform": "ios",
    "push_token": "a" * 64,
    "push_enabled": True,
    "locale": "en_US",
    "time_zone": "America/New_York",
    "app_version": "3.2.0",
    "os_version": "18.1",
    "device_model": "iPhone16,2",
}

# Values that are valid for some field of the SDK inputs, and near misses of them: the
# hypothesis bodies mix them with arbitrary JSON scalars.
PLAUSIBLE = [
    *REGISTER_BODY.values(),
    "android",
    "b" * 152,
    "fr",
    "pt-BR",
    "Europe/Paris",
    "Mars/Olympus",
    "en_US ",
    " ios",
    "",
    "   ",
    "a\x00b",
    "x\ud800y",
    "A" * 65,
    "ABCDEF" * 11,
    "push_token",
    "ñandú",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=70),
    st.sampled_from(PLAUSIBLE),
)


def _bodies(serializer_class: type[serializers.Serializer]) -> st.SearchStrategy[Any]:
    names = list(serializer_class._declared_fields)  # type: ignore[attr-defined]
    known = st.dictionaries(st.sampled_from(names), SCALARS, max_size=len(names))
    # Most bodies are the valid example with a few keys changed, dropped or added, so the
    # plain path is exercised on near-valid input, not only on noise.
    base = {k: v for k, v in REGISTER_BODY.items() if k in names}
    edited = st.builds(
        lambda changes, dropped, extra: {
            **{k: v for k, v in base.items() if k not in dropped},
            **changes,
            **extra,
        },
        known,
        st.sets(st.sampled_from(names)),
        st.dictionaries(st.sampled_from(["pushtoken", "extra"]), SCALARS, max_size=1),
    )
    return st.one_of(edited, known, st.lists(st.integers(), max_size=2), st.text(max_size=5))


def _drf(serializer_class: type[serializers.Serializer], body: Any) -> dict[str, Any] | None:
    serializer = serializer_class(data=body)
    return dict(serializer.validated_data) if serializer.is_valid() else None


@pytest.mark.parametrize("serializer_class", [io.RegisterInput, io.TokenInput, io.PairInput])
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_body_the_plain_path_accepts_drf_accepts_with_the_same_values(
    serializer_class: type[serializers.Serializer], data: st.DataObject
) -> None:
    body = data.draw(_bodies(serializer_class))
    plain = plain_validated(serializer_class, body)
    if plain is not None:
        assert plain == _drf(serializer_class, body)


def test_a_plainly_valid_register_body_takes_the_plain_path() -> None:
    assert plain_validated(io.RegisterInput, REGISTER_BODY) == _drf(io.RegisterInput, REGISTER_BODY)
    without_optional = {"installation_id": "abc", "platform": "android"}
    assert plain_validated(io.RegisterInput, without_optional) == {
        "installation_id": "abc",
        "platform": "android",
        "push_enabled": True,
    }


@pytest.mark.parametrize(
    "change",
    [
        {"push_token": "a" * 63},  # serializer-level validate(): odd-length APNs token
        {"locale": "english please"},  # validate_locale
        {"time_zone": "Mars/Olympus"},  # validate_time_zone
        {"platform": "windows"},
        {"push_enabled": "true"},  # DRF would coerce it; the plain path leaves that to DRF
        {"app_version": " 3.2.0"},  # DRF would trim it
        {"app_version": 3},  # StrictCharField refuses it, with its own message
        {"installation_id": "no spaces allowed"},
        {"pushtoken": "a" * 64},  # an undeclared key: DRF names it
    ],
)
def test_anything_unusual_is_left_to_the_serializer(change: dict[str, Any]) -> None:
    assert plain_validated(io.RegisterInput, {**REGISTER_BODY, **change}) is None


def test_a_missing_required_field_is_left_to_the_serializer() -> None:
    body = {k: v for k, v in REGISTER_BODY.items() if k != "platform"}
    assert plain_validated(io.RegisterInput, body) is None


class _Mixed(serializers.Serializer):
    name = StrictCharField(max_length=5, allow_null=True)
    code = StrictRegexField(r"^[a-z]+$", required=False)
    count = Int64Field(min_value=0, max_value=10, required=False)


class _Nested(serializers.Serializer):
    inner = _Mixed()


@settings(max_examples=300, deadline=None)
@given(
    body=st.fixed_dictionaries(
        {"name": st.one_of(st.sampled_from(["x", None, "abcde", "abcdef"]), SCALARS)},
        optional={
            "code": st.one_of(st.sampled_from(["abc", "ab1"]), SCALARS),
            "count": st.one_of(st.integers(min_value=-2, max_value=12), SCALARS),
        },
    )
)
def test_integers_bounds_and_nulls_agree_with_drf(body: dict[str, Any]) -> None:
    plain = plain_validated(_Mixed, body)
    if plain is not None:
        assert plain == _drf(_Mixed, body)


def test_fields_it_does_not_know_mean_no_plain_path() -> None:
    assert plain_validated(_Nested, {"inner": {"name": "x"}}) is None
    assert plain_validated(io.ActivitiesInput, {"activities": []}) is None
