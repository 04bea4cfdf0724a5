"""Read and write PNG text chunks (where character cards live) with CRC checks and size limits.

Only the chunk layer is handled here: no pixels are decoded, so no imaging library is needed. Reading
accepts ``tEXt`` (what SillyTavern writes), ``zTXt`` and ``iTXt`` (what some other tools write);
writing produces ``tEXt`` only, which every card reader understands.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from bot.errors import ContentError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_CHUNKS = 50_000
MAX_TEXT_BYTES = 16 * 1024 * 1024
"""The largest text chunk payload accepted (after decompression for zTXt/iTXt)."""

CARD_KEYWORDS = ("chara", "ccv3")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One PNG chunk: its four-letter type and its data (the CRC has been checked)."""

    type: bytes
    data: bytes


def sniff_image(data: bytes) -> str | None:
    """The kind of image these bytes start with (``png``, ``jpeg``, ``gif``, ``webp``...), or None."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"BM"):
        return "bmp"
    if data[4:12] in (b"ftypavif", b"ftypheic", b"ftypmif1"):
        return "avif/heic"
    return None


def read_chunks(data: bytes) -> list[Chunk]:
    """Every chunk up to and including IEND; raises ContentError if the file is not a whole, valid PNG."""
    if not data.startswith(PNG_SIGNATURE):
        kind = sniff_image(data)
        if kind:
            raise ContentError(f"the image is a {kind.upper()}, not a PNG; character cards must be PNG files")
        raise ContentError("the file is not a PNG image (the PNG signature is missing)")
    chunks: list[Chunk] = []
    pos = len(PNG_SIGNATURE)
    end = len(data)
    while True:
        if pos + 8 > end:
            raise ContentError("the PNG is truncated: it ends before its IEND chunk")
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        if length > 0x7FFFFFFF:
            raise ContentError("the PNG is corrupt: a chunk declares an impossible length")
        if not all(65 <= b <= 90 or 97 <= b <= 122 for b in ctype):
            raise ContentError("the PNG is corrupt: a chunk has an invalid type")
        data_start = pos + 8
        data_end = data_start + length
        if data_end + 4 > end:
            raise ContentError(
                f"the PNG is truncated: chunk {ctype.decode('ascii')} runs past the end of the file"
            )
        body = data[data_start:data_end]
        (crc,) = struct.unpack(">I", data[data_end : data_end + 4])
        if zlib.crc32(ctype + body) & 0xFFFFFFFF != crc:
            raise ContentError(f"the PNG is corrupt: the CRC of chunk {ctype.decode('ascii')} does not match")
        if not chunks and ctype != b"IHDR":
            raise ContentError("the PNG is corrupt: it does not start with an IHDR chunk")
        chunks.append(Chunk(ctype, body))
        if len(chunks) > MAX_CHUNKS:
            raise ContentError(f"the PNG has more than {MAX_CHUNKS} chunks")
        pos = data_end + 4
        if ctype == b"IEND":
            return chunks


def _inflate(data: bytes, what: str) -> bytes:
    """Decompress a zlib stream, refusing output beyond MAX_TEXT_BYTES (a decompression bomb)."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_TEXT_BYTES + 1)
    except zlib.error as exc:
        raise ContentError(f"the PNG's {what} chunk is not valid compressed data") from exc
    if len(out) > MAX_TEXT_BYTES or inflater.unconsumed_tail:
        raise ContentError(f"the PNG's {what} chunk is larger than {MAX_TEXT_BYTES // (1024 * 1024)} MiB")
    return out


def decode_text_chunk(chunk: Chunk) -> tuple[str, str] | None:
    """(keyword, text) of a tEXt, zTXt or iTXt chunk, or None for other chunks and unreadable ones."""
    if chunk.type not in (b"tEXt", b"zTXt", b"iTXt"):
        return None
    keyword_bytes, sep, rest = chunk.data.partition(b"\x00")
    if not sep or not 1 <= len(keyword_bytes) <= 79:
        return None
    keyword = keyword_bytes.decode("latin-1")
    what = f"{keyword!r} ({chunk.type.decode('ascii')})"
    if chunk.type == b"tEXt":
        if len(rest) > MAX_TEXT_BYTES:
            raise ContentError(f"the PNG's {what} chunk is larger than {MAX_TEXT_BYTES // (1024 * 1024)} MiB")
        return keyword, rest.decode("latin-1")
    if chunk.type == b"zTXt":
        if not rest or rest[0] != 0:
            return None
        return keyword, _inflate(rest[1:], what).decode("latin-1")
    # iTXt: compression flag, method, language tag \0, translated keyword \0, UTF-8 text.
    if len(rest) < 2:
        return None
    flag, method = rest[0], rest[1]
    parts = rest[2:].split(b"\x00", 2)
    if len(parts) != 3:
        return None
    text = parts[2]
    if flag == 1:
        if method != 0:
            return None
        text = _inflate(text, what)
    elif len(text) > MAX_TEXT_BYTES:
        raise ContentError(f"the PNG's {what} chunk is larger than {MAX_TEXT_BYTES // (1024 * 1024)} MiB")
    return keyword, text.decode("utf-8", errors="replace")


def read_text_chunks(data: bytes) -> list[tuple[str, str]]:
    """All (keyword, text) pairs of a PNG's text chunks, in file order."""
    pairs = []
    for chunk in read_chunks(data):
        pair = decode_text_chunk(chunk)
        if pair is not None:
            pairs.append(pair)
    return pairs


def encode_chunk(ctype: bytes, data: bytes) -> bytes:
    """One chunk as bytes: length, type, data, CRC."""
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data) & 0xFFFFFFFF)


def text_chunk(keyword: str, text: str) -> bytes:
    """A tEXt chunk; keyword and text must be Latin-1 (card payloads are base64, so they are)."""
    return encode_chunk(b"tEXt", keyword.encode("latin-1") + b"\x00" + text.encode("latin-1"))


def _is_card_chunk(chunk: Chunk) -> bool:
    if chunk.type not in (b"tEXt", b"zTXt", b"iTXt"):
        return False
    keyword = chunk.data.partition(b"\x00")[0].decode("latin-1").lower()
    return keyword in CARD_KEYWORDS


def strip_card_chunks(data: bytes) -> bytes:
    """The same PNG without any ``chara``/``ccv3`` text chunk (an avatar should not carry the card)."""
    chunks = read_chunks(data)
    return PNG_SIGNATURE + b"".join(encode_chunk(c.type, c.data) for c in chunks if not _is_card_chunk(c))


def write_text_chunks(data: bytes, texts: list[tuple[str, str]]) -> bytes:
    """The PNG with its card chunks replaced by ``texts`` (as tEXt chunks placed just before IEND)."""
    chunks = [c for c in read_chunks(data) if not _is_card_chunk(c)]
    body = b"".join(encode_chunk(c.type, c.data) for c in chunks[:-1])
    extra = b"".join(text_chunk(keyword, text) for keyword, text in texts)
    return PNG_SIGNATURE + body + extra + encode_chunk(chunks[-1].type, chunks[-1].data)


def solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid RGB PNG of one colour: the plain image of an exported card with no avatar."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + encode_chunk(b"IHDR", ihdr)
        + encode_chunk(b"IDAT", zlib.compress(raw, 9))
        + encode_chunk(b"IEND", b"")
    )


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    chunks = read_chunks(data)
    if len(chunks[0].data) < 8:
        raise ContentError("the PNG is corrupt: its IHDR chunk is too short")
    width, height = struct.unpack(">II", chunks[0].data[:8])
    return width, height
