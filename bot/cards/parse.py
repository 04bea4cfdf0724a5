"""Bytes -> raw card dict: detect JSON, PNG or CHARX, enforce size limits, detect the card version.

Limits are checked before or while parsing, never after building a huge object: the file size first,
then the JSON text is scanned once (nesting depth, string length, container count) before
``json.loads`` runs. Every problem is a :class:`ContentError` whose message is one line.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

from bot.cards import png
from bot.errors import ContentError
from bot.i18n import tr

MAX_FILE_BYTES = 20 * 1024 * 1024
"""The largest card file accepted (PNG, JSON or CHARX)."""
MAX_JSON_BYTES = 10 * 1024 * 1024
"""The largest JSON text accepted (a card, a CHARX card.json, or a World Info file)."""
MAX_DEPTH = 64
"""The deepest nesting of arrays and objects accepted; real cards stay under 10."""
MAX_STRING_CHARS = 4 * 1024 * 1024
"""The longest single JSON string accepted (measured in its escaped form)."""
MAX_CONTAINERS = 200_000
"""The most arrays plus objects accepted in one JSON document."""
MAX_ZIP_MEMBERS = 2_000

SPEC_V1 = "chara_card_v1"
SPEC_V2 = "chara_card_v2"
SPEC_V3 = "chara_card_v3"

V1_FIELDS = ("name", "description", "personality", "scenario", "first_mes", "mes_example")
"""The bare fields of a V1 card, mirrored at the top level of V2/V3 cards by SillyTavern."""
ST_INTERNAL_V1_FIELDS = ("avatar", "chat", "create_date", "json_data", "data", "spec", "spec_version")
"""Top-level keys of a SillyTavern V1 export that describe ST's own files, not the character."""

_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]|"', re.DOTALL)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abAB]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class RawCard:
    """A card as found in a file: the JSON object, its spec, the container, and the avatar image if any."""

    card: dict[str, Any]
    spec: str
    container: str
    """``json``, ``png`` or ``charx``."""
    avatar: bytes | None = None
    """A PNG image without card chunks (from a PNG card or a CHARX icon), or None."""
    warnings: list[str] = field(default_factory=list)


def _mib(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB"


def check_json_text(text: str) -> None:
    """Reject a JSON bomb before parsing: too deep, a string too long, or too many containers.

    The scan is linear: a string token is matched in one pass, and an unterminated string stops the
    scan (``json.loads`` then reports the syntax error).
    """
    depth = 0
    containers = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        if first == '"':
            if len(token) == 1:
                return
            if len(token) - 2 > MAX_STRING_CHARS:
                raise ContentError(f"the JSON has a string longer than {_mib(MAX_STRING_CHARS)}")
        elif first in "[{":
            depth += 1
            containers += 1
            if depth > MAX_DEPTH:
                raise ContentError(f"the JSON is nested deeper than {MAX_DEPTH} levels")
            if containers > MAX_CONTAINERS:
                raise ContentError(f"the JSON has more than {MAX_CONTAINERS} arrays and objects")
        else:
            depth -= 1


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("number out of range")
    return value


def _fix_surrogates(value: Any) -> Any:
    """Replace lone UTF-16 surrogates (``"\\ud800"`` in JSON) with U+FFFD so the text can be saved."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return value
    if isinstance(value, list):
        return [_fix_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_fix_surrogates(k): _fix_surrogates(v) for k, v in value.items()}
    return value


def load_json(data: bytes | str, what: str = "the JSON") -> Any:
    """Parse JSON text with the limits above; ``what`` names the source in error messages."""
    if isinstance(data, bytes):
        if len(data) > MAX_JSON_BYTES:
            raise ContentError(f"{what} is larger than {_mib(MAX_JSON_BYTES)}")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ContentError(f"{what} is not UTF-8 text (bad byte at offset {exc.start})") from exc
    else:
        text = data.removeprefix("\ufeff")
        if len(text) > MAX_JSON_BYTES:
            raise ContentError(f"{what} is larger than {_mib(MAX_JSON_BYTES)}")
    check_json_text(text)
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise ContentError(f"{what} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc
    except (ValueError, RecursionError) as exc:
        raise ContentError(f"{what} is not valid JSON ({exc})") from exc
    if _SURROGATE_ESCAPE.search(text):
        value = _fix_surrogates(value)
    return value


def decode_chunk_payload(text: str, keyword: str) -> Any:
    """The JSON value in a ``chara``/``ccv3`` chunk: base64 of UTF-8 JSON (raw JSON is tolerated)."""
    what = f"the PNG's {keyword!r} chunk"
    stripped = text.strip()
    if stripped.startswith("{"):
        return load_json(stripped, what)
    compact = re.sub(r"\s+", "", stripped)
    if not compact:
        raise ContentError(f"{what} is empty")
    if not re.fullmatch(r"[A-Za-z0-9+/_-]*={0,2}", compact):
        raise ContentError(f"{what} is not valid base64")
    compact = compact.rstrip("=").replace("-", "+").replace("_", "/")
    if len(compact) % 4 == 1:
        raise ContentError(f"{what} is not valid base64 (its length is impossible)")
    try:
        raw = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ContentError(f"{what} is not valid base64") from exc
    return load_json(raw, f"the JSON in {what}")


def _card_from_png(data: bytes) -> RawCard:
    texts = png.read_text_chunks(data)
    found: dict[str, str] = {}
    for keyword, text in texts:
        key = keyword.lower()
        if key in png.CARD_KEYWORDS and key not in found:
            found[key] = text
    if not found:
        raise ContentError("the PNG has no character card in it (no 'chara' or 'ccv3' text chunk)")
    warnings: list[str] = []
    card: Any = None
    if "ccv3" in found:
        try:
            card = decode_chunk_payload(found["ccv3"], "ccv3")
        except ContentError as exc:
            if "chara" not in found:
                raise
            warnings.append(tr("en", "card.warn.v3_unreadable", problem=exc.user_message))
            card = None
    if card is None:
        card = decode_chunk_payload(found["chara"], "chara")
    if not isinstance(card, dict):
        raise ContentError("the card in the PNG is not a JSON object")
    return RawCard(card, detect_spec(card), "png", png.strip_card_chunks(data), warnings)


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    if info.file_size > limit:
        raise ContentError(f"the CHARX member {info.filename!r} is larger than {_mib(limit)}")
    with zf.open(info) as handle:
        content = handle.read(limit + 1)
    if len(content) > limit:
        raise ContentError(f"the CHARX member {info.filename!r} is larger than {_mib(limit)}")
    return content


def _charx_avatar(zf: zipfile.ZipFile, card: dict[str, Any], warnings: list[str]) -> bytes | None:
    data = card.get("data")
    assets = data.get("assets") if isinstance(data, dict) else None
    if not isinstance(assets, list):
        return None
    icons = [a for a in assets if isinstance(a, dict) and a.get("type") == "icon" and isinstance(a.get("uri"), str)]
    icons.sort(key=lambda a: a.get("name") != "main")
    for icon in icons:
        uri = icon["uri"]
        for prefix in ("embeded://", "embedded://"):
            if uri.startswith(prefix):
                path = uri[len(prefix) :]
                break
        else:
            continue
        try:
            info = zf.getinfo(path)
        except KeyError:
            warnings.append(tr("en", "card.warn.icon_missing", path=path))
            continue
        image = _read_member(zf, info, MAX_FILE_BYTES)
        kind = png.sniff_image(image)
        if kind != "png":
            warnings.append(tr("en", "card.warn.icon_kind", kind=kind.upper()) if kind else tr("en", "card.warn.icon_not_image"))
            return None
        try:
            return png.strip_card_chunks(image)
        except ContentError as exc:
            warnings.append(tr("en", "card.warn.icon_not_kept", problem=exc.user_message))
            return None
    return None


def _card_from_charx(data: bytes) -> RawCard:
    warnings: list[str] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ZIP_MEMBERS:
                raise ContentError(f"the CHARX archive has more than {MAX_ZIP_MEMBERS} files")
            try:
                info = zf.getinfo("card.json")
            except KeyError:
                raise ContentError("the zip file has no card.json, so it is not a CHARX card") from None
            card = load_json(_read_member(zf, info, MAX_JSON_BYTES), "card.json in the CHARX archive")
            if not isinstance(card, dict):
                raise ContentError("card.json in the CHARX archive is not a JSON object")
            avatar = _charx_avatar(zf, card, warnings)
    except ContentError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, RuntimeError, NotImplementedError,
            ValueError) as exc:
        raise ContentError(f"the CHARX (zip) archive is damaged or unsupported ({exc})") from exc
    except Exception as exc:  # zlib and friends raise a variety of errors on corrupt members
        raise ContentError(f"the CHARX (zip) archive is damaged ({type(exc).__name__})") from exc
    return RawCard(card, detect_spec(card), "charx", avatar, warnings)


def _looks_like_json(data: bytes) -> bool:
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{")


def parse_card_bytes(data: bytes, filename: str = "") -> RawCard:
    """Read a card from the bytes of a JSON, PNG or CHARX file (detected by content, not by name).

    ``filename`` only prefixes error messages. Raises ContentError for anything that is not a card.
    """
    prefix = f"{filename}: " if filename else ""
    try:
        return _parse(data, filename)
    except ContentError as exc:
        raise ContentError(prefix + exc.user_message) from exc


def _parse(data: bytes, filename: str) -> RawCard:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ContentError("expected the bytes of a file")
    data = bytes(data)
    if len(data) > MAX_FILE_BYTES:
        raise ContentError(f"the file is larger than {_mib(MAX_FILE_BYTES)}")
    if not data.strip():
        raise ContentError("the file is empty")
    kind = png.sniff_image(data)
    if kind == "png":
        return _card_from_png(data)
    if kind is not None:
        raise ContentError(
            f"the image is a {kind.upper()}, not a PNG; save the card as PNG (or JSON) and import that"
        )
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _card_from_charx(data)
    if _looks_like_json(data):
        card = load_json(data, "the card")
        if not isinstance(card, dict):
            raise ContentError("the card is not a JSON object")
        return RawCard(card, detect_spec(card), "json", None, [])
    lower = filename.lower()
    if lower.endswith(".png"):
        raise ContentError("the file is named .png but is not a PNG image")
    raise ContentError("this is not a character card: expected a JSON, PNG or CHARX file")


def detect_spec(card: dict[str, Any]) -> str:
    """The card's spec name (``chara_card_v1``/``v2``/``v3``); raises ContentError if it is none of them."""
    return split_card(card)[0]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def split_card(card: Any) -> tuple[str, dict[str, Any], list[str]]:
    """(spec, data fields, warnings) of a card object of any version.

    V2/V3 fields live under ``data``; a field missing there is taken from the V1 mirror at the top
    level. A V1 card is its own data; SillyTavern's V1 extras (``creatorcomment``, ``talkativeness``,
    ``fav``) move to their V2 places and ST's bookkeeping keys (``chat``, ``avatar``...) are dropped.
    """
    if not isinstance(card, dict):
        raise ContentError("the card is not a JSON object")
    spec = card.get("spec")
    data = card.get("data")
    warnings: list[str] = []
    if spec in (SPEC_V2, SPEC_V3) or (isinstance(data, dict) and (spec is not None or "name" in data)):
        if not isinstance(data, dict):
            raise ContentError(f"the card says {spec} but its 'data' field is not an object")
        if spec is None:
            warnings.append(tr("en", "card.warn.no_spec"))
            spec = SPEC_V2
        elif spec not in (SPEC_V2, SPEC_V3):
            warnings.append(tr("en", "card.warn.unknown_spec", spec=_short(spec)))
            spec = SPEC_V2
        merged = dict(data)
        for key in V1_FIELDS:
            if key not in merged and key in card:
                merged[key] = card[key]
        return spec, merged, warnings
    if spec is not None:
        raise ContentError(f"unsupported card spec {_short(spec)} (expected chara_card_v2 or chara_card_v3)")
    if "entries" in card and "name" not in card and "first_mes" not in card:
        raise ContentError("this is a World Info / lorebook file, not a character card (use import-lore)")
    fields = {k: v for k, v in card.items() if k not in ST_INTERNAL_V1_FIELDS}
    if "creatorcomment" in fields:
        comment = fields.pop("creatorcomment")
        fields.setdefault("creator_notes", comment)
    moved = {k: fields.pop(k) for k in ("talkativeness", "fav") if k in fields}
    if moved:
        extensions = fields.get("extensions")
        if isinstance(extensions, dict):
            fields["extensions"] = {**moved, **extensions}
        elif extensions is None:
            fields["extensions"] = moved
    return SPEC_V1, fields, warnings
