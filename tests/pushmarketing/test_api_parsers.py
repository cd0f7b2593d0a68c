from __future__ import annotations

import io

import pytest
from rest_framework.exceptions import ParseError

from pushmarketing.core.api_parsers import (
    MAX_JSON_DEPTH,
    BoundedJSONParser,
    RequestTooLarge,
    json_depth_exceeds,
)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    ("body", "exceeds"),
    [
        (nested(MAX_JSON_DEPTH), False),
        (nested(MAX_JSON_DEPTH + 1), True),
        (nested(5000), True),
        # Many brackets side by side are wide, not deep.
        (b"[" + b"[1]," * 500 + b"[1]]", False),
        (b'{"a":' * 20 + b"[" * 13 + b"]" * 13 + b"}" * 20, True),
        # Brackets inside strings (escaped quotes too) are text, not nesting.
        (b'["' + b"[" * 100 + b'"]', False),
        (b'["\\"' + b"{" * 100 + b'"]', False),
        (b'["\\\\"' + b",[" * 40 + b"]" * 40 + b"]", True),
    ],
)
def test_depth_counts_structural_brackets_only(body: bytes, exceeds: bool):
    assert json_depth_exceeds(body, MAX_JSON_DEPTH) is exceeds


def parse(body: bytes, max_bytes: int | None = None) -> object:
    parser = BoundedJSONParser()
    parser.max_bytes = max_bytes
    return parser.parse(io.BytesIO(body), "application/json", {})


def test_deep_body_is_a_parse_error_not_a_recursion_error():
    with pytest.raises(ParseError, match="nested deeper than 32 levels"):
        parse(nested(5000))
    value = parse(nested(MAX_JSON_DEPTH))
    for _ in range(MAX_JSON_DEPTH - 1):
        assert isinstance(value, list)
        value = value[0]
    assert value == []


def test_body_past_the_cap_is_refused_even_without_a_declared_length():
    assert parse(b'"' + b"x" * 98 + b'"', max_bytes=100) == "x" * 98
    with pytest.raises(RequestTooLarge):
        parse(b'"' + b"x" * 99 + b'"', max_bytes=100)


def test_non_json_constants_and_bad_bytes_are_parse_errors():
    for body in (b"[NaN]", b'{"a": Infinity}', b'"\xff"', b"[1,"):
        with pytest.raises(ParseError):
            parse(body)
