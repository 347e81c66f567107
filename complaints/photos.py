"""Complaint photos: accept JPEG and PNG only, and keep nothing but the pixels.

A phone photo's EXIF carries the GPS position (often the complainant's home) and the device;
PNG text chunks can carry anything. We decode the image, turn it upright as the camera
meant, and encode a fresh file from the pixels alone, so no metadata survives.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from errors import DomainError

MAX_PHOTOS = 3
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a larger image is refused, not decoded (decompression bombs)
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}

# Pillow logs every EXIF tag it reads, value and all (the GPS position, the owner's name, the
# device), at DEBUG: under a DEBUG log configuration a complainant's photo metadata would reach
# the logs (DESIGN §3.8, found by tests/test_canaries.py). Its messages below INFO say nothing
# an operator needs.
logging.getLogger("PIL").setLevel(logging.INFO)


@dataclass(frozen=True)
class CleanPhoto:
    content_type: str
    width: int
    height: int
    data: bytes


def clean(data: bytes, number: int = 1) -> CleanPhoto:
    """The photo re-encoded without metadata; DomainError (400/413) for anything else."""
    label = f"第 {number} 张照片"
    if not data:
        raise DomainError("photo_empty", f"{label}是空文件", field="photos")
    if len(data) > MAX_PHOTO_BYTES:
        raise DomainError(
            "photo_too_large", f"{label}超过 5 MB，请压缩后再上传", status=413, field="photos"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                # Phones often save MPO: a JPEG followed by a preview; we keep the first image.
                fmt = "JPEG" if probe.format == "MPO" else probe.format
                if fmt not in FORMATS:
                    raise DomainError("photo_type", f"{label}不是 JPEG 或 PNG 图片", field="photos")
                if probe.width * probe.height > MAX_PIXELS:
                    raise DomainError(
                        "photo_too_large", f"{label}像素过多（不超过 4000 万像素）", field="photos"
                    )
                probe.load()
                image = ImageOps.exif_transpose(probe)
    except DomainError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DomainError(
            "photo_too_large", f"{label}像素过多（不超过 4000 万像素）", field="photos"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise DomainError(
            "photo_type", f"{label}无法识别为图片（仅支持 JPEG、PNG）", field="photos"
        ) from None

    if fmt == "PNG" and "transparency" in image.info:
        image = image.convert("RGBA")  # a transparent colour (tRNS) becomes an alpha channel
    mode = "RGB" if fmt == "JPEG" else ("RGBA" if "A" in image.getbands() else "RGB")
    pixels = image.convert(mode)
    # A new image from the raw pixels: no info dict, no EXIF, no ICC, no text chunks.
    bare = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    out = io.BytesIO()
    if fmt == "JPEG":
        bare.save(out, "JPEG", quality=88, optimize=True)
    else:
        bare.save(out, "PNG", optimize=True)
    return CleanPhoto(FORMATS[fmt], bare.width, bare.height, out.getvalue())
