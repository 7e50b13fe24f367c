"""The strict catalog loader: the shipped file loads; every broken file names file and key."""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.catalog.loader import SHIPPED_CATALOG, load_catalog, parse_catalog
from gateway.catalog.model import Catalog
from gateway.errors import ConfigError
from gateway.quota.model import Window
from gateway.restli.methods import READ_METHODS, WRITE_METHODS, RestliMethod

REPO = Path(__file__).resolve().parents[2]

Doc = dict[str, Any]


def base() -> Doc:
    """The smallest catalog that uses every feature once."""
    return {
        "versions": {"sunset_through": "202304"},
        "roles": {"organization": ["ADMINISTRATOR"], "ad_account": ["VIEWER"]},
        "products": {
            "ads": {
                "title": "Ads",
                "availability": "all",
                "how_to_request": "apply",
                "permissions": ["r_ads", "rw_ads"],
                "app_level": False,
                "requires": [],
                "tiers": ["development", "standard"],
                "default_tier": "development",
            },
            "insights": {
                "title": "Insights",
                "availability": "some",
                "how_to_request": "ask",
                "permissions": [],
                "app_level": True,
                "requires": ["ads"],
                "tiers": [],
                "default_tier": None,
            },
        },
        "permissions": {
            "r_ads": {"description": "read", "type": "member", "products": ["ads"]},
            "rw_ads": {"description": "write", "type": "member", "products": ["ads"]},
            "openid": {"description": "oidc", "type": "openid", "products": []},
        },
        "tiers": [
            {
                "product": "ads",
                "name": "development",
                "title": "Ads Development",
                "description": "build",
                "quota": {"app_per_window": 100, "member_per_window": 10, "window": "utc-day"},
                "batch_get": False,
                "social_action_webhooks": False,
                "ad_accounts": {
                    "read_unlimited": True,
                    "test_account_creates": 1,
                    "real_account_creates": False,
                    "editable_accounts": 5,
                },
                "development_months": 12,
            },
            {
                "product": "ads",
                "name": "standard",
                "title": "Ads Standard",
                "description": "run",
                "quota": None,
                "batch_get": True,
                "social_action_webhooks": True,
                "ad_accounts": None,
                "development_months": None,
            },
        ],
        "routes": [
            {
                "pattern": "/rest/adAccounts",
                "rules": [
                    {"methods": ["READ"], "permissions": ["r_ads", "rw_ads"], "roles": ["VIEWER"]},
                    {"methods": ["WRITE"], "permissions": ["rw_ads"]},
                ],
            },
            {
                "pattern": "/rest/insights",
                "rules": [{"methods": ["ACTION"], "app_products": ["insights"]}],
            },
            {"pattern": "/v2/me", "rules": [{"methods": ["GET"], "permissions": ["openid"]}]},
        ],
    }


def write(tmp_path: Path, doc: Doc | str) -> Path:
    path = tmp_path / "catalog.yaml"
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[tuple[str, str, str]]:
    with pytest.raises(ConfigError) as caught:
        load_catalog(path)
    return [(p.file, p.path, p.message) for p in caught.value.problems]


# --- the good files -------------------------------------------------------------------------


def test_base_loads(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, base()))
    assert list(catalog.products) == ["ads", "insights"]
    assert catalog.source == str(tmp_path / "catalog.yaml")
    assert catalog.products["insights"].requires == ("ads",)
    assert catalog.products["insights"].default_tier is None
    dev = catalog.tier("ads", "development")
    assert dev.quota is not None
    assert dev.quota.window is Window.UTC_DAY
    assert dev.ad_accounts is not None
    assert dev.ad_accounts.editable_accounts == 5
    assert catalog.tier("ads", "standard").quota is None
    route = catalog.routes[0]
    assert (route.api, route.segments) == ("rest", ("adAccounts",))
    assert route.rules[0].methods == READ_METHODS
    assert route.rules[1].methods == WRITE_METHODS
    assert catalog.routes[2].api == "v2"
    assert catalog.roles["ad_account"] == ("VIEWER",)
    assert catalog.route_index


def test_shipped_catalog_loads_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    catalog = load_catalog()
    assert catalog.source == SHIPPED_CATALOG
    assert os.path.isfile(SHIPPED_CATALOG)
    assert len(catalog.products) == 8
    assert len(catalog.routes) > 40


def test_shipped_file_is_the_config_file() -> None:
    shipped = Path(SHIPPED_CATALOG).read_bytes()
    assert shipped == (REPO / "config" / "catalog.yaml").read_bytes()
    assert load_catalog(REPO / "config" / "catalog.yaml").products == load_catalog().products


def test_model_is_frozen(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, base()))
    with pytest.raises(TypeError):
        catalog.products["x"] = catalog.products["ads"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalog.routes[0].pattern = "/rest/x"  # type: ignore[misc]
    assert isinstance(catalog.routes[0].rules[0].methods, frozenset)
    assert isinstance(catalog.products["ads"].permissions, tuple)


def test_permission_products_follow_catalog_order(tmp_path: Path) -> None:
    doc = base()
    doc["products"]["more"] = copy.deepcopy(doc["products"]["ads"]) | {
        "permissions": ["r_ads"],
        "tiers": [],
        "default_tier": None,
    }
    doc["permissions"]["r_ads"]["products"] = ["more", "ads"]
    assert load_catalog(write(tmp_path, doc)).permissions["r_ads"].products == ("ads", "more")


def test_extension_keys_and_anchors_are_allowed(tmp_path: Path) -> None:
    text = yaml.safe_dump(base(), sort_keys=False).replace(
        "routes:\n",
        "x-shared:\n  reads: &reads\n  - methods: [GET]\n    permissions: [r_ads]\nroutes:\n",
    )
    text += "- pattern: /rest/adAccounts/{account}\n  rules: *reads\n"
    catalog = load_catalog(write(tmp_path, text))
    assert catalog.routes[-1].rules[0].methods == frozenset({RestliMethod.GET})


def test_method_names_and_aliases_mix(tmp_path: Path) -> None:
    doc = base()
    doc["routes"][0]["rules"][1]["methods"] = ["CREATE", "DELETE"]
    doc["routes"][0]["rules"][0]["methods"] = ["READ", "GET"]  # an alias may overlap its own rule
    catalog = load_catalog(write(tmp_path, doc))
    assert catalog.routes[0].rules[1].methods == {RestliMethod.CREATE, RestliMethod.DELETE}
    assert catalog.routes[0].rules[0].methods == READ_METHODS


# --- the broken files -----------------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    """Set a dotted/indexed key path (``routes.0.rules.1.methods``) in the document."""

    def mutate(doc: Doc) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _delete(path: str) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        del node[last]

    return mutate


def _append_route(route: Doc) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        doc["routes"].append(route)

    return mutate


BROKEN: list[tuple[str, Callable[[Doc], None], list[tuple[str, str]]]] = [
    # pass 1: shape
    ("unknown top key", _set("colour", 1), [("colour", "unknown key")]),
    ("missing top key", _delete("versions"), [("versions", "required key is missing")]),
    (
        "unknown product key",
        _set("products.ads.colour", "red"),
        [("products.ads.colour", "unknown key")],
    ),
    (
        "missing product key",
        _delete("products.ads.title"),
        [("products.ads.title", "required key is missing")],
    ),
    (
        "bool of wrong type",
        _set("products.ads.app_level", "no"),
        [("products.ads.app_level", "expected true or false, got a string")],
    ),
    (
        "list of wrong type",
        _set("products.insights.requires", "ads"),
        [("products.insights.requires", "expected a list, got a string")],
    ),
    (
        "list item of wrong type",
        _set("permissions.r_ads.products", ["ads", 3]),
        [("permissions.r_ads.products[1]", "expected a non-empty string, got an integer")],
    ),
    (
        "unknown permission type",
        _set("permissions.r_ads.type", "robot"),
        [("permissions.r_ads.type", "expected one of member, openid")],
    ),
    (
        "bad version",
        _set("versions.sunset_through", "2023-04"),
        [("versions.sunset_through", "expected a YYYYMM version")],
    ),
    (
        "version not a string",
        _set("versions.sunset_through", 202304),
        [("versions.sunset_through", "expected a string, got an integer")],
    ),
    (
        "unknown window",
        _set("tiers.0.quota.window", "weekly"),
        [("tiers[0].quota.window", "expected one of utc-day, rolling-24h")],
    ),
    (
        "negative limit",
        _set("tiers.0.quota.app_per_window", -1),
        [("tiers[0].quota.app_per_window", "must not be negative")],
    ),
    (
        "limit not a number",
        _set("tiers.0.ad_accounts.editable_accounts", "five"),
        [("tiers[0].ad_accounts.editable_accounts", "expected an integer or null, got a string")],
    ),
    (
        "missing tier key",
        _delete("tiers.1.batch_get"),
        [("tiers[1].batch_get", "required key is missing")],
    ),
    (
        "unknown rule key",
        _set("routes.0.rules.1.scopes", ["rw_ads"]),
        [("routes[0].rules[1].scopes", "unknown key")],
    ),
    (
        "rule not a mapping",
        _set("routes.1.rules", ["ACTION"]),
        [("routes[1].rules[0]", "expected a mapping, got a string")],
    ),
    # pass 2: meaning
    (
        "permission names unknown product",
        _set("permissions.r_ads.products", ["ads", "nope"]),
        [("permissions.r_ads.products[1]", "unknown product 'nope'")],
    ),
    (
        "product lists permission that does not name it",
        _set("products.ads.permissions", ["r_ads", "rw_ads", "openid"]),
        [("products.ads.permissions[2]", "permission 'openid' does not list product 'ads'")],
    ),
    (
        "permission names product that does not list it",
        _set("products.ads.permissions", ["r_ads"]),
        [("permissions.rw_ads.products[0]", "product 'ads' does not list permission 'rw_ads'")],
    ),
    (
        "product lists unknown permission",
        _set("products.ads.permissions", ["r_ads", "rw_ads", "r_nope"]),
        [("products.ads.permissions[2]", "unknown permission 'r_nope'")],
    ),
    (
        "requires unknown product",
        _set("products.insights.requires", ["nope"]),
        [("products.insights.requires[0]", "unknown product 'nope'")],
    ),
    (
        "requires itself",
        _set("products.insights.requires", ["insights"]),
        [("products.insights.requires[0]", "cannot require itself")],
    ),
    (
        "tier of unknown product",
        _set("tiers.1.product", "nope"),
        [
            ("tiers[1].product", "unknown product 'nope'"),
            ("products.ads.tiers[1]", "no tier 'standard' of product 'ads' is defined"),
        ],
    ),
    (
        "tier the product does not list",
        _set("products.ads.tiers", ["development"]),
        [("tiers[1].name", "product 'ads' does not list tier 'standard'")],
    ),
    (
        "tier defined twice",
        _set("tiers.1.name", "development"),
        [
            ("tiers[1]", "tier ads/development is defined twice (first at tiers[0])"),
            ("products.ads.tiers[1]", "no tier 'standard'"),
        ],
    ),
    (
        "default tier not among tiers",
        _set("products.ads.default_tier", "gold"),
        [("products.ads.default_tier", "'gold' is not one of the product's tiers")],
    ),
    (
        "tiers but no default",
        _set("products.ads.default_tier", None),
        [("products.ads.default_tier", "needs a default_tier")],
    ),
    (
        "app-level product with scopes",
        _set("products.insights.permissions", ["r_ads"]),
        [
            ("products.insights.permissions", "app-level product grants no OAuth scopes"),
            ("products.insights.permissions[0]", "does not list product 'insights'"),
        ],
    ),
    (
        "member permission without product",
        _set("permissions.openid.type", "member"),
        [("permissions.openid.products", "must be granted by at least one product")],
    ),
    (
        "rule names unknown permission",
        _set("routes.0.rules.0.permissions", ["r_ads", "r_nope"]),
        [("routes[0].rules[0].permissions[1]", "unknown permission 'r_nope'")],
    ),
    (
        "rule names unknown product",
        _set("routes.1.rules.0.app_products", ["nope"]),
        [("routes[1].rules[0].app_products[0]", "unknown product 'nope'")],
    ),
    (
        "rule names non-app-level product",
        _set("routes.1.rules.0.app_products", ["ads"]),
        [("routes[1].rules[0].app_products[0]", "not app-level")],
    ),
    (
        "rule names unknown method",
        _set("routes.0.rules.1.methods", ["WRITE", "FETCH"]),
        [("routes[0].rules[1].methods[1]", "unknown Rest.li method 'FETCH'")],
    ),
    (
        "rule with no methods",
        _set("routes.0.rules.1.methods", []),
        [("routes[0].rules[1].methods", "at least one method")],
    ),
    (
        "rule with neither permissions nor app_products",
        _set("routes.1.rules.0", {"methods": ["ACTION"]}),
        [("routes[1].rules[0]", "needs permissions or app_products")],
    ),
    (
        "two rules share a method",
        _set("routes.0.rules.1.methods", ["WRITE", "GET"]),
        [("routes[0].rules[1].methods[1]", "GET is already served by routes[0].rules[0]")],
    ),
    (
        "rule names unknown role",
        _set("routes.0.rules.0.roles", ["OWNER"]),
        [("routes[0].rules[0].roles[0]", "unknown role 'OWNER'")],
    ),
    (
        "permission listed twice",
        _set("routes.0.rules.1.permissions", ["rw_ads", "rw_ads"]),
        [
            (
                "routes[0].rules[1].permissions[1]",
                "listed twice (first at routes[0].rules[1].permissions[0])",
            )
        ],
    ),
    ("route without rules", _set("routes.2.rules", []), [("routes[2].rules", "at least one rule")]),
    (
        "pattern outside /rest and /v2",
        _set("routes.0.pattern", "/api/adAccounts"),
        [("routes[0].pattern", "must start with /rest/ or /v2/")],
    ),
    (
        "pattern with empty segment",
        _set("routes.0.pattern", "/rest/adAccounts/"),
        [("routes[0].pattern", "segment '' must be a non-empty literal")],
    ),
    (
        "bad parameter",
        _set("routes.0.pattern", "/rest/adAccounts/{1st}"),
        [("routes[0].pattern", "not a valid {name} parameter")],
    ),
    (
        "parameter twice",
        _set("routes.0.pattern", "/rest/a/{x}/b/{x}"),
        [("routes[0].pattern", "parameter {x} appears twice")],
    ),
    (
        "duplicate pattern",
        _append_route(
            {
                "pattern": "/rest/ADACCOUNTS",
                "rules": [{"methods": ["GET"], "permissions": ["r_ads"]}],
            }
        ),
        [("routes[3].pattern", "matches the same paths as the route at routes[0]")],
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [pytest.param(m, e, id=i) for i, m, e in BROKEN])
def test_broken_catalog_names_file_and_key(
    tmp_path: Path, mutate: Callable[[Doc], None], expected: list[tuple[str, str]]
) -> None:
    doc = base()
    mutate(doc)
    path = write(tmp_path, doc)
    found = problems_of(path)
    assert all(file == str(path) for file, _, _ in found)
    assert [key for _, key, _ in found] == [key for key, _ in expected], found
    for (_, _, message), (_, fragment) in zip(found, expected, strict=True):
        assert fragment in message


def test_same_shape_patterns_with_other_parameter_names_clash(tmp_path: Path) -> None:
    doc = base()
    doc["routes"] += [
        {
            "pattern": "/rest/adAccounts/{a}",
            "rules": [{"methods": ["GET"], "permissions": ["r_ads"]}],
        },
        {
            "pattern": "/rest/adAccounts/{b}",
            "rules": [{"methods": ["GET"], "permissions": ["r_ads"]}],
        },
    ]
    assert [(k, m) for _, k, m in problems_of(write(tmp_path, doc))] == [
        (
            "routes[4].pattern",
            "pattern '/rest/adAccounts/{b}' matches the same paths as the route at routes[3]",
        )
    ]


def test_every_problem_is_reported_together(tmp_path: Path) -> None:
    doc = base()
    doc["colour"] = "red"  # shape
    doc["tiers"][0]["quota"]["window"] = "weekly"  # shape
    doc["permissions"]["r_ads"]["products"] = ["ads", "nope"]  # meaning
    doc["routes"][0]["rules"][0]["permissions"] = ["r_ads", "r_nope"]  # meaning
    doc["routes"][3:] = [{"pattern": "/rest/x/y", "rules": [{"methods": ["GET"]}]}]  # meaning
    path = write(tmp_path, doc)
    with pytest.raises(ConfigError) as caught:
        load_catalog(path)
    keys = [p.path for p in caught.value.problems]
    # Shape problems come first, then meaning.
    assert keys == [
        "colour",
        "tiers[0].quota.window",
        "permissions.r_ads.products[1]",
        "routes[0].rules[0].permissions[1]",
        "routes[3].rules[0]",
    ]
    text = str(caught.value)
    for key in keys:
        assert f"{path}: {key}: " in text


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        pytest.param("products: [unclosed\n", "line 2, column 1", "invalid YAML", id="syntax"),
        pytest.param(
            "versions: {}\nversions: {}\n",
            "line 2, column 1",
            "duplicate key 'versions'",
            id="dup-key",
        ),
        pytest.param("- a\n- b\n", "", "expected a mapping, got a list", id="not-a-mapping"),
        pytest.param("", "", "expected a mapping, got null", id="empty"),
    ],
)
def test_unreadable_yaml_is_a_config_error(
    tmp_path: Path, text: str, where: str, fragment: str
) -> None:
    path = write(tmp_path, text)
    found = problems_of(path)
    assert found[0][0] == str(path)
    assert found[0][1] == where
    assert fragment in found[0][2]


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    found = problems_of(path)
    assert found == [(str(path), "", found[0][2])]
    assert "cannot read" in found[0][2]


def test_parse_catalog_names_its_source() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_catalog("versions: 1\n", "inline.yaml")
    assert {p.file for p in caught.value.problems} == {"inline.yaml"}
    assert "versions" in [p.path for p in caught.value.problems]


def test_loaded_catalog_equals_reloaded(tmp_path: Path) -> None:
    first: Catalog = load_catalog(write(tmp_path, base()))
    second = load_catalog(tmp_path / "catalog.yaml")
    assert first == second
