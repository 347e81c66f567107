"""Complaint photos (pure, no database): only JPEG and PNG, re-encoded from the pixels alone, so
no EXIF, GPS or text chunk survives; anything else, and anything too big, is refused."""

import io
import struct
import zlib

import pytest
from PIL import ExifTags, Image, ImageFile
from PIL.PngImagePlugin import PngInfo

from complaints import photos
from errors import DomainError

GPS_LAT = (29.0, 36.0, 17.5)  # where the complainant stood (or lives)
SECRET_MAKE = "SecretPhoneMaker"


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def reopen(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def half_red_half_blue(width=60, height=30) -> Image.Image:
    """Left half red, right half blue: shows which way an image was turned."""
    image = Image.new("RGB", (width, height), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, width // 2, height))
    return image


def exif_with_gps(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = SECRET_MAKE
    exif[ExifTags.Base.Model] = "Model X"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LAT
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (106.0, 31.0, 2.25)
    return exif


def refused(data: bytes, code: str, status: int = 400) -> DomainError:
    with pytest.raises(DomainError) as info:
        photos.clean(data, 2)
    assert (info.value.code, info.value.status, info.value.field) == (code, status, "photos")
    assert "第 2 张照片" in info.value.message
    return info.value


def png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return chunks


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims huge dimensions (a decompression bomb's shape)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG with its frame header patched to claim other dimensions."""
    data = bytearray(encode(Image.new("RGB", (16, 16), "white"), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


# --- JPEG ------------------------------------------------------------------------------------


def test_jpeg_loses_exif_and_gps_and_is_turned_upright():
    original = encode(half_red_half_blue(60, 30), "JPEG", exif=exif_with_gps(orientation=6))
    before = reopen(original)
    assert before.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] == GPS_LAT
    assert SECRET_MAKE.encode() in original

    clean = photos.clean(original)
    assert clean.content_type == "image/jpeg"
    assert clean.data[:2] == b"\xff\xd8"
    after = reopen(clean.data)
    assert after.format == "JPEG" and after.mode == "RGB"
    # orientation 6 (turn 90° clockwise to view): 60×30 stored → 30×60 upright
    assert (clean.width, clean.height) == after.size == (30, 60)
    # the stored left (red) half is now on top, the right (blue) half at the bottom
    red, blue = after.getpixel((15, 5)), after.getpixel((15, 55))
    assert red[0] > 200 and red[2] < 60, red
    assert blue[2] > 200 and blue[0] < 60, blue
    # nothing of the metadata is left
    assert len(after.getexif()) == 0
    assert "exif" not in after.info and "comment" not in after.info
    assert b"Exif" not in clean.data and SECRET_MAKE.encode() not in clean.data
    assert b"Model X" not in clean.data


def test_jpeg_comment_and_icc_profile_are_dropped():
    icc = b"\0\0\0\x18fake-icc-profile-SECRET!"
    original = encode(
        Image.new("RGB", (20, 20), "gray"), "JPEG", comment=b"HOME-ADDR", icc_profile=icc
    )
    assert b"HOME-ADDR" in original and b"SECRET!" in original
    clean = photos.clean(original)
    assert b"HOME-ADDR" not in clean.data and b"SECRET!" not in clean.data
    assert "icc_profile" not in reopen(clean.data).info


def test_upright_jpeg_keeps_its_dimensions():
    clean = photos.clean(encode(half_red_half_blue(60, 30), "JPEG", exif=exif_with_gps(1)))
    assert (clean.width, clean.height) == (60, 30)
    assert reopen(clean.data).getpixel((5, 15))[0] > 200  # red still on the left


def test_cmyk_and_greyscale_jpegs_become_rgb():
    for mode in ("CMYK", "L"):
        clean = photos.clean(encode(Image.new(mode, (12, 10)), "JPEG"))
        assert reopen(clean.data).mode == "RGB" and (clean.width, clean.height) == (12, 10)


def test_multi_picture_jpeg_from_a_phone_is_accepted_as_jpeg():
    """Many phones save MPO (a JPEG with a second, preview image); Pillow calls it "MPO"."""
    first = half_red_half_blue(40, 20)
    data = encode(
        first,
        "MPO",
        save_all=True,
        append_images=[Image.new("RGB", (40, 20), "green")],
        exif=exif_with_gps(6),
    )
    assert Image.open(io.BytesIO(data)).format == "MPO"
    clean = photos.clean(data)
    assert clean.content_type == "image/jpeg"
    after = reopen(clean.data)
    assert after.format == "JPEG" and after.size == (20, 40)
    assert getattr(after, "n_frames", 1) == 1
    assert b"Exif" not in clean.data and SECRET_MAKE.encode() not in clean.data


# --- PNG -------------------------------------------------------------------------------------


def test_png_loses_text_chunks_and_exif():
    info = PngInfo()
    info.add_text("Comment", "HOME-ADDR Chongqing")
    info.add_text("Author", "SECRET-NAME", zip=True)  # zTXt
    info.add_itxt("Location", "29.6N 106.5E SECRET-GPS", lang="zh", tkey="位置")
    original = encode(
        Image.new("RGB", (16, 8), (10, 200, 10)), "PNG", pnginfo=info, exif=exif_with_gps(1)
    )
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf"} <= set(png_chunks(original))

    clean = photos.clean(original)
    assert clean.content_type == "image/png"
    assert set(png_chunks(clean.data)) <= {b"IHDR", b"IDAT", b"IEND"}
    after = reopen(clean.data)
    assert after.format == "PNG" and after.size == (16, 8) and after.mode == "RGB"
    assert after.getpixel((3, 3)) == (10, 200, 10)  # PNG is lossless: pixels unchanged
    assert not after.info.get("Comment") and not after.text
    for secret in (b"HOME-ADDR", b"SECRET-NAME", b"SECRET-GPS", SECRET_MAKE.encode()):
        assert secret not in clean.data


def test_png_orientation_is_applied_too():
    clean = photos.clean(encode(half_red_half_blue(60, 30), "PNG", exif=exif_with_gps(8)))
    # orientation 8 (turn 90° anticlockwise to view): the left (red) half ends at the bottom
    after = reopen(clean.data)
    assert after.size == (30, 60)
    assert after.getpixel((15, 55)) == (255, 0, 0) and after.getpixel((15, 5)) == (0, 0, 255)


def test_png_alpha_is_kept():
    rgba = Image.new("RGBA", (10, 10), (255, 0, 0, 255))
    rgba.putpixel((0, 0), (0, 0, 0, 0))
    after = reopen(photos.clean(encode(rgba, "PNG")).data)
    assert after.mode == "RGBA"
    assert after.getpixel((0, 0))[3] == 0 and after.getpixel((5, 5)) == (255, 0, 0, 255)
    la = reopen(photos.clean(encode(Image.new("LA", (4, 4), (90, 128)), "PNG")).data)
    assert la.mode == "RGBA" and la.getpixel((1, 1)) == (90, 90, 90, 128)


def test_palette_png_with_a_transparent_colour_keeps_its_transparency():
    palette = Image.new("P", (10, 10), 0)
    palette.putpalette([255, 255, 255, 200, 0, 0] + [0, 0, 0] * 254)
    palette.putpixel((5, 5), 1)
    original = encode(palette, "PNG", transparency=0)  # colour 0 (white) is transparent
    after = reopen(photos.clean(original).data)
    assert after.mode == "RGBA"
    assert after.getpixel((0, 0))[3] == 0
    assert after.getpixel((5, 5)) == (200, 0, 0, 255)


def test_opaque_palette_and_16_bit_pngs_are_accepted():
    palette = Image.new("P", (6, 6), 1)
    palette.putpalette([0, 0, 0, 10, 20, 30] + [0, 0, 0] * 254)
    after = reopen(photos.clean(encode(palette, "PNG")).data)
    assert after.mode == "RGB" and after.getpixel((2, 2)) == (10, 20, 30)
    deep = photos.clean(encode(Image.new("I;16", (6, 4), 40000), "PNG"))
    assert (deep.content_type, deep.width, deep.height) == ("image/png", 6, 4)


# --- refused ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "BMP", "TIFF", "ICO"])
def test_other_image_formats_are_refused(fmt):
    data = encode(Image.new("RGB", (16, 16), "red"), fmt)
    refused(data, "photo_type")


@pytest.mark.parametrize(
    "data",
    [
        b"not an image at all",
        "这是一段文字，不是照片".encode(),
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"\xff\xd8\xff",  # a JPEG's first bytes only
        b"\x89PNG\r\n\x1a\n",  # a PNG signature only
    ],
)
def test_non_images_are_refused(data):
    refused(data, "photo_type")


def test_empty_file_is_refused():
    refused(b"", "photo_empty")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_files_are_refused(fmt):
    noisy = Image.frombytes("RGB", (64, 64), bytes(range(256)) * 48)
    data = encode(noisy, fmt)
    refused(data[: len(data) // 2], "photo_type")


def test_larger_than_5_mb_is_413_and_5_mb_itself_is_fine():
    assert photos.MAX_PHOTO_BYTES == 5 * 1024 * 1024
    small = encode(Image.new("RGB", (8, 8), "blue"), "JPEG")
    padded = small + b"\0" * (photos.MAX_PHOTO_BYTES - len(small))  # data after the end marker
    assert len(padded) == photos.MAX_PHOTO_BYTES
    assert photos.clean(padded).content_type == "image/jpeg"
    refused(padded + b"\0", "photo_too_large", 413)


@pytest.mark.parametrize(
    "data",
    [
        png_header_only(7_000, 7_000),  # 49 Mpx: over our 40 Mpx limit
        png_header_only(10_000, 10_000),  # 100 Mpx: over Pillow's own warning limit
        png_header_only(30_000, 30_000),  # 900 Mpx: over Pillow's error limit
        jpeg_claiming(8_000, 6_000),
        jpeg_claiming(65_000, 65_000),
    ],
    ids=["png-49Mpx", "png-100Mpx", "png-900Mpx", "jpeg-48Mpx", "jpeg-4Gpx"],
)
def test_decompression_bombs_are_refused_without_decoding(data, monkeypatch):
    assert len(data) < 1000

    def no_decoding(self, *args, **kwargs):
        raise AssertionError("a decompression bomb was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    error = refused(data, "photo_too_large")
    assert "像素" in error.message


def test_the_pixel_limit_is_inclusive(monkeypatch):
    monkeypatch.setattr(photos, "MAX_PIXELS", 100 * 50)  # the real 40 Mpx would be slow here
    clean = photos.clean(encode(Image.new("RGB", (100, 50), "white"), "PNG"))
    assert (clean.width, clean.height) == (100, 50)
    refused(encode(Image.new("RGB", (101, 50), "white"), "JPEG"), "photo_too_large")
