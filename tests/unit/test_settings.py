"""gateway.yaml loading: the shipped demo loads; every kind of mistake names file and key path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.quota.model import Window
from gateway.settings.loader import default_config_path, load_settings
from gateway.settings.model import OnStoreError, UnmatchedRoutes
from gateway.tokens.model import token_digest

VALID = """\
listen: 127.0.0.1:9000
upstream: https://api.linkedin.com
store: redis://127.0.0.1:6379/0
apps:
  acme-social:
    client_id: 86abc123
    client_secret_env: ACME_SOCIAL_SECRET
    products:
      community_management: {tier: development, since: 2026-06-01}
    quotas: {app_per_day: 50, member_per_day: 5, window: rolling-24h}
  acme-ads:
    client_id: 86ads
    client_secret: literal
    products:
      advertising: {}
      matched_audiences: {}
tokens:
  - token: demo-alice
    app: acme-social
    member: urn:li:person:alice
    scopes: [r_organization_social, w_organization_social, rw_organization_admin]
    expires_at: 2027-12-31T00:00:00Z
  - sha256: ADS_DIGEST
    app: acme-ads
    scopes: [r_ads, rw_dmp_segments]
""".replace("ADS_DIGEST", token_digest("ads-token"))

ENV = {"ACME_SOCIAL_SECRET": "s3cret"}


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "gateway.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_valid_config_loads_into_frozen_settings(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, VALID), environ=ENV)
    assert str(settings.listen) == "127.0.0.1:9000"
    assert settings.store == "redis://127.0.0.1:6379/0"
    social = settings.apps["acme-social"]
    assert social.client_secret == "s3cret"
    assert "s3cret" not in repr(social)
    assert social.products["community_management"].tier == "development"
    assert str(social.products["community_management"].since) == "2026-06-01"
    assert social.quotas is not None
    assert (social.quotas.app_per_window, social.quotas.member_per_window) == (50, 5)
    assert social.quotas.window is Window.ROLLING_24H
    ads = settings.apps["acme-ads"]
    assert ads.products["advertising"].tier == "development"  # the seed: all apps start there
    assert ads.products["matched_audiences"].tier is None
    alice, ads_token = settings.tokens
    assert alice.digest == token_digest("demo-alice")
    assert alice.expires_at == 1830211200.0
    assert ads_token.member is None and ads_token.expires_at is None
    assert settings.unmatched_routes is UnmatchedRoutes.FORWARD
    assert settings.on_store_error is OnStoreError.CLOSED


def test_local_fallback_and_topology_urls_load(tmp_path: Path) -> None:
    text = (
        "store: 'redis+sentinel://s1:26379,s2:26380/main/2?socket_timeout=0.3'\n"
        "on_store_error: local\nreplicas: 3\n"
    )

    settings = load_settings(write(tmp_path, text), environ={})

    assert (settings.on_store_error, settings.replicas) == (OnStoreError.LOCAL, 3)
    assert settings.store.startswith("redis+sentinel://")


def test_env_overrides_listen_upstream_and_store(tmp_path: Path) -> None:
    env = {
        **ENV,
        "GATEWAY_LISTEN": "0.0.0.0:1234",
        "GATEWAY_UPSTREAM": "http://127.0.0.1:9",
        "GATEWAY_STORE": "memory://",
    }
    settings = load_settings(write(tmp_path, VALID), environ=env)
    assert (settings.listen.host, settings.listen.port) == ("0.0.0.0", 1234)
    assert settings.upstream == "http://127.0.0.1:9"
    assert settings.store == "memory://"


def test_shipped_demo_config_loads_from_anywhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, environ={})
    assert settings.source == default_config_path()
    assert settings.upstream == "sandbox" and settings.store == "memory://"
    assert any(t.digest == token_digest("demo-alice") for t in settings.tokens)


BROKEN = [
    ("listn: 1", "gateway.yaml: listn: unknown key"),
    (
        "apps: {a: {client_id: x, client_secret: y, products: {advertising: {}}, colour: red}}",
        "apps.a.colour: unknown key",
    ),
    (
        "apps: {a: {client_id: x, client_secret: y, products: {adverts: {}}}}",
        "apps.a.products.adverts: unknown product",
    ),
    (
        "apps: {a: {client_id: x, client_secret: y, products: {advertising: {tier: gold}}}}",
        "apps.a.products.advertising.tier: unknown tier",
    ),
    (
        "apps: {a: {client_id: x, client_secret: y, products: {lead_sync: {tier: development}}}}",
        "apps.a.products.lead_sync.tier: lead_sync has no access tiers",
    ),
    (
        "apps: {a: {client_id: x, client_secret: y, products: {matched_audiences: {}}}}",
        "apps.a.products.matched_audiences: matched_audiences requires the advertising product",
    ),
    (
        "apps: {a: {client_id: x, client_secret_env: NOPE_NOT_SET, products: {advertising: {}}}}",
        "apps.a.client_secret_env: environment variable NOPE_NOT_SET is not set",
    ),
    (
        "apps: {a: {client_id: x, client_secret: y, products: {advertising: {}},"
        " quotas: {app_per_day: -1}}}",
        "apps.a.quotas.app_per_day: must be a whole number",
    ),
    (
        "apps: {a: {client_id: x, client_secret: y, products: {advertising: {}},"
        " quotas: {window: weekly}}}",
        "apps.a.quotas.window: must be one of utc-day, rolling-24h",
    ),
    (
        "apps: {a: {client_id: x, client_secret: y, products: {community_management: {}}}}\n"
        "tokens: [{token: t, app: a, scopes: [rw_ads]}]",
        "tokens[0].scopes[0]: rw_ads is granted by advertising; app a has none of them",
    ),
    (
        "apps: {a: {client_id: x, client_secret: y, products: {advertising: {}}}}\n"
        "tokens: [{token: t, app: a, scopes: [r_nonsense]}]",
        "tokens[0].scopes[0]: unknown permission 'r_nonsense'",
    ),
    ("tokens: [{token: t, app: ghost, scopes: []}]", "tokens[0].app: unknown app 'ghost'"),
    (
        "apps: {a: {client_id: x, client_secret: y, products: {advertising: {}}}}\n"
        "tokens: [{token: t, sha256: ab, app: a, scopes: []}]",
        "tokens[0]: give exactly one of token or sha256",
    ),
    (
        "apps: {a: {client_id: x, client_secret: y, products: {advertising: {}}}}\n"
        "tokens: [{token: t, app: a, scopes: [], expires_at: soon}]",
        "tokens[0].expires_at: must be an ISO 8601 time",
    ),
    (
        "apps: {a: {client_id: x, client_secret: y, products: {advertising: {}}}}\n"
        "tokens: [{token: t, app: a, scopes: []}, {token: t, app: a, scopes: []}]",
        "tokens[1]: the same token is already listed at tokens[0]",
    ),
    ("listen: localhost", "listen: must be HOST:PORT"),
    ("upstream: ftp://x", "upstream: must be 'sandbox' or an http(s) URL"),
    ("store: mongodb://x", "store: unknown store scheme 'mongodb'"),
    # URLs with a known scheme that serve would still fail on, caught without connecting.
    ("store: redis://h:6379/abc", "store: store URL 'redis://h:6379/abc': "),
    ("store: 'redis://h:notaport/0'", "store: store URL 'redis://h:notaport/0': "),
    ("store: 'unix://'", "store: store URL 'unix://': unix:// store URL without a socket path"),
    ("store: 'redis://h/0?socket_timeout=0'", "socket_timeout='0': expected seconds > 0"),
    ("store: 'rediss://h/0?ssl_cert_reqs=maybe'", "ssl_cert_reqs='maybe'"),
    ("store: 'redis://:hunter2@h/x'", "store: store URL 'redis://:***@h/x'"),
    ("store: 42", "store: must be a store URL"),
    ("on_store_error: maybe", "on_store_error: must be one of closed, open, local"),
    ("unmatched_routes: sometimes", "unmatched_routes: must be one of forward, deny"),
    ("max_body_bytes: 0", "max_body_bytes: must be a positive integer"),
    ("replicas: 0", "replicas: must be a positive integer"),
    ("replicas: 2.5", "replicas: must be a positive integer"),
    ("upstream_timeout: .nan", "upstream_timeout: must be a positive number"),
    ("role_cache_seconds: .nan", "role_cache_seconds: must be a positive number"),
    ("refusal_cache_seconds: .nan", "refusal_cache_seconds: must be a number, 0 or more"),
    ("refusal_cache_seconds: -1", "refusal_cache_seconds: must be a number, 0 or more"),
    ("store: 'redis+cluster://a:7000/3'", "a Redis Cluster has database 0 only"),
    ("store: 'redis+sentinel://s:26379'", "needs the master name"),
    ("store: 'redis+sentinel://:hunter2@s:26379'", "store URL 'redis+sentinel://:***@s:26379'"),
    ("apps: [1, 2]", "apps: must be a mapping"),
    ("listen: [", "not valid YAML"),
]


@pytest.mark.parametrize(("text", "expected"), BROKEN)
def test_each_mistake_is_named_with_file_and_path(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text + "\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    messages = [str(p) for p in caught.value.problems]
    assert any(expected in m for m in messages), messages
    assert all(m.startswith(path) for m in messages), messages


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    text = (
        "apps: {a: {client_id: x, client_secret: y, products: {adverts: {}}},"
        " b: {client_id: z, client_secret_env: NOT_SET_ANYWHERE, products: {advertising: {}}}}\n"
        "store: nosql://\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), environ={})
    paths = {p.path for p in caught.value.problems}
    assert {"apps.a.products.adverts", "apps.b.client_secret_env", "store"} <= paths


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(str(tmp_path / "absent.yaml"), environ={})
