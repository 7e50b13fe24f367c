"""Secrets out of printed text: URL passwords and credential query parameters masked.

Everything the gateway prints about a URL (the start-up line, the demo banner, an error)
goes through ``mask_url``; ``mask_text`` applies the same masks to any line, as a last net
for text the gateway did not build itself.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

MASK = "***"

# Query parameters that carry a credential in OAuth 2.0 (RFC 6749 §4.1.2, §4.1.3, §6; RFC
# 6750 §2.3 for access_token), LinkedIn's oauth2_access_token, and redis-py's password=.
SECRET_PARAMS = frozenset(
    {
        "oauth2_access_token",
        "access_token",
        "refresh_token",
        "id_token",
        "code",
        "client_secret",
        "password",
        "code_verifier",
        "challengecode",
    }
)

# scheme://user:password@host → the password; name=value where name is a secret parameter.
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*:)[^\s/@]*@")
_PARAM = re.compile(
    r"(?P<head>(?:^|[?&;\s])(?:" + "|".join(sorted(SECRET_PARAMS)) + r")=)[^&#\s'\"]*",
    flags=re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<head>\bBearer\s+)[^\s'\",]+", flags=re.IGNORECASE)


def mask_url(url: str) -> str:
    """``url`` with its password and secret query values replaced by ``***``.

    ``redis://:pw@host/0`` → ``redis://:***@host/0``; ``/cb?code=x&state=s`` →
    ``/cb?code=***&state=s``. Text that does not parse as a URL is masked as text.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a bad port raises here, before anything is printed
    except ValueError:
        return mask_text(url)
    # Rebuilt by hand: urlunsplit drops the "//" of an empty authority (unix:///path).
    shown = f"{parts.scheme}:" if parts.scheme else ""
    if url[len(shown) :].startswith("//"):
        shown += "//" + _masked_netloc(parts)
    shown += parts.path
    if parts.query:
        shown += "?" + "&".join(_masked_pair(pair) for pair in parts.query.split("&"))
    return shown + (f"#{parts.fragment}" if parts.fragment else "")


def mask_text(text: str) -> str:
    """Any line with URL passwords, secret parameters and bearer tokens masked."""
    text = _USERINFO.sub(rf"\g<head>{MASK}@", text)
    text = _PARAM.sub(rf"\g<head>{MASK}", text)
    return _BEARER.sub(rf"\g<head>{MASK}", text)


def _masked_netloc(parts: SplitResult) -> str:
    if parts.password is None:
        return parts.netloc
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.username or ''}:{MASK}@{host}"


def _masked_pair(pair: str) -> str:
    name, sep, _ = pair.partition("=")
    return f"{name}={MASK}" if sep and name.lower() in SECRET_PARAMS else pair
