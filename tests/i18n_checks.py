"""Finds template text a French reader would see in English: text outside {% translate %} /
{% blocktranslate %} that has letters in it, and the user-facing attributes (title, aria-label,
placeholder, alt, data-confirm, button values) written as plain text."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from django.template.base import Lexer, TokenType

# Names and units that read the same in every language. Keep it short: anything else is wording.
BRAND_WORDS = frozenset(
    {"PushMarketing", "FCM", "APNs", "iOS", "Android", "Marketo", "UTC", "JSON", "CSV", "SDK"}
    | {"h", "s"}  # hours, seconds
)
CHECKED_ATTRIBUTES = frozenset({"title", "aria-label", "placeholder", "alt", "data-confirm"})
# A Django tag or variable's place in the text, marked or not: what it prints is not the
# template's own wording.
PLACEHOLDER = "\x00"
BLOCK_PAIRS = {"blocktranslate": "endblocktranslate", "blocktrans": "endblocktrans"}
SKIPPED_BLOCKS = {**BLOCK_PAIRS, "comment": "endcomment", "verbatim": "endverbatim"}
RAW_TAGS = frozenset({"script", "style", "code"})
# An example address or link reads the same in every language.
ADDRESS = re.compile(r"\S+@\S+|\w+://\S+")
LETTER = re.compile(r"[^\W\d_]")
WORD = re.compile(r"[^\W\d_][\w'’.-]*")


def _text_with_placeholders(source: str) -> str:
    """The template's own text; every tag, variable and translated block becomes PLACEHOLDER."""
    parts: list[str] = []
    closing: str | None = None
    for token in Lexer(source).tokenize():
        if closing is not None:
            if token.token_type == TokenType.BLOCK and token.contents.split()[0] == closing:
                closing = None
            continue
        if token.token_type == TokenType.TEXT:
            parts.append(token.contents)
            continue
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents.split() else ""
            closing = SKIPPED_BLOCKS.get(name)
        if token.token_type != TokenType.COMMENT:
            parts.append(PLACEHOLDER)
    return "".join(parts)


def _unmarked(text: str) -> str | None:
    """`text` stripped of placeholders and brand names, or None when no word is left."""
    plain = ADDRESS.sub(" ", text.replace(PLACEHOLDER, " "))
    words = [w for w in WORD.findall(plain) if w not in BRAND_WORDS]
    if not any(LETTER.search(w) for w in words):
        return None
    return " ".join(text.replace(PLACEHOLDER, "…").split())


class _Finder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._raw_depth = 0  # inside <script>, <style> or <code>: code, not wording

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in RAW_TAGS:
            self._raw_depth += 1
        values = dict(attrs)
        for name, value in attrs:
            checked = name in CHECKED_ATTRIBUTES or (
                name == "value"
                and tag == "input"
                and values.get("type") in ("submit", "button", "reset")
            )
            if checked and value and (problem := _unmarked(value)):
                self.found.append(f'{name}="{problem}"')

    def handle_endtag(self, tag: str) -> None:
        if tag in RAW_TAGS and self._raw_depth:
            self._raw_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._raw_depth and (problem := _unmarked(data)):
            self.found.append(problem)


def unmarked_strings(source: str) -> list[str]:
    """Every piece of user-visible wording in the template `source` not marked for translation."""
    finder = _Finder()
    finder.feed(_text_with_placeholders(source))
    finder.close()
    return finder.found


def unmarked_in_directory(directory: Path) -> dict[str, list[str]]:
    found = {}
    for path in sorted(directory.rglob("*.html")):
        problems = unmarked_strings(path.read_text())
        if problems:
            found[str(path.relative_to(directory))] = problems
    return found


class CatalogueEntry:
    def __init__(self) -> None:
        self.msgid = ""
        self.msgid_plural = ""
        self.msgstrs: list[str] = []
        self.fuzzy = False

    @property
    def translated(self) -> bool:
        return bool(self.msgstrs) and all(self.msgstrs) and not self.fuzzy


def _po_string(line: str) -> str:
    quoted = line[line.index('"') :]
    return quoted[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")


def catalogue_entries(po_file: Path) -> list[CatalogueEntry]:
    """The entries of a .po file (no obsolete ones; the header entry left out)."""
    entries: list[CatalogueEntry] = []
    entry = CatalogueEntry()
    field = ""
    for raw in po_file.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line:
            if field:
                entries.append(entry)
            entry, field = CatalogueEntry(), ""
        elif line.startswith("#,") and "fuzzy" in line:
            entry.fuzzy = True
        elif line.startswith("#"):
            continue
        elif line.startswith("msgid_plural"):
            field, entry.msgid_plural = "plural", _po_string(line)
        elif line.startswith("msgid"):
            field, entry.msgid = "msgid", _po_string(line)
        elif line.startswith("msgctxt"):
            field = "msgctxt"
        elif line.startswith("msgstr"):
            field = "msgstr"
            entry.msgstrs.append(_po_string(line))
        elif line.startswith('"'):
            text = _po_string(line)
            if field == "msgid":
                entry.msgid += text
            elif field == "plural":
                entry.msgid_plural += text
            elif field == "msgstr":
                entry.msgstrs[-1] += text
    return [e for e in entries if e.msgid]
