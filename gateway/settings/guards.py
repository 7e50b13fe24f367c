"""The config of what the gateway trusts and how hard it may be pushed: the admin token,
where an ``X-Gateway-Member`` header may come from, and the introspection budget.

Keys (top level of gateway.yaml)::

    admin_token_env: GATEWAY_ADMIN_TOKEN      # required unless admin_listen is loopback
    member_header:
      trusted_sources: [127.0.0.0/8, ::1/128] # peers whose X-Gateway-Member is believed
      secret_env: GATEWAY_MEMBER_SECRET       # also require X-Gateway-Member-Secret
    introspection_limit: {per_second: 10, burst: 20}   # per app, per process
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Fail = Callable[[str, str], None]

LOOPBACK_SOURCES: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
# A bearer token that a person could guess or type from memory is no protection.
MIN_SECRET_CHARS = 16
DEFAULT_INTROSPECTIONS_PER_SECOND = 10.0
DEFAULT_INTROSPECTION_BURST = 20

GUARD_DEFAULTS: dict[str, Any] = {
    "admin_token_env": None,
    "member_header": None,
    "introspection_limit": None,
}
MEMBER_HEADER_KEYS = frozenset({"trusted_sources", "secret_env"})
INTROSPECTION_LIMIT_KEYS = frozenset({"per_second", "burst"})


@dataclass(frozen=True)
class MemberHeaderTrust:
    """Who may name a member with ``X-Gateway-Member``: a peer address inside one of
    ``sources`` and, when ``secret`` is set, the same value in ``X-Gateway-Member-Secret``."""

    sources: tuple[Network, ...] = LOOPBACK_SOURCES
    secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class IntrospectionLimit:
    """A token bucket per app: ``burst`` calls at once, refilled at ``per_second``."""

    per_second: float = DEFAULT_INTROSPECTIONS_PER_SECOND
    burst: int = DEFAULT_INTROSPECTION_BURST


@dataclass(frozen=True)
class Guards:
    admin_token: str | None = field(default=None, repr=False)
    member_header: MemberHeaderTrust = field(default_factory=MemberHeaderTrust)
    introspection_limit: IntrospectionLimit = field(default_factory=IntrospectionLimit)


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses; any other name may resolve anywhere."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_guards(
    raw: Mapping[str, Any], env: Mapping[str, str], admin_host: str | None, fail: Fail
) -> Guards:
    """Read the three keys of ``raw`` (the merged top level); ``admin_host`` is the admin
    listener's host, None when it is off. Problems go to ``fail(path, message)``."""
    return Guards(
        admin_token=_admin_token(raw.get("admin_token_env"), env, admin_host, fail),
        member_header=_member_header(raw.get("member_header"), env, fail),
        introspection_limit=_introspection_limit(raw.get("introspection_limit"), fail),
    )


def _secret_from_env(value: object, env: Mapping[str, str], path: str, fail: Fail) -> str | None:
    if not isinstance(value, str) or not value:
        fail(path, "must name an environment variable")
        return None
    secret = env.get(value)
    if not secret:
        fail(path, f"environment variable {value} is not set")
        return None
    if len(secret) < MIN_SECRET_CHARS:
        fail(path, f"environment variable {value} holds fewer than {MIN_SECRET_CHARS} characters")
        return None
    return secret


def _admin_token(
    value: object, env: Mapping[str, str], admin_host: str | None, fail: Fail
) -> str | None:
    if value is None:
        if admin_host is not None and not is_loopback_host(admin_host):
            fail(
                "admin_token_env",
                f"required: admin_listen is on {admin_host}, not loopback, so its "
                "/metrics and /usage need a bearer token",
            )
        return None
    return _secret_from_env(value, env, "admin_token_env", fail)


def _member_header(value: object, env: Mapping[str, str], fail: Fail) -> MemberHeaderTrust:
    if value is None:
        return MemberHeaderTrust()
    if not isinstance(value, dict):
        fail("member_header", "must be a mapping with trusted_sources and/or secret_env")
        return MemberHeaderTrust()
    for key in value:
        if key not in MEMBER_HEADER_KEYS:
            fail(
                f"member_header.{key}",
                f"unknown key (allowed: {', '.join(sorted(MEMBER_HEADER_KEYS))})",
            )
    sources = LOOPBACK_SOURCES
    raw_sources = value.get("trusted_sources")
    if raw_sources is not None:
        sources = _networks(raw_sources, "member_header.trusted_sources", fail)
    secret = None
    if value.get("secret_env") is not None:
        secret = _secret_from_env(value["secret_env"], env, "member_header.secret_env", fail)
    return MemberHeaderTrust(sources, secret)


def _networks(value: object, path: str, fail: Fail) -> tuple[Network, ...]:
    if not isinstance(value, list):
        fail(path, "must be a list of addresses or networks (127.0.0.1, 10.0.0.0/8, ::1)")
        return ()
    out: list[Network] = []
    for i, item in enumerate(value):
        try:
            out.append(ipaddress.ip_network(str(item), strict=True))
        except ValueError as exc:
            fail(f"{path}[{i}]", f"not an address or network: {exc}")
    return tuple(out)


def _introspection_limit(value: object, fail: Fail) -> IntrospectionLimit:
    if value is None:
        return IntrospectionLimit()
    if not isinstance(value, dict):
        fail("introspection_limit", "must be a mapping with per_second and/or burst")
        return IntrospectionLimit()
    for key in value:
        if key not in INTROSPECTION_LIMIT_KEYS:
            fail(
                f"introspection_limit.{key}",
                f"unknown key (allowed: {', '.join(sorted(INTROSPECTION_LIMIT_KEYS))})",
            )
    rate = value.get("per_second", DEFAULT_INTROSPECTIONS_PER_SECOND)
    if (
        isinstance(rate, bool)
        or not isinstance(rate, int | float)
        or not math.isfinite(rate)
        or rate <= 0
    ):
        fail("introspection_limit.per_second", "must be a positive number of calls per second")
        rate = DEFAULT_INTROSPECTIONS_PER_SECOND
    burst = value.get("burst", DEFAULT_INTROSPECTION_BURST)
    if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
        fail("introspection_limit.burst", "must be a whole number of calls, 1 or more")
        burst = DEFAULT_INTROSPECTION_BURST
    return IntrospectionLimit(float(rate), burst)
