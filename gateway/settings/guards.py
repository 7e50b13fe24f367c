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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.settings.sections import BucketLimit, read_bucket_limit, read_section

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Fail = Callable[[str, str], None]

LOOPBACK_SOURCES: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
# A bearer token that a person could guess or type from memory is no protection.
MIN_SECRET_CHARS = 16

GUARD_DEFAULTS: dict[str, Any] = {
    "admin_token_env": None,
    "member_header": None,
    "introspection_limit": None,
}
MEMBER_HEADER_KEYS = frozenset({"trusted_sources", "secret_env"})


@dataclass(frozen=True)
class MemberHeaderTrust:
    """Who may name a member with ``X-Gateway-Member``: a peer address inside one of
    ``sources`` and, when ``secret`` is set, the same value in ``X-Gateway-Member-Secret``."""

    sources: tuple[Network, ...] = LOOPBACK_SOURCES
    secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class IntrospectionLimit(BucketLimit):
    """A token bucket per app: ``burst`` calls at once, refilled at ``per_second``."""

    per_second: float = 10.0
    burst: int = 20


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
        introspection_limit=read_bucket_limit(
            raw.get("introspection_limit"),
            "introspection_limit",
            "calls",
            IntrospectionLimit(),
            fail,
        ),
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
    section = read_section(
        value,
        "member_header",
        MEMBER_HEADER_KEYS,
        "must be a mapping with trusted_sources and/or secret_env",
        fail,
    )
    if section is None:
        return MemberHeaderTrust()
    sources = LOOPBACK_SOURCES
    raw_sources = section.get("trusted_sources")
    if raw_sources is not None:
        sources = _networks(raw_sources, "member_header.trusted_sources", fail)
    secret = None
    if section.get("secret_env") is not None:
        secret = _secret_from_env(section["secret_env"], env, "member_header.secret_env", fail)
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
