"""LinkedIn's webhook validation and push signatures. Pure.

shared/api-guide/webhook-validation: LinkedIn validates an endpoint with
``GET <webhook>?challengeCode=<uuid>`` and expects, within 3 seconds, 200 and JSON
``{"challengeCode": ..., "challengeResponse": hex(HMAC-SHA256(key=client_secret,
msg=challengeCode))}``. Every push carries ``X-LI-Signature``: the hex HMAC-SHA256, keyed
by the client secret, of ``"hmacsha256=" + raw body``.

Both use the same key, and the challenge answers anyone, so the two must sign disjoint sets
of messages or the challenge becomes a signing oracle (ask for ``"hmacsha256=" + body``,
push ``body`` with the answer). The domains are kept apart on both sides:

- the challenge signs only a canonical UUID: exactly 36 characters of ``[0-9a-f-]`` in the
  8-4-4-4-12 shape (``challenge_code_valid``);
- a push verifies only one message, ``b"hmacsha256=" + body``, whose first byte (``h``) no
  UUID holds, and only one header shape, 64 hex digits with an optional ``hmacsha256=``
  prefix; no other digest (over the bare body, or any other framing) is ever compared.

So no MAC the challenge answers equals a MAC a push is checked against, whatever the body.
"""

from __future__ import annotations

import hashlib
import hmac
import re

SIGNATURE_HEADER = "X-LI-Signature"
SIGNED_PREFIX = b"hmacsha256="
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII)
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}", re.ASCII)


def challenge_code_valid(code: str) -> bool:
    """True for a UUID as LinkedIn sends it (any case, no braces, no spaces)."""
    return _UUID.fullmatch(code.lower()) is not None


def challenge_response(client_secret: str, challenge_code: str) -> str:
    """The hex HMAC-SHA256 of a UUID ``challenge_code`` keyed by the app's client secret."""
    if not challenge_code_valid(challenge_code):
        raise ValueError("a challenge code must be a UUID")
    return hmac.new(client_secret.encode(), challenge_code.encode(), hashlib.sha256).hexdigest()


def push_signature(client_secret: str, body: bytes) -> str:
    """The ``X-LI-Signature`` LinkedIn sends with ``body``."""
    return hmac.new(client_secret.encode(), SIGNED_PREFIX + body, hashlib.sha256).hexdigest()


def signature_valid(client_secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` is the push signature of ``body``.

    Compared in constant time (``hmac.compare_digest``) so response timing reveals nothing
    about the expected value. Hex case is ignored; a ``hmacsha256=`` prefix on the header
    value, which some senders add, is accepted. Anything else (spaces, other lengths) is not.
    """
    if header is None:
        return False
    given = header.lower().removeprefix("hmacsha256=")
    if _HEX_DIGEST.fullmatch(given) is None:
        return False
    return hmac.compare_digest(given, push_signature(client_secret, body))
