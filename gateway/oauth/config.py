"""Parse the ``oauth:`` section and the per-app OAuth keys of gateway.yaml. Pure.

The settings loader calls these with its ``fail(path, message)`` so every problem is
reported with the file and key path, together with all the others.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from gateway.settings.model import OAuthSettings
from gateway.settings.sections import read_section

Fail = Callable[[str, str], None]

LINKEDIN_OAUTH_BASE = "https://www.linkedin.com/oauth/v2"
OAUTH_KEYS = frozenset(f.name for f in fields(OAuthSettings))
_URL = re.compile(r"^https?://[^/?#\s]+(/[^#\s]*)?$")
_INTEGERS = frozenset({"negative_cache_entries", "local_cache_entries"})


@dataclass(frozen=True)
class AppOAuth:
    redirect_uri: str | None = None
    return_url: str | None = None
    trusted_member_header: bool = False


def parse_oauth_section(raw: object, fail: Fail) -> OAuthSettings:
    """The ``oauth:`` mapping as OAuthSettings; unknown keys and bad values are reported."""
    section = read_section(raw, "oauth", OAUTH_KEYS, "must be a mapping", fail)
    if section is None:
        return OAuthSettings()
    values: dict[str, Any] = {}
    for key, value in section.items():
        path = f"oauth.{key}"
        if key not in OAUTH_KEYS:
            continue
        if key in ("base", "discovery_url"):
            if value is not None and not (isinstance(value, str) and _URL.match(value)):
                fail(path, f"must be an http(s) URL, not {value!r}")
            elif value is not None:
                values[key] = value.rstrip("/")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            fail(path, "must be a positive number")
        elif key in _INTEGERS and not isinstance(value, int):
            fail(path, "must be a whole number")
        else:
            values[key] = value if key in _INTEGERS else float(value)
    return OAuthSettings(**values)


def parse_app_oauth(body: dict[str, Any], path: str, fail: Fail) -> AppOAuth:
    """An app's ``redirect_uri``, ``return_url`` and ``trusted_member_header``."""
    urls: dict[str, str | None] = {}
    for key in ("redirect_uri", "return_url"):
        value = body.get(key)
        if value is not None and not (isinstance(value, str) and _URL.match(value)):
            fail(f"{path}.{key}", f"must be an http(s) URL, not {value!r}")
            value = None
        urls[key] = value
    trusted = body.get("trusted_member_header", False)
    if not isinstance(trusted, bool):
        fail(f"{path}.trusted_member_header", "must be true or false")
        trusted = False
    return AppOAuth(urls["redirect_uri"], urls["return_url"], trusted)


def oauth_base(settings: OAuthSettings, sandbox_base: str | None) -> str:
    """The OAuth base URL: configured, else the built-in sandbox's, else LinkedIn's."""
    if settings.base is not None:
        return settings.base
    if sandbox_base is not None:
        return sandbox_base.rstrip("/") + "/oauth/v2"
    return LINKEDIN_OAUTH_BASE


def discovery_url(settings: OAuthSettings, base: str) -> str:
    """OpenID discovery: configured, else next to the OAuth base, as LinkedIn publishes it
    (``https://www.linkedin.com/oauth/.well-known/openid-configuration``)."""
    if settings.discovery_url is not None:
        return settings.discovery_url
    root = base[: -len("/v2")] if base.endswith("/v2") else base
    return root + "/.well-known/openid-configuration"
