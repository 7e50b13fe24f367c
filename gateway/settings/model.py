"""The deployment config as frozen data. Loading and validation live in ``loader.py``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from gateway.catalog.model import Catalog
from gateway.quota.model import Window


class UnmatchedRoutes(StrEnum):
    FORWARD = "forward"
    DENY = "deny"


class OnStoreError(StrEnum):
    CLOSED = "closed"
    OPEN = "open"


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
class AppConfig:
    name: str
    client_id: str
    client_secret: str = field(repr=False)
    products: Mapping[str, ProductGrant]
    quotas: QuotaOverride | None


@dataclass(frozen=True)
class StaticToken:
    digest: str
    app: str
    member: str | None
    scopes: frozenset[str]
    expires_at: float | None


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
