"""Requested scopes against an app's approved products (seed: permissions per product)."""

from __future__ import annotations

import pytest

from gateway.catalog.loader import load_catalog
from gateway.catalog.model import Catalog
from gateway.oauth.scopes import parse_scopes, refused_scopes
from gateway.settings.model import AppConfig, ProductGrant

CATALOG: Catalog = load_catalog(None)


def app(*products: str) -> AppConfig:
    return AppConfig("acme", "c", "s", {p: ProductGrant(p, None, None) for p in products}, None)


@pytest.mark.parametrize(
    ("text", "scopes"),
    [
        ("openid profile", ("openid", "profile")),
        ("r_ads,rw_ads", ("r_ads", "rw_ads")),
        (" a ,  b a ", ("a", "b")),
        ("", ()),
    ],
)
def test_parse_scopes(text: str, scopes: tuple[str, ...]) -> None:
    assert parse_scopes(text) == scopes


@pytest.mark.parametrize(
    ("products", "asked", "refused"),
    [
        (("community_management",), ("openid", "r_organization_social", "w_member_social"), {}),
        (("community_management",), ("r_ads",), {"r_ads": "app acme is approved for none"}),
        (("advertising",), ("rw_dmp_segments",), {"rw_dmp_segments": "Matched Audiences"}),
        (
            ("advertising", "audience_insights"),
            ("audience_insights",),
            {"audience_insights": "application-level"},
        ),
        (
            ("advertising",),
            ("r_media_planning",),
            {"r_media_planning": "Media Planning is an application-level"},
        ),
        (("advertising",), ("r_nonexistent",), {"r_nonexistent": "no LinkedIn product grants"}),
        (("advertising",), ("r_ads", "bad-scope!"), {"bad-scope!": "not a scope name"}),
        (
            ("community_management",),
            ("r_ads", "rw_ads", "openid"),
            {"r_ads": "Advertising API", "rw_ads": "Advertising API"},
        ),
    ],
)
def test_refused_scopes_name_each_scope_and_why(
    products: tuple[str, ...], asked: tuple[str, ...], refused: dict[str, str]
) -> None:
    problems = refused_scopes(asked, app(*products), CATALOG)
    assert {p.scope for p in problems} == set(refused)
    for problem in problems:
        assert refused[problem.scope] in problem.why
        assert str(problem).startswith(problem.scope + ": ")
