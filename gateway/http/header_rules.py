"""Headers that could mean one thing to the gateway and another to the upstream. Pure.

The gateway decides on some headers (the credential, the Rest.li method and tunneling, the
media type, the version, the sidecar's member) and the upstream reads them again after the
proxy has passed them on. Anything that lets the two readings differ is refused, never
tidied up:

* ``Connection`` naming one of them: a proxy must remove the fields Connection lists
  (RFC 9110 §7.6.1), so the upstream would not see what the gateway decided on.
* one of them repeated, in any letter case: which one counts is up to each reader, and a
  server that joins repeats with commas reads a third value (RFC 9110 §5.3).
* a name that reads as one of them where ``_`` becomes ``-`` (CGI, several proxies).
* ``Content-Encoding`` on a request: the server side decodes the body before the gateway
  reads it, so the bytes checked are not the bytes sent (RFC 9110 §8.4, §15.5.16: 415).
* a transfer coding other than ``chunked``: the gateway re-frames bodies and would drop it
  (RFC 9112 §6.1: 501 for a transfer coding the server does not understand).
* ``Cookie``: LinkedIn's own session cookies authenticate a member, so a cookie would be a
  second credential beside the bearer token the gateway checked. The API reads none.
"""

from __future__ import annotations

from collections.abc import Iterable

from multidict import CIMultiDictProxy

from gateway.errors import BadRequest, GatewayError, Refusal

# Read by the gateway to authenticate, classify or frame a request, or by the member step.
READ_HEADERS = frozenset(
    {
        "authorization",
        "content-encoding",
        "content-length",
        "content-type",
        "host",
        "linkedin-version",
        "transfer-encoding",
        "x-gateway-member",
        "x-gateway-member-secret",
        "x-http-method-override",
        "x-restli-method",
        "x-restli-protocol-version",
    }
)
# Whole families the gateway or LinkedIn read: none of them may be made hop-by-hop.
READ_PREFIXES = ("content-", "linkedin-", "x-restli-", "x-gateway-", "x-http-method-")
SHOWN = 60


def _is_read(lower_name: str) -> bool:
    return lower_name in READ_HEADERS or lower_name.startswith(READ_PREFIXES)


def _shown(name: str) -> str:
    return name[:SHOWN] if name.isascii() and name.isprintable() else "?"


def _connection_tokens(values: Iterable[str]) -> list[str]:
    return [token.strip(" \t") for value in values for token in value.split(",")]


def check_request_headers(headers: CIMultiDictProxy[str], raw_names: Iterable[bytes]) -> None:
    """Raise the refusal for a request whose headers the upstream could read differently.

    ``headers`` are the parsed request headers, ``raw_names`` the header names as received
    (``request.raw_headers``), whose spelling the parsed view folds away.
    """
    for token in _connection_tokens(headers.getall("Connection", ())):
        if _is_read(token.lower()):
            raise BadRequest(
                f"The Connection header names {_shown(token)}, a header the gateway decides "
                "on: the upstream would not receive it.",
                reason="connection_header_refused",
            )
    seen: set[str] = set()
    for raw in raw_names:
        name = raw.decode("latin-1")
        lower = name.lower()
        if "_" in lower and _is_read(lower.replace("_", "-")):
            raise BadRequest(
                f"The header name {_shown(name)} reads as another header where '_' becomes "
                "'-'; send it spelt with '-'.",
                reason="header_name_ambiguous",
            )
        if lower in READ_HEADERS:
            if lower in seen:
                raise BadRequest(
                    f"The {_shown(name)} header is given more than once; send it once.",
                    reason="repeated_header",
                )
            seen.add(lower)
    if "cookie" in headers:
        raise BadRequest(
            "Cookies are not accepted: the bearer token in Authorization is the one "
            "credential the gateway checks and forwards.",
            reason="cookie_refused",
        )
    if "content-encoding" in seen:
        raise GatewayError(content_encoding_refusal())
    coding = headers.get("Transfer-Encoding")
    if coding is not None and coding.strip(" \t").lower() != "chunked":
        raise GatewayError(
            Refusal(
                status=501,
                reason="transfer_encoding_unsupported",
                code="NOT_IMPLEMENTED",
                message="Only the chunked transfer coding is accepted on a request.",
            )
        )


def content_encoding_refusal() -> Refusal:
    """415 for a request body with a content coding; ``Accept-Encoding`` says what is
    accepted (RFC 7694 §3)."""
    return Refusal(
        status=415,
        reason="content_encoding_unsupported",
        code="UNSUPPORTED_MEDIA_TYPE",
        message=(
            "Request bodies are accepted without Content-Encoding only: the gateway forwards "
            "exactly the bytes it checked."
        ),
        headers={"Accept-Encoding": "identity"},
    )
