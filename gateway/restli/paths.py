"""Request-target and path checks: one spelling per resource, or a refusal.

The gateway decides on the decoded path but forwards the raw one, so any spelling that two
parsers could read differently (dot segments, encoded slashes, matrix parameters, double
encoding, ...) is refused rather than normalized: RFC 3986 §3.3 and §6.2.2 list the
normalizations other servers may apply, and a path that needs none of them cannot be read
two ways. Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote

from gateway.errors import BadRequest, GatewayError, Refusal

# LinkedIn's limits (API guide, "Query tunneling"): URL 8 KB, query string 4 KB -> 414.
MAX_TARGET_LENGTH = 8192
MAX_QUERY_LENGTH = 4096

APIS = ("rest", "v2")

AMBIGUOUS_PATH = "ambiguous_path"

_PCT_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# RFC 3986 §3.3 pchar = unreserved / pct-encoded / sub-delims / ":" / "@". ";" is a
# sub-delim but starts matrix parameters, so it is refused separately.
_PCHAR = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,=:@"
)
# Unicode categories with no business in a path segment: controls, format characters
# (zero-width, bidi overrides), line/paragraph separators, surrogates, private use,
# unassigned.
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
# Characters that servers split or rewrite paths on, raw and percent-encoded, with why each
# is refused.
_RAW_REFUSED = {
    "#": "The path contains '#'; fragments are never sent to a server.",
    "\\": "The path contains a backslash.",
    ";": "The path contains ';' (matrix parameters are not accepted).",
}
_ENCODED_REFUSED = {
    "/": "The path contains an encoded slash (%2F).",
    "\\": "The path contains an encoded backslash (%5C).",
    ";": "The path contains an encoded ';' (%3B).",
}


@dataclass(frozen=True)
class ResourcePath:
    """A checked path: ``api`` ("rest" or "v2") and the decoded segments after it."""

    api: str
    segments: tuple[str, ...]


def split_target(raw_target: str) -> tuple[str, str]:
    """Split an origin-form request-target into (raw path, raw query without "?").

    Only origin-form (RFC 9112 §3.2.1) is accepted: absolute-form and authority-form
    would make the gateway an open proxy. Over-long targets and queries get 414.
    """
    if len(raw_target) > MAX_TARGET_LENGTH:
        raise BadRequest(
            f"The request target is longer than {MAX_TARGET_LENGTH} characters.",
            reason="uri_too_long",
            status=414,
        )
    if not raw_target.startswith("/") or raw_target.startswith("//"):
        raise BadRequest(
            "Only origin-form request targets (starting with a single '/') are accepted.",
            reason="absolute_target_refused",
        )
    raw_path, _, raw_query = raw_target.partition("?")
    if len(raw_query) > MAX_QUERY_LENGTH:
        raise BadRequest(
            f"The query string is longer than {MAX_QUERY_LENGTH} characters; use query tunneling.",
            reason="uri_too_long",
            status=414,
        )
    return raw_path, raw_query


def _ambiguous(message: str) -> BadRequest:
    return BadRequest(message, reason=AMBIGUOUS_PATH)


def _check_raw_characters(raw_path: str) -> None:
    for char in raw_path:
        refused = _RAW_REFUSED.get(char)
        if refused is not None:
            raise _ambiguous(refused)
        if not " " < char < "\x7f":
            raise _ambiguous(
                f"The path contains a control, space or non-ASCII character (U+{ord(char):04X})."
            )
        if char not in _PCHAR and char != "/":
            raise _ambiguous(f"The path contains the character {char!r}, not allowed by RFC 3986.")


def _check_escapes(raw_path: str) -> None:
    if _BAD_ESCAPE.search(raw_path):
        raise _ambiguous("The path contains an invalid percent escape.")
    for match in _PCT_ESCAPE.finditer(raw_path):
        byte = int(match.group(1), 16)
        char = chr(byte)
        refused = _ENCODED_REFUSED.get(char)
        if refused is not None:
            raise _ambiguous(refused)
        if byte < 0x20 or byte == 0x7F:
            raise _ambiguous(f"The path contains an encoded control character (%{byte:02X}).")
        # RFC 3986 §2.3: unreserved characters are never encoded by a URI producer; an
        # encoded one (%2E, %72, ...) only serves to be decoded differently somewhere.
        # "~" is left out: Java's URLEncoder encodes it.
        if char.isascii() and (char.isalnum() or char in "-._"):
            raise _ambiguous(f"The path contains an encoded unreserved character (%{byte:02X}).")


def _decode_segment(raw_segment: str) -> str:
    if raw_segment == "":
        raise _ambiguous("The path contains an empty segment ('//' or a trailing '/').")
    if set(raw_segment) == {"."}:
        raise _ambiguous("The path contains a dot segment.")
    try:
        segment = unquote(raw_segment, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise _ambiguous("A path segment does not decode as UTF-8.") from None
    if any(unicodedata.category(char) in _BAD_CATEGORIES for char in segment):
        raise _ambiguous("A path segment decodes to a control or invisible character.")
    if segment != segment.strip():
        raise _ambiguous("A path segment starts or ends with whitespace.")
    # Look-alikes such as FULLWIDTH FULL STOP become "." under NFKC, which some
    # stacks apply to paths.
    folded = unicodedata.normalize("NFKC", segment)
    if "/" in folded or "\\" in folded or set(folded) == {"."}:
        raise _ambiguous("A path segment decodes to a look-alike of '/', '\\' or '.'.")
    if _PCT_ESCAPE.search(segment):
        raise _ambiguous("The path contains a double-encoded percent escape.")
    return segment


def parse_resource_path(raw_path: str) -> ResourcePath:
    """Check a raw path and return its API prefix and decoded segments.

    Refuses (400 ``ambiguous_path``) anything another parser could read differently;
    answers 404 ``unknown_api`` for a path outside ``/rest/`` and ``/v2/``. Keys such as
    ``urn%3Ali%3Aperson%3A1`` decode to ``urn:li:person:1``.
    """
    if not raw_path.startswith("/"):
        raise _ambiguous("The path must start with '/'.")
    if raw_path == "/":
        raise _unknown_api()
    _check_raw_characters(raw_path)
    _check_escapes(raw_path)
    segments = tuple(_decode_segment(raw) for raw in raw_path[1:].split("/"))
    if segments[0] not in APIS or len(segments) < 2:
        raise _unknown_api()
    return ResourcePath(api=segments[0], segments=segments[1:])


def _unknown_api() -> GatewayError:
    return GatewayError(
        Refusal(
            status=404,
            reason="unknown_api",
            code="NOT_FOUND",
            message="Only paths under /rest/ and /v2/ are served.",
        )
    )
