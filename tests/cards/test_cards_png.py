"""PNG chunk reading and writing: CRC checks, truncation, text chunk kinds, limits."""

from __future__ import annotations

import zlib

import pytest

from bot.cards import png
from bot.errors import ContentError
from tests.cards.conftest import PNG_SIGNATURE, chunk, png_with_text, text_chunk, tiny_png


def test_reads_the_chunks_of_a_valid_png():
    """A minimal PNG reads as IHDR, IDAT, IEND."""
    assert [c.type for c in png.read_chunks(tiny_png())] == [b"IHDR", b"IDAT", b"IEND"]


def test_text_chunks_are_read_in_order():
    """tEXt chunks come back as (keyword, text) pairs in file order."""
    data = png_with_text(("Title", "hello"), ("chara", "abc"))
    assert png.read_text_chunks(data) == [("Title", "hello"), ("chara", "abc")]


def test_ztxt_and_itxt_are_tolerated_when_reading():
    """Compressed zTXt, plain iTXt and compressed iTXt all decode."""
    ztxt = chunk(b"zTXt", b"ccv3\x00\x00" + zlib.compress(b"zz"))
    itxt_plain = chunk(b"iTXt", b"chara\x00\x00\x00en\x00\x00" + "héllo".encode())
    itxt_zip = chunk(b"iTXt", b"other\x00\x01\x00\x00\x00" + zlib.compress("ü".encode()))
    pairs = png.read_text_chunks(tiny_png(ztxt + itxt_plain + itxt_zip))
    assert pairs == [("ccv3", "zz"), ("chara", "héllo"), ("other", "ü")]


def test_a_crc_mismatch_is_refused():
    """A chunk whose CRC does not match its data makes the file corrupt, named by chunk type."""
    data = bytearray(png_with_text(("chara", "abc")))
    data[data.index(b"abc")] = ord("x")
    with pytest.raises(ContentError, match="CRC of chunk tEXt"):
        png.read_chunks(bytes(data))


def test_every_truncation_is_refused():
    """Cutting the file anywhere before the end of IEND gives a ContentError, never another exception."""
    data = png_with_text(("chara", "abcdef"))
    for end in range(len(data)):
        with pytest.raises(ContentError):
            png.read_chunks(data[:end])


def test_truncation_is_named():
    """A chunk running past the end says the PNG is truncated."""
    data = png_with_text(("chara", "abcdef"))
    with pytest.raises(ContentError, match="truncated"):
        png.read_chunks(data[: data.index(b"abcdef") + 2])


def test_data_after_iend_is_ignored():
    """Trailing bytes after IEND do not matter."""
    assert len(png.read_chunks(tiny_png() + b"junk")) == 3


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "JPEG"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 20, "WEBP"),
        (b"GIF89a" + b"\x00" * 20, "GIF"),
    ],
)
def test_other_images_are_named(data, kind):
    """A JPEG, WebP or GIF is recognised and the message says it is not a PNG."""
    with pytest.raises(ContentError, match=f"{kind}, not a PNG"):
        png.read_chunks(data)


def test_a_png_must_start_with_ihdr():
    """A signature followed by another chunk first is corrupt."""
    data = PNG_SIGNATURE + chunk(b"IDAT", b"") + chunk(b"IEND", b"")
    with pytest.raises(ContentError, match="IHDR"):
        png.read_chunks(data)


def test_decompression_bombs_are_refused(monkeypatch):
    """A zTXt chunk that inflates past the limit is refused without inflating all of it."""
    monkeypatch.setattr(png, "MAX_TEXT_BYTES", 1000)
    bomb = chunk(b"zTXt", b"chara\x00\x00" + zlib.compress(b"A" * 100_000))
    with pytest.raises(ContentError, match="larger than"):
        png.read_text_chunks(tiny_png(bomb))


def test_write_replaces_card_chunks_and_keeps_the_image():
    """Writing a card removes old chara/ccv3 chunks (any case), keeps other chunks, and ends with IEND."""
    original = tiny_png(text_chunk("Chara", "old") + text_chunk("ccv3", "old3") + text_chunk("Software", "x"))
    written = png.write_text_chunks(original, [("chara", "new")])
    assert png.read_text_chunks(written) == [("Software", "x"), ("chara", "new")]
    types = [c.type for c in png.read_chunks(written)]
    assert types[0] == b"IHDR" and types[-1] == b"IEND" and b"IDAT" in types


def test_strip_card_chunks_leaves_a_plain_image():
    """An avatar is stored without the card text in it."""
    stripped = png.strip_card_chunks(png_with_text(("chara", "x"), ("ccv3", "y"), ("Author", "z")))
    assert png.read_text_chunks(stripped) == [("Author", "z")]


def test_solid_png_is_valid_and_sized():
    """The plain card image is a valid PNG of the asked size."""
    data = png.solid_png(40, 60, (10, 20, 30))
    assert png.image_size(data) == (40, 60)
    raw = zlib.decompress(png.read_chunks(data)[1].data)
    assert raw[:4] == b"\x00\x0a\x14\x1e"
