"""The deployment config as frozen data. Loading and validation live in ``loader.py``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from gateway.catalog.model import Catalog
from gateway.quota.model import Window
from gateway.settings.connections import ConnectionLimits
from gateway.settings.guards import Guards
from gateway.settings.public_limits import PublicLimits
from gateway.settings.usage_alerts import UsageAlerts


class UnmatchedRoutes(StrEnum):
    FORWARD = "forward"
    DENY = "deny"


class OnStoreError(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    # Each replica admits its share of what the store last said remained, counting alone,
    # and adds its counts back when the store returns (gateway.quota.local_fallback).
    LOCAL = "local"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class OnDevelopmentExpiry(StrEnum):
    WARN = "warn"
    BLOCK = "block"


class AppMode(StrEnum):
    ENFORCE = "enforce"
    # Every check runs, is logged and counted; nothing is refused (docs/rules.md, "Shadow mode").
    SHADOW = "shadow"


@dataclass(frozen=True)
class WebhookConfig:
    """Where the gateway delivers the app's verified LinkedIn webhook notifications."""

    forward_to: str


@dataclass(frozen=True)
class ProductGrant:
    product: str
    tier: str | None
    since: date | None


@dataclass(frozen=True)
class QuotaOverride:
    app_per_window: int | None
    member_per_window: int | None
    window: Window | None


@dataclass(frozen=True)
class RouteLimit:
    """Limits of one catalog route in one window, as LinkedIn publishes them (the developer
    portal's daily figures; per minute or hour where LinkedIn throttles so)."""

    route: str
    app_limit: int | None
    member_limit: int | None
    # UTC_DAY: the app's daily window (utc-day, or rolling-24h with quotas.window);
    # UTC_HOUR / UTC_MINUTE: fixed windows on the UTC clock.
    window: Window = Window.UTC_DAY


@dataclass(frozen=True)
class AppConfig:
    name: str
    client_id: str
    client_secret: str = field(repr=False)
    products: Mapping[str, ProductGrant]
    quotas: QuotaOverride | None
    # The authorization-code flow through the gateway (docs/configuration.md, "OAuth endpoints").
    redirect_uri: str | None = None
    return_url: str | None = None
    trusted_member_header: bool = False
    # Per-route daily limits (Standard tier limits from the developer portal's Analytics tab).
    route_limits: tuple[RouteLimit, ...] = ()
    # Look up the member's Company Page / Ad Account roles and refuse calls they lack.
    enforce_roles: bool = False
    webhook: WebhookConfig | None = None
    mode: AppMode = AppMode.ENFORCE


@dataclass(frozen=True)
class StaticToken:
    digest: str
    app: str
    member: str | None
    scopes: frozenset[str]
    expires_at: float | None


@dataclass(frozen=True)
class OAuthSettings:
    """The ``oauth:`` section: where LinkedIn's OAuth endpoints are and how long answers live.

    ``base`` None means LinkedIn's (``https://www.linkedin.com/oauth/v2``), or the built-in
    sandbox's when ``upstream: sandbox``; ``discovery_url`` None derives it from ``base``.
    """

    base: str | None = None
    discovery_url: str | None = None
    timeout: float = 5.0
    cache_seconds: float = 300.0
    negative_cache_seconds: float = 30.0
    negative_cache_entries: int = 10_000
    local_cache_seconds: float = 5.0
    local_cache_entries: int = 10_000
    state_seconds: float = 600.0


@dataclass(frozen=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Settings:
    source: str
    listen: HostPort
    admin_listen: HostPort | None
    upstream: str
    store: str
    apps: Mapping[str, AppConfig]
    tokens: tuple[StaticToken, ...]
    unmatched_routes: UnmatchedRoutes
    on_store_error: OnStoreError
    upstream_connect_timeout: float
    upstream_timeout: float
    max_body_bytes: int
    catalog: Catalog
    oauth: OAuthSettings = field(default_factory=OAuthSettings)
    on_development_expiry: OnDevelopmentExpiry = OnDevelopmentExpiry.WARN
    role_cache_seconds: float = 300.0
    # How long a refusal over quota is repeated without asking the store (0: always ask).
    refusal_cache_seconds: float = 1.0
    log_format: LogFormat = LogFormat.TEXT
    # The admin token, the member header's trusted sources, the introspection budget.
    guards: Guards = field(default_factory=Guards)
    usage_alerts: UsageAlerts = field(default_factory=UsageAlerts)
    # Body caps, concurrent body reads and state creation of /webhooks/* and /oauth/*.
    public: PublicLimits = field(default_factory=PublicLimits)
    # How many gateway replicas share the store: ``on_store_error: local`` gives each
    # 1/replicas of what the store last said remained.
    replicas: int = 1
    # Processes serving the listeners (serve --workers; gateway.server.workers).
    workers: int = 1
    # Header, body and keep-alive timeouts and connection caps of the listeners.
    connections: ConnectionLimits = field(default_factory=ConnectionLimits)
