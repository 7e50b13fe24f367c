"""What ties a flow to the browser that started it, and its code to this gateway. Pure.

Login CSRF: a callback URL from a flow an attacker started, opened by a victim, would hand
the attacker's tokens to the victim's session at ``return_url``. So ``/oauth/authorize``
sets a cookie holding a random secret, the state records the secret's SHA-256 and the
cookie's name, and ``/oauth/callback`` refuses a state whose cookie the browser does not
send back (``state_not_bound``).

The cookie is ``__Host-lgw_oauth_<id>`` with ``Secure; HttpOnly; SameSite=Lax; Path=/`` when
the browser reaches the gateway over TLS (the request came over TLS, or the app's
``redirect_uri`` is https). Browsers refuse ``__Host-`` and ``Secure`` cookies on a
plain-http origin (the loopback demo), so there the name drops the prefix and the cookie
drops ``Secure``. The state records the name it was issued under: a flow started over TLS
never accepts the weaker name, which a sibling subdomain could have planted. ``<id>`` is 16
hex digits of the state's SHA-256, so two flows in two tabs keep two cookies. Lax is sent on
LinkedIn's top-level redirect back to the callback, and on no cross-site subrequest.

PKCE (RFC 7636, S256): the state also keeps a code_verifier; the authorization URL carries
its challenge and the code exchange the verifier, so a code taken from a callback URL is
worth nothing without the state record.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

COOKIE_STEM = "lgw_oauth_"
HOST_PREFIX = "__Host-"
PKCE_METHOD = "S256"


@dataclass(frozen=True)
class Binding:
    """The cookie a flow sets: its name, the secret it holds and that secret's digest."""

    name: str
    secret: str
    digest: str
    secure: bool


def new_binding(state: str, *, secure: bool) -> Binding:
    stem = COOKIE_STEM + hashlib.sha256(state.encode()).hexdigest()[:16]
    secret = secrets.token_urlsafe(32)
    return Binding(
        name=(HOST_PREFIX + stem) if secure else stem,
        secret=secret,
        digest=secret_digest(secret),
        secure=secure,
    )


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def bound(recorded_digest: object, cookie: str | None) -> bool:
    """True when ``cookie`` is the secret whose digest the state recorded."""
    if not isinstance(recorded_digest, str) or cookie is None:
        return False
    return hmac.compare_digest(recorded_digest.encode(), secret_digest(cookie).encode())


def new_code_verifier() -> str:
    """43-128 unreserved characters (RFC 7636 §4.1): 64 here."""
    return secrets.token_urlsafe(48)


def code_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2, S256)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
