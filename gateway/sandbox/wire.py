"""Wire details of LinkedIn's answers: error bodies, Rest.li key encoding, request bodies."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aiohttp import web

from gateway.restli.syntax import split_top_level

JSON = "application/json"
DEFAULT_PAGE_SIZE = 10

# Shapes LinkedIn uses for the statuses a test most often wants to provoke (API guide,
# "Error handling"; the 429 message is the one LinkedIn sends for a daily member quota).
_KNOWN_ERRORS: Mapping[int, tuple[int | None, str, str]] = {
    400: (None, "BAD_REQUEST", "Bad Request"),
    401: (65600, "INVALID_ACCESS_TOKEN", "Invalid access token"),
    403: (100, "ACCESS_DENIED", "Not enough permissions to access this resource"),
    404: (0, "NOT_FOUND", "Not Found"),
    426: (None, "NONEXISTENT_VERSION", "Requested version is not active"),
    429: (
        101,
        "TOO_MANY_REQUESTS",
        "Resource level throttle APPLICATION_AND_MEMBER DAY limit for calls to this resource "
        "is reached.",
    ),
}

# Rest.li 2.0 "reduced encoding": inside JSON bodies and headers only the characters that
# carry Rest.li structure (and the escape character itself) are percent-encoded.
_REDUCED = re.compile(r"[%(),:']")


class InputError(ValueError):
    """The request's body or query is not what its Rest.li method needs."""


def error_body(
    status: int, code: str, message: str, service_error_code: int | None = None
) -> dict[str, object]:
    body: dict[str, object] = {"status": status}
    if service_error_code is not None:
        body["serviceErrorCode"] = service_error_code
    body["code"] = code
    body["message"] = message
    return body


def json_response(
    payload: object, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(payload, separators=(",", ":")).encode(),
        content_type=JSON,
        headers=headers,
    )


def error_response(
    status: int, code: str, message: str, service_error_code: int | None = None
) -> web.Response:
    return json_response(error_body(status, code, message, service_error_code), status=status)


def status_error_body(status: int, message: str | None = None) -> dict[str, object]:
    """A LinkedIn-shaped error body for any status, with LinkedIn's codes where known."""
    known = _KNOWN_ERRORS.get(status)
    if known is not None:
        service_error_code, code, default_message = known
    else:
        phrase = HTTPStatus(status).phrase
        service_error_code, code, default_message = None, _constant(phrase), phrase
    return error_body(status, code, message or default_message, service_error_code)


def not_found_body() -> dict[str, object]:
    return status_error_body(404)


def bad_request(message: str) -> web.Response:
    return error_response(400, "BAD_REQUEST", message)


def encode_key(key: str) -> str:
    """The encoded form of a decoded key, as it appears in batch maps.

    Rest.li 2.0 keeps the structure of complex keys (``(a:b,c:d)``, ``List(...)``) literal
    and gives each value the reduced encoding, so ``urn:li:share:1`` becomes
    ``urn%3Ali%3Ashare%3A1`` — the string the official SDK's ``encoder.encode`` produces.
    """
    if key.startswith("List(") and key.endswith(")"):
        return "List(" + ",".join(encode_key(item) for item in split_top_level(key[5:-1])) + ")"
    if key.startswith("(") and key.endswith(")"):
        pairs = []
        for pair in split_top_level(key[1:-1]):
            # Field names never hold a colon, so the first one separates name from value.
            name, _, value = pair.partition(":")
            pairs.append(f"{_reduced(name)}:{encode_key(value)}")
        return "(" + ",".join(pairs) + ")"
    return _reduced(key)


def json_object_body(content_type: str, body: bytes | None) -> dict[str, Any]:
    """The JSON object a create/update carries, also out of a tunneled multipart/mixed body.

    Query tunneling with a body (API guide, "Query Tunneling") sends a form part with the
    query, then the JSON part; only the JSON part is the entity.
    """
    raw = body or b""
    mime, _, params = content_type.partition(";")
    if mime.strip().lower() == "multipart/mixed":
        raw = _json_part(params, raw)
    if not raw.strip():
        raise InputError("The request body must be a JSON object; it is empty")
    try:
        parsed = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise InputError("The request body must be a JSON object")
    return parsed


def page_bounds(query: tuple[tuple[str, str], ...]) -> tuple[int, int]:
    """``start`` and ``count`` from the query (Rest.li paging); defaults 0 and 10."""
    values = dict(query)
    start = _non_negative(values.get("start"), "start", 0)
    count = _non_negative(values.get("count"), "count", DEFAULT_PAGE_SIZE)
    return start, count


def _reduced(value: str) -> str:
    return _REDUCED.sub(lambda match: f"%{ord(match.group()):02X}", value)


def _non_negative(raw: str | None, name: str, default: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit():
        raise InputError(f"Query parameter {name} must be a non-negative integer")
    return int(raw)


def _json_part(params: str, body: bytes) -> bytes:
    boundary = ""
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        raise InputError("multipart/mixed body without a boundary")
    for part in body.split(b"--" + boundary.encode()):
        head, sep, content = part.partition(b"\r\n\r\n")
        if sep and b"application/json" in head.lower():
            return content.removesuffix(b"\r\n")
    raise InputError("multipart/mixed body without an application/json part")


def _constant(phrase: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", phrase.upper()).strip("_")
