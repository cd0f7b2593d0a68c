"""Fixtures for the composer tests (notifications, browser)."""

from __future__ import annotations

import io

import pytest
from PIL import Image


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (800, 400), **save: object) -> bytes:
    out = io.BytesIO()
    mode = "RGB" if fmt == "JPEG" else "RGBA" if fmt == "PNG" else "P"
    Image.new(mode, size, color=(91, 61, 245) if mode != "P" else 3).save(out, format=fmt, **save)
    return out.getvalue()


@pytest.fixture
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
