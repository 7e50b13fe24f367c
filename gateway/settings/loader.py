"""Load gateway.yaml strictly: every problem is reported with its file and key path.

Two passes, as envoyproxy/ratelimit does: first the shape (unknown keys, wrong types),
then the meaning (products, tiers and scopes against the catalog, secrets in the
environment). All problems are collected before ``ConfigError`` is raised.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any, TypeVar

import yaml

from gateway.catalog.loader import load_catalog
from gateway.catalog.model import Catalog
from gateway.errors import ConfigError, ConfigProblem
from gateway.oauth.config import parse_app_oauth, parse_oauth_section
from gateway.quota.factory import check_store_url
from gateway.quota.model import DAILY_WINDOWS, Window
from gateway.quota.route_limits import read_route_limits
from gateway.settings.connections import CONNECTION_DEFAULTS, SECTION, parse_connections
from gateway.settings.guards import GUARD_DEFAULTS, parse_guards
from gateway.settings.model import (
    AppConfig,
    AppMode,
    HostPort,
    LogFormat,
    OnDevelopmentExpiry,
    OnStoreError,
    ProductGrant,
    QuotaOverride,
    Settings,
    StaticToken,
    UnmatchedRoutes,
    WebhookConfig,
)
from gateway.settings.public_limits import PUBLIC_DEFAULTS, parse_public_limits
from gateway.settings.strict_yaml import (
    DuplicateKeys,
    StrictSafeLoader,
    problem_location,
    problem_text,
)
from gateway.settings.usage_alerts import USAGE_ALERT_DEFAULTS, parse_usage_alerts
from gateway.tokens.model import token_digest

E = TypeVar("E", UnmatchedRoutes, OnStoreError, Window, OnDevelopmentExpiry, LogFormat, AppMode)

ENV_CONFIG = "GATEWAY_CONFIG"
ENV_OVERRIDES = {
    "listen": "GATEWAY_LISTEN",
    "admin_listen": "GATEWAY_ADMIN_LISTEN",
    "upstream": "GATEWAY_UPSTREAM",
    "store": "GATEWAY_STORE",
    "workers": "GATEWAY_WORKERS",
}
# The command line's names for the same keys: a flag beats the environment, which beats
# the file.
FLAG_OVERRIDES = {
    "listen": "--listen",
    "admin_listen": "--admin-listen",
    "upstream": "--upstream",
    "store": "--store",
    "workers": "--workers",
}
# workers: one process per core this process may run on.
WORKERS_AUTO = "auto"
# admin_listen's ways of saying "no admin listener": null in YAML, off (which YAML 1.1
# reads as false) in YAML, the environment or the command line.
ADMIN_OFF = (None, False, "off")
# In a redirect_uri, replaced by where the gateway listens (see _listen_url).
LISTEN_PLACEHOLDER = "{listen}"
DEFAULTS: dict[str, Any] = {
    "listen": "127.0.0.1:8080",
    "admin_listen": "127.0.0.1:8081",
    "upstream": "sandbox",
    "store": "memory://",
    "workers": 1,
    "catalog": None,
    "unmatched_routes": "forward",
    "on_store_error": "closed",
    "replicas": 1,
    "upstream_connect_timeout": 5.0,
    "upstream_timeout": 30.0,
    "max_body_bytes": 10 * 1024 * 1024,
    "on_development_expiry": "warn",
    "role_cache_seconds": 300,
    "refusal_cache_seconds": 1.0,
    "log_format": "text",
    "apps": {},
    "tokens": [],
    "oauth": None,
    # What the gateway trusts and how hard it may be pushed (gateway.settings.guards).
    **GUARD_DEFAULTS,
    # The unauthenticated endpoints' limits (gateway.settings.public_limits).
    **PUBLIC_DEFAULTS,
    **USAGE_ALERT_DEFAULTS,
    # How long and how many clients may hold a listener (gateway.settings.connections).
    **CONNECTION_DEFAULTS,
}
TOP_KEYS = frozenset(DEFAULTS)
APP_KEYS = frozenset(
    {
        "client_id",
        "client_secret",
        "client_secret_env",
        "products",
        "quotas",
        "route_limits",
        "enforce_roles",
        "redirect_uri",
        "return_url",
        "trusted_member_header",
        "webhook",
        "mode",
    }
)
WEBHOOK_KEYS = frozenset({"forward_to"})
GRANT_KEYS = frozenset({"tier", "since"})
QUOTA_KEYS = frozenset({"app_per_day", "member_per_day", "window"})
TOKEN_KEYS = frozenset({"token", "sha256", "app", "member", "scopes", "expires_at"})
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
MEMBER_RE = re.compile(r"^urn:li:[A-Za-z]+:[A-Za-z0-9_-]+$")


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), which ``workers: auto`` uses."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def default_config_path() -> str:
    """The shipped demo config (sandbox upstream, memory store, a demo app and tokens)."""
    return str(resources.files("gateway") / "_data" / "gateway.yaml")


def load_settings(
    path: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
    require_secrets: bool = True,
) -> Settings:
    """Load, validate and freeze a gateway.yaml. Raises ConfigError listing every problem.

    ``overrides`` are the command line's values for the keys of ``FLAG_OVERRIDES``; they
    beat the environment's (``ENV_OVERRIDES``), which beat the file's. With
    ``require_secrets=False`` an unset ``client_secret_env`` loads as an empty secret, for
    commands that never call LinkedIn (``ad-accounts``).
    """
    env = os.environ if environ is None else environ
    source = path or env.get(ENV_CONFIG) or default_config_path()
    raw = read_yaml(source)
    if raw is None:
        raw = {}
    return _Loader(source, env, overrides or {}, require_secrets=require_secrets).load(raw)


def read_yaml(source: str) -> object:
    """The YAML document in ``source``; ``ConfigError`` (one line per problem) when the file
    cannot be read, is not UTF-8, is not YAML or repeats a key."""
    try:
        with open(source, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=StrictSafeLoader)  # noqa: S506 - a SafeLoader
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError([ConfigProblem(source, "", f"cannot read: {reason}")]) from None
    except UnicodeDecodeError:
        raise ConfigError([ConfigProblem(source, "", "cannot read: not UTF-8 text")]) from None
    except DuplicateKeys as exc:
        raise ConfigError(
            [ConfigProblem(source, d.path, d.message) for d in exc.duplicates]
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(
            [ConfigProblem(source, problem_location(exc), f"not valid YAML: {problem_text(exc)}")]
        ) from None


class _Loader:
    def __init__(
        self,
        source: str,
        env: Mapping[str, str],
        overrides: Mapping[str, str],
        *,
        require_secrets: bool,
    ) -> None:
        self.source = source
        self.env = env
        self.overrides = overrides
        self.require_secrets = require_secrets
        self.problems: list[ConfigProblem] = []
        # Keys whose value came from the environment or a flag, and from which: a bad value
        # is reported as theirs, not the file's.
        self.origins: dict[str, str] = {}
        # Apps the file declares that failed to load: their tokens say nothing more.
        self.broken_apps: set[str] = set()

    def fail(self, path: str, message: str) -> None:
        origin = self.origins.get(path)
        if origin is not None:
            message = f"{message} (set by {origin})"
        self.problems.append(ConfigProblem(self.source, path, message))

    def raise_if_failed(self) -> None:
        if self.problems:
            raise ConfigError(self.problems)

    def load(self, raw: object) -> Settings:
        if not isinstance(raw, dict):
            self.fail("", "the top level must be a mapping")
            self.raise_if_failed()
        assert isinstance(raw, dict)
        # Pass 2 runs even when pass 1 found problems, skipping what it cannot read, so one
        # check-config run reports every problem.
        self._check_shape(raw)
        merged = {**DEFAULTS, **raw}
        for key, var in ENV_OVERRIDES.items():
            if self.env.get(var):
                merged[key] = self.env[var]
                self.origins[key] = var
        for key, flag in FLAG_OVERRIDES.items():
            if self.overrides.get(key):
                merged[key] = self.overrides[key]
                self.origins[key] = flag
        catalog = self._catalog(merged["catalog"])
        if catalog is None:
            self.raise_if_failed()
        assert catalog is not None
        settings = self._build(merged, catalog)
        self.raise_if_failed()
        assert settings is not None
        return settings

    # -- pass 1: shape -------------------------------------------------------------------

    def _keys(self, value: object, allowed: frozenset[str], path: str) -> bool:
        if not isinstance(value, dict):
            self.fail(path, f"must be a mapping, not {_kind(value)}")
            return False
        for key in value:
            if key not in allowed:
                where = f"{path}.{key}" if path else str(key)
                self.fail(where, f"unknown key (allowed: {', '.join(sorted(allowed))})")
        return True

    def _check_shape(self, raw: dict[Any, Any]) -> None:
        self._keys(raw, TOP_KEYS, "")
        apps = raw.get("apps", {})
        if isinstance(apps, dict):
            for name, app in apps.items():
                path = f"apps.{name}"
                if not self._keys(app, APP_KEYS, path):
                    continue
                products = app.get("products", {})
                if isinstance(products, dict):
                    for product, grant in products.items():
                        if grant is not None:
                            self._keys(grant, GRANT_KEYS, f"{path}.products.{product}")
                else:
                    self.fail(f"{path}.products", "must be a mapping of product to {tier, since}")
                if app.get("quotas") is not None:
                    self._keys(app["quotas"], QUOTA_KEYS, f"{path}.quotas")
                if app.get("webhook") is not None:
                    self._keys(app["webhook"], WEBHOOK_KEYS, f"{path}.webhook")
        else:
            self.fail("apps", f"must be a mapping of app name to app, not {_kind(apps)}")
        tokens = raw.get("tokens", [])
        if isinstance(tokens, list):
            for i, tok in enumerate(tokens):
                self._keys(tok, TOKEN_KEYS, f"tokens[{i}]")
        else:
            self.fail("tokens", f"must be a list, not {_kind(tokens)}")

    # -- pass 2: meaning -----------------------------------------------------------------

    def _catalog(self, value: object) -> Catalog | None:
        if value is not None and not isinstance(value, str):
            self.fail("catalog", "must be a path to a catalog.yaml")
            return None
        path = value
        if isinstance(path, str) and not os.path.isabs(path):
            path = os.path.join(os.path.dirname(os.path.abspath(self.source)), path)
        try:
            return load_catalog(path)
        except ConfigError as exc:
            self.problems.extend(exc.problems)
            return None

    def _build(self, raw: dict[str, Any], catalog: Catalog) -> Settings | None:
        listen = self._host_port(raw["listen"], "listen")
        admin = (
            None
            if raw["admin_listen"] in ADMIN_OFF
            else self._host_port(raw["admin_listen"], "admin_listen")
        )
        upstream = self._upstream(raw["upstream"])
        store = self._store(raw["store"])
        workers = self._workers(raw["workers"])
        unmatched = self._enum(UnmatchedRoutes, raw["unmatched_routes"], "unmatched_routes")
        on_store_error = self._enum(OnStoreError, raw["on_store_error"], "on_store_error")
        replicas = self._number(raw["replicas"], "replicas", integer=True)
        connect_timeout = self._number(raw["upstream_connect_timeout"], "upstream_connect_timeout")
        timeout = self._number(raw["upstream_timeout"], "upstream_timeout")
        max_body = self._number(raw["max_body_bytes"], "max_body_bytes", integer=True)
        on_expiry = self._enum(
            OnDevelopmentExpiry, raw["on_development_expiry"], "on_development_expiry"
        )
        role_cache = self._number(raw["role_cache_seconds"], "role_cache_seconds")
        refusal_cache = self._number(
            raw["refusal_cache_seconds"], "refusal_cache_seconds", zero=True
        )
        log_format = self._enum(LogFormat, raw["log_format"], "log_format")
        apps = {name: app for name, app in self._apps(raw["apps"], catalog, listen)}
        tokens = self._tokens(raw["tokens"], apps, catalog)
        oauth = parse_oauth_section(raw["oauth"], self.fail)
        guards = parse_guards(raw, self.env, admin.host if admin else None, self.fail)
        usage_alerts = parse_usage_alerts(raw, self.fail)
        public = parse_public_limits(raw, self.fail)
        connections = parse_connections(raw[SECTION], self.fail)
        if self.problems:
            return None
        assert listen is not None and upstream is not None and store is not None
        assert unmatched is not None and on_store_error is not None and replicas is not None
        assert workers is not None
        assert connect_timeout is not None and timeout is not None and max_body is not None
        assert on_expiry is not None and role_cache is not None and log_format is not None
        assert refusal_cache is not None
        return Settings(
            source=self.source,
            listen=listen,
            admin_listen=admin,
            upstream=upstream,
            store=store,
            workers=workers,
            apps=apps,
            tokens=tuple(tokens),
            unmatched_routes=unmatched,
            on_store_error=on_store_error,
            upstream_connect_timeout=float(connect_timeout),
            upstream_timeout=float(timeout),
            max_body_bytes=int(max_body),
            catalog=catalog,
            on_development_expiry=on_expiry,
            role_cache_seconds=role_cache,
            refusal_cache_seconds=refusal_cache,
            log_format=log_format,
            oauth=oauth,
            guards=guards,
            usage_alerts=usage_alerts,
            public=public,
            replicas=int(replicas),
            connections=connections,
        )

    def _host_port(self, value: object, path: str) -> HostPort | None:
        if isinstance(value, str):
            host, sep, port = value.rpartition(":")
            host = host.strip("[]")
            if sep and host and port.isdigit() and 0 <= int(port) <= 65535:
                return HostPort(host, int(port))
        self.fail(path, f"must be HOST:PORT (port 0-65535), not {value!r}")
        return None

    def _upstream(self, value: object) -> str | None:
        if value == "sandbox" or (
            isinstance(value, str) and re.match(r"^https?://[^/?#\s]+(/[^?#\s]*)?$", value)
        ):
            return str(value).rstrip("/")
        self.fail("upstream", f"must be 'sandbox' or an http(s) URL, not {value!r}")
        return None

    def _store(self, value: object) -> str | None:
        if not isinstance(value, str):
            self.fail("store", f"must be a store URL (memory:// or redis://...), not {value!r}")
            return None
        try:
            check_store_url(value)
        except ValueError as exc:
            self.fail("store", str(exc))
            return None
        return value

    def _workers(self, value: object) -> int | None:
        if value == WORKERS_AUTO:
            return available_cores()
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        self.fail("workers", f"must be a number of processes (1 or more) or auto, not {value!r}")
        return None

    def _enum(self, kind: type[E], value: object, path: str) -> E | None:
        members = {member.value: member for member in kind}
        if isinstance(value, str) and value in members:
            return members[value]
        self.fail(path, f"must be one of {', '.join(members)}, not {value!r}")
        return None

    def _daily_window(self, value: object, path: str) -> Window | None:
        # An app's quota mirrors LinkedIn's daily counters; minutes and hours are route limits.
        names = {w.value: w for w in Window if w in DAILY_WINDOWS}
        if isinstance(value, str) and value in names:
            return names[value]
        self.fail(path, f"must be one of {', '.join(names)}, not {value!r}")
        return None

    def _number(
        self, value: object, path: str, *, integer: bool = False, zero: bool = False
    ) -> float | None:
        """``value`` as a number above 0 (0 too with ``zero``), whole with ``integer``. The
        comparisons are written so that NaN fails them: YAML's ``.nan`` is a float."""
        kind = "integer" if integer else "number"
        ok_type = int if integer else (int, float)
        if (
            isinstance(value, bool)
            or not isinstance(value, ok_type)
            or not (value >= 0 if zero else value > 0)
        ):
            self.fail(
                path, f"must be a {kind}, 0 or more" if zero else f"must be a positive {kind}"
            )
            return None
        return float(value)

    def _apps(
        self, raw: dict[str, Any], catalog: Catalog, listen: HostPort | None
    ) -> list[tuple[str, AppConfig]]:
        out: list[tuple[str, AppConfig]] = []
        client_ids: dict[str, str] = {}
        if not isinstance(raw, dict):
            return out
        for name, body in raw.items():
            path = f"apps.{name}"
            if isinstance(name, str):
                # Until it loads, an app counts as broken: its tokens then report only
                # their own problems, not "unknown app" on top of the app's.
                self.broken_apps.add(name)
            if not isinstance(body, dict):
                continue
            if not isinstance(name, str) or not NAME_RE.match(name):
                self.fail(path, "app names are letters, digits, '-' and '_' (at most 63)")
                continue
            client_id = body.get("client_id")
            if not isinstance(client_id, str) or not client_id:
                self.fail(f"{path}.client_id", "required: the app's LinkedIn client id")
            elif client_id in client_ids:
                self.fail(f"{path}.client_id", f"already used by app {client_ids[client_id]}")
            else:
                client_ids[client_id] = name
            secret = self._secret(body, path)
            grants = self._grants(body.get("products"), path, catalog)
            quotas = self._quotas(body.get("quotas"), f"{path}.quotas")
            route_limits, limit_problems = read_route_limits(
                body.get("route_limits"), f"{path}.route_limits", catalog
            )
            for where, problem in limit_problems:
                self.fail(where, problem)
            enforce_roles = body.get("enforce_roles", False)
            if not isinstance(enforce_roles, bool):
                self.fail(f"{path}.enforce_roles", "must be true or false")
            webhook = self._webhook(body.get("webhook"), f"{path}.webhook")
            app_oauth = parse_app_oauth(_with_listen(body, listen), path, self.fail)
            mode = self._enum(AppMode, body.get("mode", "enforce"), f"{path}.mode")
            if isinstance(client_id, str) and secret is not None and grants is not None:
                self.broken_apps.discard(name)
                out.append(
                    (
                        name,
                        AppConfig(
                            name,
                            client_id,
                            secret,
                            grants,
                            quotas,
                            route_limits=route_limits,
                            enforce_roles=enforce_roles is True,
                            webhook=webhook,
                            redirect_uri=app_oauth.redirect_uri,
                            return_url=app_oauth.return_url,
                            trusted_member_header=app_oauth.trusted_member_header,
                            mode=mode or AppMode.ENFORCE,
                        ),
                    )
                )
        return out

    def _secret(self, body: dict[str, Any], path: str) -> str | None:
        literal, env_name = body.get("client_secret"), body.get("client_secret_env")
        if literal is not None and env_name is not None:
            self.fail(path, "give client_secret_env or client_secret, not both")
            return None
        if env_name is not None:
            if not isinstance(env_name, str) or not env_name:
                self.fail(f"{path}.client_secret_env", "must name an environment variable")
                return None
            value = self.env.get(env_name)
            if not value and not self.require_secrets:
                return ""
            if not value:
                self.fail(
                    f"{path}.client_secret_env",
                    f"environment variable {env_name} is not set",
                )
                return None
            return value
        if literal is not None:
            if not isinstance(literal, str) or not literal:
                self.fail(f"{path}.client_secret", "must be a non-empty string")
                return None
            return literal
        self.fail(path, "client_secret_env is required (client_secret for sandbox demos)")
        return None

    def _grants(self, raw: object, path: str, catalog: Catalog) -> dict[str, ProductGrant] | None:
        if not isinstance(raw, dict) or not raw:
            self.fail(f"{path}.products", "at least one approved product is required")
            return None
        grants: dict[str, ProductGrant] = {}
        ok = True
        for product, body in raw.items():
            ppath = f"{path}.products.{product}"
            spec = catalog.products.get(product)
            if spec is None:
                self.fail(ppath, f"unknown product (known: {', '.join(catalog.products)})")
                ok = False
                continue
            body = body or {}
            if not isinstance(body, dict):
                ok = False
                continue
            tier = body.get("tier")
            if tier is None:
                tier = spec.default_tier
            elif not spec.tiers:
                self.fail(f"{ppath}.tier", f"{product} has no access tiers")
                ok = False
            elif tier not in spec.tiers:
                self.fail(f"{ppath}.tier", f"unknown tier (known: {', '.join(spec.tiers)})")
                ok = False
            since = _date(body.get("since"))
            if since is not None and not isinstance(since, date):
                self.fail(f"{ppath}.since", "must be a date, YYYY-MM-DD")
                ok = False
                since = None
            if isinstance(since, datetime):
                since = since.date()
            grants[product] = ProductGrant(product, tier, since)
        for product in grants:
            for needed in catalog.products[product].requires:
                if needed not in grants:
                    self.fail(
                        f"{path}.products.{product}",
                        f"{product} requires the {needed} product, which this app lacks",
                    )
                    ok = False
        return grants if ok else None

    def _webhook(self, raw: object, path: str) -> WebhookConfig | None:
        if not isinstance(raw, dict):
            return None
        target = raw.get("forward_to")
        if not isinstance(target, str) or not re.match(r"^https?://[^/?#\s]+(/[^#\s]*)?$", target):
            self.fail(f"{path}.forward_to", "required: the http(s) URL to deliver notifications to")
            return None
        return WebhookConfig(forward_to=target)

    def _quotas(self, raw: object, path: str) -> QuotaOverride | None:
        if not isinstance(raw, dict):
            return None
        numbers: dict[str, int | None] = {}
        for key in ("app_per_day", "member_per_day"):
            value = raw.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                self.fail(f"{path}.{key}", "must be a whole number of calls, 0 or more")
                value = None
            numbers[key] = value
        window = None
        if raw.get("window") is not None:
            window = self._daily_window(raw["window"], f"{path}.window")
        return QuotaOverride(numbers["app_per_day"], numbers["member_per_day"], window)

    def _tokens(
        self, raw: list[Any], apps: Mapping[str, AppConfig], catalog: Catalog
    ) -> list[StaticToken]:
        out: list[StaticToken] = []
        seen: dict[str, int] = {}
        if not isinstance(raw, list):
            return out
        for i, body in enumerate(raw):
            path = f"tokens[{i}]"
            if not isinstance(body, dict):
                continue
            digest = self._token_digest(body, path)
            app_name = body.get("app")
            app = apps.get(app_name) if isinstance(app_name, str) else None
            if app is None and app_name not in self.broken_apps:
                self.fail(f"{path}.app", f"unknown app {app_name!r}")
            member = body.get("member")
            if member is not None and (not isinstance(member, str) or not MEMBER_RE.match(member)):
                self.fail(f"{path}.member", "must be a member URN like urn:li:person:abc123")
                member = None
            scopes = self._scopes(body.get("scopes"), f"{path}.scopes", app, catalog)
            expires = self._expiry(body.get("expires_at"), f"{path}.expires_at")
            if digest is not None:
                if digest in seen:
                    self.fail(path, f"the same token is already listed at tokens[{seen[digest]}]")
                seen[digest] = i
            if digest and app and scopes is not None:
                out.append(StaticToken(digest, app.name, member, scopes, expires))
        return out

    def _token_digest(self, body: dict[str, Any], path: str) -> str | None:
        token, sha = body.get("token"), body.get("sha256")
        if (token is None) == (sha is None):
            self.fail(path, "give exactly one of token or sha256")
            return None
        if token is not None:
            if not isinstance(token, str) or not token or any(c.isspace() for c in token):
                self.fail(f"{path}.token", "must be a non-empty string without spaces")
                return None
            return token_digest(token)
        if not isinstance(sha, str) or not SHA256_RE.match(sha.lower()):
            self.fail(f"{path}.sha256", "must be 64 hex digits (the SHA-256 of the token)")
            return None
        return sha.lower()

    def _scopes(
        self, raw: object, path: str, app: AppConfig | None, catalog: Catalog
    ) -> frozenset[str] | None:
        if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
            self.fail(path, "must be a list of permission names")
            return None
        ok = True
        for j, scope in enumerate(raw):
            perm = catalog.permissions.get(scope)
            if perm is None:
                self.fail(f"{path}[{j}]", f"unknown permission {scope!r}")
                ok = False
            elif app is not None and perm.products and not set(perm.products) & set(app.products):
                self.fail(
                    f"{path}[{j}]",
                    f"{scope} is granted by {', '.join(perm.products)}; "
                    f"app {app.name} has none of them",
                )
                ok = False
        return frozenset(raw) if ok else None

    def _expiry(self, raw: object, path: str) -> float | None:
        if raw is None:
            return None
        if isinstance(raw, datetime):
            moment = raw if raw.tzinfo else raw.replace(tzinfo=UTC)
            return moment.timestamp()
        if isinstance(raw, date):
            return datetime(raw.year, raw.month, raw.day, tzinfo=UTC).timestamp()
        if isinstance(raw, str):
            try:
                moment = datetime.fromisoformat(raw)
            except ValueError:
                pass
            else:
                return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return float(raw)
        self.fail(path, "must be an ISO 8601 time like 2027-12-31T00:00:00Z or epoch seconds")
        return None


def _date(value: object) -> object:
    """A quoted ISO date (``since: "2026-06-01"``, as JSON and templating tools write it)
    is the date YAML would have read unquoted; anything else is left for the caller."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return value
    return value


def _with_listen(body: dict[str, Any], listen: HostPort | None) -> dict[str, Any]:
    """``body`` with ``{listen}`` in its ``redirect_uri`` replaced by the listen address, so
    a demo's OAuth callback follows ``--listen`` and ``GATEWAY_LISTEN``."""
    uri = body.get("redirect_uri")
    if not isinstance(uri, str) or LISTEN_PLACEHOLDER not in uri or listen is None:
        return body
    return {**body, "redirect_uri": uri.replace(LISTEN_PLACEHOLDER, _listen_url_host(listen))}


def _listen_url_host(listen: HostPort) -> str:
    # A browser cannot be sent to the wildcard address the gateway binds; the loopback
    # address of the same family reaches it on this machine.
    wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104 - compared
    host = wildcard.get(listen.host, listen.host)
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{listen.port}"


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__
