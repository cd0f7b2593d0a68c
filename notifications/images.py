"""Push images: validate an upload with Pillow, strip metadata, resize, store under MEDIA.

Rules (stated in the composer's help text too):

- accepted: JPEG, PNG and GIF files up to 5 MB and 6000×6000 pixels that Pillow can verify
  and fully decode; decompression bombs are refused from the header (over 36 M pixels, or
  Pillow's `Image.MAX_IMAGE_PIXELS` if lower: there it would only warn);
- the stored image is re-encoded from pixels only, so EXIF (location, camera) and any other
  metadata is dropped; EXIF orientation is applied first so the picture stays upright;
- size: both platforms get one file that fits in 1024×1024, keeping its aspect ratio —
  Android's big picture recommendation is 2:1 at up to 1024×512 (Android centre-crops other
  ratios, which the preview shows) and iOS attachments should be at most 1038 px wide;
- JPEG stays JPEG (quality 85), PNG stays PNG; a GIF is stored as a PNG of its first frame
  because Android's big picture never animates;
- `content.image_url` is the absolute URL (SITE_URL + MEDIA_URL + name) devices download.
"""

from __future__ import annotations

import io
import re
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_SIDE = 6000
# Decompression-bomb guard: refused from the header, before any pixel is decoded (6000×6000).
MAX_IMAGE_PIXELS = 36_000_000
STORED_MAX_SIZE = (1024, 1024)
IMAGE_DIR = "push-images"
ACCEPTED_FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "png"}
STORED_NAME_RE = re.compile(rf"^{IMAGE_DIR}/[0-9a-f]{{32}}\.(jpg|png)$")


def _invalid(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def image_validate_and_encode(data: bytes) -> tuple[bytes, str, tuple[int, int]]:
    """Check an uploaded file and return (clean bytes, extension, (width, height))."""
    if len(data) > MAX_IMAGE_BYTES:
        raise _invalid(
            gettext("The image is %(size).1f MB; the limit is %(limit)s MB.")
            % {"size": len(data) / 1024 / 1024, "limit": MAX_IMAGE_BYTES // 1024 // 1024},
            "file_too_large",
        )
    if not data:
        raise _invalid(gettext("The file is empty."), "empty")
    try:
        return _decode_and_encode(data)
    except Image.DecompressionBombError as exc:  # Pillow's own guard: over 2x its limit
        raise _too_many_pixels() from exc


def _pixel_limit() -> int:
    pillow_limit = Image.MAX_IMAGE_PIXELS
    return min(MAX_IMAGE_PIXELS, pillow_limit) if pillow_limit else MAX_IMAGE_PIXELS


def _too_many_pixels() -> ValidationError:
    return _invalid(
        gettext("The image has too many pixels to process safely (limit %(limit)s).")
        % {"limit": f"{_pixel_limit():,}"},
        "too_many_pixels",
    )


def _decode_and_encode(data: bytes) -> tuple[bytes, str, tuple[int, int]]:
    try:
        with Image.open(io.BytesIO(data)) as probe:  # reads the header only
            image_format = probe.format
            # Checked from the header, before a pixel is decoded. Pillow only *warns* between
            # its limit and twice that, so its limit is enforced here too, as a refusal;
            # nothing changes Pillow's process-wide setting (thread-safe).
            if probe.width * probe.height > _pixel_limit():
                raise _too_many_pixels()
            probe.verify()  # structure and checksums; the image can't be used after this
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _invalid(
            gettext("This file is not a readable image. Upload a JPEG, PNG or GIF."),
            "not_an_image",
        ) from exc
    if image_format not in ACCEPTED_FORMATS:
        raise _invalid(
            gettext("%(format)s images are not supported. Upload a JPEG, PNG or GIF.")
            % {"format": image_format},
            "format",
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            if max(image.size) > MAX_IMAGE_SIDE:
                raise _invalid(
                    gettext(
                        "The image is %(width)s×%(height)s pixels; the limit is %(side)s×%(side)s."
                    )
                    % {"width": image.width, "height": image.height, "side": MAX_IMAGE_SIDE},
                    "dimensions",
                )
            image.seek(0)
            image.load()  # a truncated or corrupt body fails here, not on a phone
            pixels = ImageOps.exif_transpose(image)
            return _encode(pixels, image_format)
    except ValidationError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise _invalid(
            gettext("The image is damaged and cannot be decoded. Export it again and retry."),
            "broken",
        ) from exc


def _encode(image: Image.Image, image_format: str) -> tuple[bytes, str, tuple[int, int]]:
    extension = ACCEPTED_FORMATS[image_format]
    if extension == "jpg":
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA")
    image.thumbnail(STORED_MAX_SIZE, Image.Resampling.LANCZOS)
    # A fresh image holds pixels only: no EXIF, ICC, text chunks or comments survive.
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    out = io.BytesIO()
    if extension == "jpg":
        clean.save(out, format="JPEG", quality=85, optimize=True)
    else:
        clean.save(out, format="PNG", optimize=True)
    return out.getvalue(), extension, clean.size


def image_store(*, data: bytes) -> str:
    """Validate, clean and store an upload; return its storage name (push-images/<hex>.ext)."""
    clean, extension, _size = image_validate_and_encode(data)
    name = f"{IMAGE_DIR}/{uuid.uuid4().hex}.{extension}"
    return default_storage.save(name, ContentFile(clean))


def image_name_is_stored(name: str) -> bool:
    """True for a name `image_store` produced that still exists (the form's hidden field)."""
    return bool(STORED_NAME_RE.match(name)) and default_storage.exists(name)


def image_absolute_url(name: str) -> str:
    if not name:
        return ""
    return f"{settings.SITE_URL}/{settings.MEDIA_URL.strip('/')}/{name}"
