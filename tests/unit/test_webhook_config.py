"""Config keys of the webhook, roles and Development-window features: defaults and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.settings.loader import load_settings
from gateway.settings.model import OnDevelopmentExpiry, Settings, WebhookConfig

BASE = """\
{top}
apps:
  acme:
    client_id: c1
    client_secret: s
    products: {{community_management: {{tier: development, since: 2026-06-01}}}}
{app}
"""


def load(tmp_path: Path, top: str = "", app: str = "") -> Settings:
    path = tmp_path / "gateway.yaml"
    path.write_text(BASE.format(top=top, app=app))
    return load_settings(str(path), environ={})


def test_defaults(tmp_path: Path) -> None:
    settings = load(tmp_path)
    assert settings.on_development_expiry is OnDevelopmentExpiry.WARN
    assert settings.role_cache_seconds == 300
    acme = settings.apps["acme"]
    assert (acme.enforce_roles, acme.webhook) == (False, None)


def test_values_are_read(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        top="on_development_expiry: block\nrole_cache_seconds: 30",
        app="    enforce_roles: true\n    webhook: {forward_to: 'http://internal:9000/hooks'}",
    )
    assert settings.on_development_expiry is OnDevelopmentExpiry.BLOCK
    assert settings.role_cache_seconds == 30
    acme = settings.apps["acme"]
    assert acme.enforce_roles is True
    assert acme.webhook == WebhookConfig("http://internal:9000/hooks")


@pytest.mark.parametrize(
    ("top", "app", "where"),
    [
        ("on_development_expiry: sometimes", "", "on_development_expiry"),
        ("role_cache_seconds: 0", "", "role_cache_seconds"),
        ("role_cache_seconds: soon", "", "role_cache_seconds"),
        ("", "    enforce_roles: 'yes'", "apps.acme.enforce_roles"),
        ("", "    webhook: {forward_to: 'ftp://internal/hooks'}", "apps.acme.webhook.forward_to"),
        ("", "    webhook: {}", "apps.acme.webhook.forward_to"),
        ("", "    webhook: {forward_to: 'http://x', retries: 3}", "apps.acme.webhook.retries"),
        ("", "    webhook: 'http://x'", "apps.acme.webhook"),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, top: str, app: str, where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, top=top, app=app)
    assert any(problem.path == where for problem in caught.value.problems), caught.value
