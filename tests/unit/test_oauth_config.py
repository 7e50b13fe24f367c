"""The oauth: section and the per-app OAuth keys, through the settings loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.oauth.config import LINKEDIN_OAUTH_BASE, discovery_url, oauth_base
from gateway.settings.loader import load_settings
from gateway.settings.model import OAuthSettings

APP = """\
apps:
  social:
    client_id: c1
    client_secret: s1
    products: {community_management: {}}
"""


def load(tmp_path: Path, text: str) -> OAuthSettings:
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    return load_settings(str(path), environ={}).oauth


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(str(path), environ={})
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


def test_defaults(tmp_path: Path) -> None:
    assert load(tmp_path, APP) == OAuthSettings()
    assert OAuthSettings().cache_seconds == 300 and OAuthSettings().base is None


def test_every_key_is_read(tmp_path: Path) -> None:
    got = load(
        tmp_path,
        APP + "oauth: {base: 'http://idp.test/oauth/v2/', discovery_url: 'http://idp.test/d',"
        " timeout: 2, cache_seconds: 60, negative_cache_seconds: 5, negative_cache_entries: 7,"
        " local_cache_seconds: 1, local_cache_entries: 9, state_seconds: 120}\n",
    )
    assert got == OAuthSettings(
        base="http://idp.test/oauth/v2",
        discovery_url="http://idp.test/d",
        timeout=2.0,
        cache_seconds=60.0,
        negative_cache_seconds=5.0,
        negative_cache_entries=7,
        local_cache_seconds=1.0,
        local_cache_entries=9,
        state_seconds=120.0,
    )


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("oauth: {bogus: 1}", "oauth.bogus: unknown key"),
        ("oauth: {base: 'ftp://x'}", "oauth.base: must be an http(s) URL"),
        ("oauth: {cache_seconds: 0}", "oauth.cache_seconds: must be a positive number"),
        ("oauth: {cache_seconds: true}", "oauth.cache_seconds: must be a positive number"),
        (
            "oauth: {negative_cache_entries: 2.5}",
            "oauth.negative_cache_entries: must be a whole number",
        ),
        ("oauth: [1]", "oauth: must be a mapping"),
    ],
)
def test_bad_oauth_keys_are_named(tmp_path: Path, section: str, expected: str) -> None:
    assert any(expected in p for p in problems(tmp_path, APP + section + "\n"))


def test_app_keys_are_read(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(
        APP
        + "    redirect_uri: https://app.example/cb\n"
        + "    return_url: https://app.example/done\n"
        + "    trusted_member_header: true\n"
    )
    app = load_settings(str(path), environ={}).apps["social"]
    assert (app.redirect_uri, app.return_url, app.trusted_member_header) == (
        "https://app.example/cb",
        "https://app.example/done",
        True,
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("    redirect_uri: not-a-url\n", "apps.social.redirect_uri: must be an http(s) URL"),
        ("    return_url: 5\n", "apps.social.return_url: must be an http(s) URL"),
        (
            "    trusted_member_header: 'yes'\n",
            "apps.social.trusted_member_header: must be true or false",
        ),
    ],
)
def test_bad_app_keys_are_named(tmp_path: Path, line: str, expected: str) -> None:
    assert any(expected in p for p in problems(tmp_path, APP + line))


@pytest.mark.parametrize(
    ("configured", "sandbox", "base"),
    [
        (None, None, LINKEDIN_OAUTH_BASE),
        (None, "http://127.0.0.1:9000", "http://127.0.0.1:9000/oauth/v2"),
        ("http://idp/oauth/v2", "http://127.0.0.1:9000", "http://idp/oauth/v2"),
    ],
)
def test_oauth_base(configured: str | None, sandbox: str | None, base: str) -> None:
    assert oauth_base(OAuthSettings(base=configured), sandbox) == base


def test_discovery_sits_next_to_the_oauth_base() -> None:
    assert (
        discovery_url(OAuthSettings(), LINKEDIN_OAUTH_BASE)
        == "https://www.linkedin.com/oauth/.well-known/openid-configuration"
    )
    assert (
        discovery_url(OAuthSettings(discovery_url="http://x/d"), LINKEDIN_OAUTH_BASE)
        == "http://x/d"
    )
