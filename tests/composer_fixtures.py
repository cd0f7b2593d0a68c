"""Fixtures for the composer tests (notifications, browser).

Test modules import the fixtures they use (an import makes a fixture visible to that module);
there is no tests/notifications/conftest.py, so other areas' tests are unaffected."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from PIL import Image, ImageDraw


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (800, 400), **save: object) -> bytes:
    out = io.BytesIO()
    mode = "RGB" if fmt == "JPEG" else "RGBA" if fmt == "PNG" else "P"
    Image.new(mode, size, color=(91, 61, 245) if mode != "P" else 3).save(out, format=fmt, **save)
    return out.getvalue()


def sample_picture(size: tuple[int, int] = (1600, 800)) -> bytes:
    """A recognisable 2:1 PNG (gradient sky, sun, hills) so screenshots show the crop."""
    width, height = size
    sky = Image.linear_gradient("L").resize(size).convert("RGB")
    sky = Image.merge(
        "RGB", [sky.getchannel(0).point(lambda v: 255 - v // 3)] * 2 + [Image.new("L", size, 250)]
    )
    draw = ImageDraw.Draw(sky)
    draw.ellipse((width * 0.62, height * 0.18, width * 0.78, height * 0.5), fill=(255, 196, 61))
    draw.polygon(
        [(0, height), (width * 0.35, height * 0.45), (width * 0.7, height)], fill=(46, 125, 50)
    )
    draw.polygon(
        [
            (width * 0.4, height),
            (width * 0.8, height * 0.55),
            (width, height * 0.8),
            (width, height),
        ],
        fill=(27, 94, 32),
    )
    out = io.BytesIO()
    sky.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def fresh_lead_field_cache() -> None:
    """lead_token_field_names() caches custom field keys for a minute; tests create leads.
    Autouse in every module that imports it."""
    cache.delete("notifications:lead-token-fields")
