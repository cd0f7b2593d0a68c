"""Personalization tokens in Marketo's form: `{{lead.First Name:default=there}}`.

A template is compiled once per notification into a tuple of literal strings and field
lookups; rendering for one lead is then a join, cheap enough to run once per device on the
fan-out path."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from notifications.content import PushContent, RenderedText

TOKEN_RE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_TOKEN_BODY_RE = re.compile(
    r"^lead\.(?P<field>[A-Za-z0-9_ ]{1,60}?)(?::default=(?P<default>[^{}]*))?$"
)


class TokenError(ValueError):
    """A malformed or unknown token; the message names the token and the rule."""


@dataclass(frozen=True)
class Token:
    field: str
    default: str | None


@dataclass(frozen=True)
class CompiledTemplate:
    parts: tuple[str | Token, ...]

    def render(self, values: Mapping[str, str]) -> str:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, Token):
                value = values.get(part.field, "")
                out.append(value if value else (part.default or ""))
            else:
                out.append(part)
        return "".join(out)

    @property
    def tokens(self) -> tuple[Token, ...]:
        return tuple(part for part in self.parts if isinstance(part, Token))


def compile_template(
    text: str, *, known_fields: Iterable[str] | None = None, require_default: bool = True
) -> CompiledTemplate:
    known = set(known_fields) if known_fields is not None else None
    parts: list[str | Token] = []
    position = 0
    for match in TOKEN_RE.finditer(text):
        if match.start() > position:
            parts.append(text[position : match.start()])
        body = match.group(1).strip()
        parsed = _TOKEN_BODY_RE.match(body)
        if parsed is None:
            raise TokenError(
                f"{match.group(0)} is not a valid token: use {{{{lead.Field Name:default=text}}}}"
            )
        field_name = parsed.group("field").strip()
        default = parsed.group("default")
        if known is not None and field_name not in known:
            raise TokenError(f"{match.group(0)}: the lead has no field named {field_name!r}")
        if require_default and default is None:
            raise TokenError(
                f"{match.group(0)} needs a default, e.g. {{{{lead.{field_name}:default=there}}}}"
            )
        parts.append(Token(field=field_name, default=default))
        position = match.end()
    remainder = text[position:]
    if "{{" in remainder or "}}" in remainder:
        raise TokenError("an unclosed or stray '{{' / '}}' is not allowed outside a token")
    if remainder:
        parts.append(remainder)
    return CompiledTemplate(parts=tuple(parts))


@dataclass(frozen=True)
class CompiledContent:
    title: CompiledTemplate
    subtitle: CompiledTemplate
    body: CompiledTemplate
    tap_uri: CompiledTemplate

    def render(self, values: Mapping[str, str]) -> RenderedText:
        return RenderedText(
            title=self.title.render(values),
            subtitle=self.subtitle.render(values),
            body=self.body.render(values),
            tap_uri=self.tap_uri.render(values),
        )


def compile_content(
    content: PushContent, *, known_fields: Iterable[str] | None = None
) -> CompiledContent:
    known = list(known_fields) if known_fields is not None else None
    return CompiledContent(
        title=compile_template(content.title, known_fields=known),
        subtitle=compile_template(content.subtitle, known_fields=known),
        body=compile_template(content.message, known_fields=known),
        tap_uri=compile_template(content.tap_uri, known_fields=known),
    )
