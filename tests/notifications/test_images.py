from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from PIL import Image

from notifications.images import (
    MAX_IMAGE_BYTES,
    image_absolute_url,
    image_name_is_stored,
    image_store,
    image_validate_and_encode,
)
from tests.composer_fixtures import (  # noqa: F401 - fixtures
    image_bytes,
    media_root,
)


def _jpeg_with_exif(size=(1200, 900)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0132] = "2024:01:01 10:00:00"  # DateTime
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


PILLOW_DEFAULT_LIMIT = Image.MAX_IMAGE_PIXELS


def _png_claiming(width: int, height: int) -> bytes:
    data = bytearray(image_bytes("PNG", (8, 8)))
    # IHDR data starts after the 8-byte signature, 4-byte length and 4-byte type.
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def test_good_png_is_resized_to_fit_and_kept_as_png():
    clean, ext, size = image_validate_and_encode(image_bytes("PNG", (2048, 1024)))
    assert ext == "png"
    assert size == (1024, 512)
    with Image.open(io.BytesIO(clean)) as image:
        assert image.format == "PNG" and image.size == (1024, 512)


def test_small_image_is_not_enlarged():
    _clean, _ext, size = image_validate_and_encode(image_bytes("PNG", (300, 150)))
    assert size == (300, 150)


def test_tall_image_keeps_aspect_within_1024():
    _clean, _ext, size = image_validate_and_encode(image_bytes("JPEG", (1500, 3000)))
    assert size == (512, 1024)


def test_exif_is_stripped():
    original = _jpeg_with_exif()
    with Image.open(io.BytesIO(original)) as image:
        assert image.getexif().get(0x010F) == "SecretCam"
    clean, ext, _size = image_validate_and_encode(original)
    assert ext == "jpg"
    with Image.open(io.BytesIO(clean)) as image:
        assert image.format == "JPEG"
        assert dict(image.getexif()) == {}
        assert "exif" not in image.info
    assert b"SecretCam" not in clean


def test_gif_is_stored_as_png_first_frame():
    clean, ext, _size = image_validate_and_encode(image_bytes("GIF", (400, 200)))
    assert ext == "png"
    with Image.open(io.BytesIO(clean)) as image:
        assert image.format == "PNG"


def test_not_an_image_is_refused():
    with pytest.raises(ValidationError) as exc:
        image_validate_and_encode(b"%PDF-1.4 definitely not an image")
    assert exc.value.code == "not_an_image"


def test_truncated_image_is_refused_as_broken():
    data = image_bytes("JPEG", (800, 600))
    with pytest.raises(ValidationError) as exc:
        image_validate_and_encode(data[: len(data) // 2])
    assert exc.value.code in {"broken", "not_an_image"}


def test_unsupported_format_is_refused():
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, format="BMP")
    with pytest.raises(ValidationError) as exc:
        image_validate_and_encode(out.getvalue())
    assert exc.value.code == "format"


def test_huge_file_is_refused_before_decoding():
    with pytest.raises(ValidationError) as exc:
        image_validate_and_encode(b"\x89PNG" + b"\0" * MAX_IMAGE_BYTES)
    assert exc.value.code == "file_too_large"
    assert "limit is 5 MB" in exc.value.messages[0]


def test_decompression_bomb_is_refused():
    # A tiny file whose header claims 10,000 x 10,000 pixels (100 M, over the 36 M guard).
    bomb = _png_claiming(10_000, 10_000)
    assert len(bomb) < 1000
    with pytest.raises(ValidationError) as exc:
        image_validate_and_encode(bomb)
    assert exc.value.code == "too_many_pixels"
    assert Image.MAX_IMAGE_PIXELS == PILLOW_DEFAULT_LIMIT  # the process-wide guard is untouched


def test_pillow_bomb_guard_is_a_refusal_not_a_warning(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # a deployment with a stricter limit
    with pytest.raises(ValidationError) as exc:
        image_validate_and_encode(image_bytes("PNG", (40, 30)))  # 1,200 px: Pillow only warns
    assert exc.value.code == "too_many_pixels"


def test_oversize_dimensions_are_refused():
    with pytest.raises(ValidationError) as exc:
        image_validate_and_encode(image_bytes("PNG", (6500, 100)))
    assert exc.value.code == "dimensions"


def test_store_saves_under_media_with_absolute_url(media_root, settings):  # noqa: F811
    settings.SITE_URL = "https://push.example.com"
    name = image_store(data=image_bytes("PNG", (400, 200)))
    assert name.startswith("push-images/") and name.endswith(".png")
    assert (media_root / name).exists()
    assert image_name_is_stored(name)
    assert image_absolute_url(name) == f"https://push.example.com/media/{name}"
    assert default_storage.exists(name)


def test_name_check_refuses_paths_outside_the_image_dir(media_root):  # noqa: F811
    assert not image_name_is_stored("../secrets.txt")
    assert not image_name_is_stored("push-images/" + "a" * 32 + ".jpg")  # well formed, missing
