"""The query of a Rest.li request: URL query, tunneled bodies and batch ids. Pure.

Sources: LinkedIn API guide, "Query tunneling" and "Protocol version" (Rest.li 2.0 encoding:
``List(a,b)``, ``(k:v,k2:v2)``, structure characters literal, values percent-encoded);
Rest.li's ``QueryTunnelUtil`` (form body = query; multipart/mixed = form part + entity part);
the official SDK's ``query_tunneling.py``; RFC 2046 §5.1.1 (multipart syntax);
RFC 9110 §8.3 (Content-Type).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, unquote_plus

from gateway.errors import BadRequest
from gateway.restli.syntax import split_top_level

FORM_URLENCODED = "application/x-www-form-urlencoded"
MULTIPART_MIXED = "multipart/mixed"

# Parameters the classification depends on; a second, different value makes the
# request mean two things.
DECISION_PARAMS = ("q", "bq", "action")
# Method headers smuggled into the query are read like the headers themselves.
RESTLI_METHOD_PARAM = "x-restli-method"
METHOD_OVERRIDE_PARAM = "x-http-method-override"

_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_MEDIA_TYPE = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+)/([!#$%&'*+\-.^_`|~0-9A-Za-z]+)")
# RFC 2046 §5.1.1: bcharsnospace := DIGIT / ALPHA / "'" / "(" / ")" / "+" / "_" / "," /
# "-" / "." / "/" / ":" / "=" / "?"; a space is allowed but not last; 1 to 70 characters.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_INDEXED_IDS = re.compile(r"ids\[([0-9]{1,6})\](?:\.(.+))?", re.DOTALL)
_ALLOWED_TRANSFER_ENCODINGS = frozenset({"7bit", "8bit", "binary"})


@dataclass(frozen=True)
class QueryParam:
    """One query parameter: decoded name and value, plus the value as sent."""

    key: str
    value: str
    raw_value: str
    form: bool


@dataclass(frozen=True)
class MultipartBody:
    """A tunneled multipart/mixed body: the query part and the entity part, if any."""

    query: str
    entity_type: str | None
    entity: bytes | None


def _decode(raw: str, *, form: bool, what: str) -> str:
    if _BAD_ESCAPE.search(raw):
        raise BadRequest(f"The {what} contains an invalid percent escape.")
    try:
        if form:
            return unquote_plus(raw, encoding="utf-8", errors="strict")
        return unquote(raw, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise BadRequest(f"The {what} does not decode as UTF-8.") from None


def parse_query(raw_query: str, *, form: bool) -> tuple[QueryParam, ...]:
    """Parse a raw query (URL query, or a form body when ``form``) strictly.

    Split on "&", then on the first "="; names and values are percent-decoded (form bodies
    also turn "+" into a space). Empty components are skipped. Anything but printable
    ASCII, a ";" (a separator to some servers) or an invalid escape is a 400.
    """
    where = "tunneled query" if form else "query string"
    for char in raw_query:
        if not " " < char < "\x7f":
            raise BadRequest(
                f"The {where} contains a control, space or non-ASCII character (U+{ord(char):04X})."
            )
        if char in "#;":
            raise BadRequest(f"The {where} contains {char!r}, which servers split differently.")
    params: list[QueryParam] = []
    for component in raw_query.split("&"):
        if component == "":
            continue
        raw_key, _, raw_value = component.partition("=")
        key = _decode(raw_key, form=form, what=where)
        if key == "":
            raise BadRequest(f"The {where} contains a parameter without a name.")
        value = _decode(raw_value, form=form, what=where)
        params.append(QueryParam(key=key, value=value, raw_value=raw_value, form=form))
    return tuple(params)


def check_decision_params(params: tuple[QueryParam, ...]) -> None:
    """Refuse a parameter the classification depends on given twice with different values."""
    for name in DECISION_PARAMS:
        values = {p.value for p in params if p.key == name}
        if len(values) > 1:
            raise BadRequest(f"The query parameter {name!r} is given with different values.")
    if any(p.key.lower() == METHOD_OVERRIDE_PARAM for p in params):
        raise BadRequest("X-HTTP-Method-Override is accepted only as a header.")


def restli_method_params(params: tuple[QueryParam, ...]) -> tuple[str, ...]:
    """Values of an ``X-RestLi-Method`` query parameter (any case), read like the header."""
    return tuple(p.value for p in params if p.key.lower() == RESTLI_METHOD_PARAM)


# --- Content-Type and multipart ------------------------------------------------------------


def _split_params(text: str) -> list[str]:
    """Split on ";" outside quoted strings."""
    out: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            out.append("".join(current))
            current = []
            continue
        current.append(char)
    if quoted:
        raise BadRequest("The Content-Type header has an unterminated quoted string.")
    out.append("".join(current))
    return out


def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """Parse a Content-Type value (RFC 9110 §8.3) into (lower-case type, parameters)."""
    parts = _split_params(value)
    media_type = parts[0].strip(" \t")
    if not _MEDIA_TYPE.fullmatch(media_type):
        raise BadRequest("The Content-Type header is malformed.")
    params: dict[str, str] = {}
    for part in parts[1:]:
        name, eq, param_value = part.strip(" \t").partition("=")
        if not eq or not _TOKEN.fullmatch(name):
            raise BadRequest("The Content-Type header has a malformed parameter.")
        if param_value.startswith('"'):
            if len(param_value) < 2 or not param_value.endswith('"'):
                raise BadRequest("The Content-Type header has a malformed quoted parameter.")
            param_value = re.sub(r"\\(.)", r"\1", param_value[1:-1], flags=re.DOTALL)
        elif not _TOKEN.fullmatch(param_value):
            raise BadRequest("The Content-Type header has a malformed parameter value.")
        name = name.lower()
        if name in params:
            raise BadRequest(f"The Content-Type parameter {name!r} is repeated.")
        params[name] = param_value
    return media_type.lower(), params


def media_type_of(value: str) -> str:
    """The lower-case media type of a Content-Type value, read leniently."""
    return value.split(";", 1)[0].strip(" \t").lower()


def _parse_part_headers(block: bytes) -> dict[str, str]:
    try:
        text = block.decode("ascii")
    except UnicodeDecodeError:
        raise BadRequest("A multipart part header is not ASCII.") from None
    headers: dict[str, str] = {}
    for line in text.split("\r\n"):
        name, colon, value = line.partition(":")
        # Folded (obsolete) header lines and bare CR/LF are refused: RFC 9112 §5.2.
        if not colon or not _TOKEN.fullmatch(name) or "\r" in value or "\n" in value:
            raise BadRequest("A multipart part has a malformed header line.")
        name = name.lower()
        if name in headers:
            raise BadRequest(f"A multipart part repeats the header {name!r}.")
        headers[name] = value.strip(" \t")
    return headers


def _parse_part(raw: bytes) -> tuple[str, bytes]:
    if raw.startswith(b"\r\n"):
        headers: dict[str, str] = {}
        content = raw[2:]
    else:
        end = raw.find(b"\r\n\r\n")
        if end < 0:
            raise BadRequest("A multipart part has no end of headers.")
        headers = _parse_part_headers(raw[:end])
        content = raw[end + 4 :]
    encoding = headers.get("content-transfer-encoding", "binary").lower()
    if encoding not in _ALLOWED_TRANSFER_ENCODINGS:
        raise BadRequest("A multipart part uses a Content-Transfer-Encoding that hides data.")
    # RFC 2046 §5.1: a part without Content-Type is text/plain.
    media_type, _ = parse_content_type(headers.get("content-type", "text/plain"))
    return media_type, content


def split_multipart(body: bytes, boundary: str) -> list[tuple[str, bytes]]:
    """Split a multipart body (RFC 2046 §5.1.1) into (media type, content) parts.

    Strict: no preamble, a close delimiter required, nothing but whitespace after it.
    """
    if not _BOUNDARY.fullmatch(boundary):
        raise BadRequest("The multipart boundary is missing or malformed.")
    delimiter = b"\r\n--" + boundary.encode("ascii")
    pieces = (b"\r\n" + body).split(delimiter)
    if pieces[0] != b"":
        raise BadRequest("The multipart body does not start with its boundary.")
    parts: list[tuple[str, bytes]] = []
    closed = False
    for piece in pieces[1:]:
        if closed:
            raise BadRequest("The multipart body continues after its close delimiter.")
        if piece.startswith(b"--"):
            if piece[2:].strip(b" \t\r\n") != b"":
                raise BadRequest("The multipart body has data after its close delimiter.")
            closed = True
            continue
        line_end = piece.find(b"\r\n")
        if line_end < 0 or piece[:line_end].strip(b" \t") != b"":
            raise BadRequest("A multipart boundary line is malformed.")
        parts.append(_parse_part(piece[line_end + 2 :]))
    if not closed:
        raise BadRequest("The multipart body has no close delimiter.")
    return parts


def parse_tunneled_multipart(body: bytes, content_type: str) -> MultipartBody:
    """Read a tunneled multipart/mixed body: a form part (the query), then at most one entity.

    This is the shape the SDK sends and Rest.li's ``QueryTunnelUtil`` reads.
    """
    _, params = parse_content_type(content_type)
    boundary = params.get("boundary")
    if boundary is None:
        raise BadRequest("The multipart/mixed Content-Type has no boundary.")
    parts = split_multipart(body, boundary)
    if not parts or len(parts) > 2:
        raise BadRequest("A tunneled multipart body must have one or two parts.")
    query_type, query_bytes = parts[0]
    if query_type != FORM_URLENCODED:
        raise BadRequest(f"The first multipart part must be {FORM_URLENCODED}.")
    query = decode_form_bytes(query_bytes)
    if len(parts) == 1:
        return MultipartBody(query=query, entity_type=None, entity=None)
    entity_type, entity = parts[1]
    return MultipartBody(query=query, entity_type=entity_type, entity=entity)


def decode_form_bytes(body: bytes) -> str:
    """A form body as text; it is an encoded query, so only ASCII is valid."""
    try:
        return body.decode("ascii")
    except UnicodeDecodeError:
        raise BadRequest("The tunneled query is not ASCII (it must be percent-encoded).") from None


# --- Batch ids -----------------------------------------------------------------------------


def _check_balanced(raw: str) -> None:
    depth = 0
    for char in raw:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                break
    if depth != 0:
        raise BadRequest("The ids parameter has unbalanced parentheses.")


def parse_restli_list(raw_value: str, *, form: bool) -> tuple[str, ...]:
    """Split a raw Rest.li 2.0 ``List(...)`` at top-level commas and decode each item.

    Structure characters are literal and item characters percent-encoded (protocol 2.0),
    so ``List((a:urn%3Ali%3Ax%3A1,b:2),(a:3,b:4))`` has two items.
    """
    if not raw_value.startswith("List(") or not raw_value.endswith(")"):
        raise BadRequest("The ids parameter is not a Rest.li List(...).")
    inner = raw_value[5:-1]
    _check_balanced(inner)
    items = split_top_level(inner)
    if "" in items:
        raise BadRequest("The ids parameter has an empty item.")
    return tuple(_decode(item, form=form, what="ids parameter") for item in items)


def _indexed_ids(params: list[tuple[re.Match[str], QueryParam]]) -> tuple[str, ...]:
    plain: dict[int, str] = {}
    fields: dict[int, dict[str, str]] = {}
    for match, param in params:
        index = int(match.group(1))
        field = match.group(2)
        if field is None:
            if plain.get(index, param.value) != param.value:
                raise BadRequest(f"ids[{index}] is given with different values.")
            plain[index] = param.value
        else:
            known = fields.setdefault(index, {})
            if known.get(field, param.value) != param.value:
                raise BadRequest(
                    f"ids[{index}].{ascii(field)[:60]} is given with different values."
                )
            known[field] = param.value
    if plain.keys() & fields.keys():
        raise BadRequest("An ids[i] key is given both whole and by fields.")
    items = dict(plain)
    for index, by_field in fields.items():
        pairs = ",".join(f"{name}:{value}" for name, value in sorted(by_field.items()))
        items[index] = f"({pairs})"
    return tuple(items[index] for index in sorted(items))


def batch_ids(params: tuple[QueryParam, ...]) -> tuple[str, ...] | None:
    """The ids of a batch call, or None when the query names no ids.

    Forms: ``ids=List(a,b)`` (protocol 2.0), repeated ``ids=a&ids=b`` (1.0), and
    ``ids[0].k=v`` keys (1.0 complex keys, one id per distinct index). Mixing forms,
    different ``List`` values, or an encoded ``List%28...`` is ambiguous: 400.
    """
    plain = [p for p in params if p.key == "ids"]
    indexed: list[tuple[re.Match[str], QueryParam]] = []
    for param in params:
        if param.key.startswith("ids[") or param.key.startswith("ids."):
            match = _INDEXED_IDS.fullmatch(param.key)
            if match is None:
                raise BadRequest(
                    f"The query key {ascii(param.key)[:60]} is not a valid ids[i] key."
                )
            indexed.append((match, param))
    if plain and indexed:
        raise BadRequest("The ids are given both as ids= and as ids[i] keys.")
    if indexed:
        return _indexed_ids(indexed)
    if not plain:
        return None
    for param in plain:
        _check_balanced(param.raw_value)
        if not param.raw_value.startswith("List(") and param.value.startswith("List("):
            raise BadRequest("The ids parameter encodes the List(...) syntax itself.")
    lists = [p for p in plain if p.raw_value.startswith("List(")]
    if not lists:
        return tuple(p.value for p in plain)
    if len(lists) != len(plain):
        raise BadRequest("The ids are given both as List(...) and as single values.")
    parsed = {parse_restli_list(p.raw_value, form=p.form) for p in lists}
    if len(parsed) > 1:
        raise BadRequest("The ids parameter is given with different List(...) values.")
    return parsed.pop()
