"""docs/catalog.md is the catalog, as `linkedin-gateway catalog --markdown` prints it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.catalog.loader import load_catalog, read_catalog_text
from gateway.catalog.markdown import render_markdown
from gateway.catalog.sources import route_sources
from gateway.cli import main

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "catalog.md"


def test_docs_catalog_is_in_step_with_the_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "--markdown"]) == 0
    printed = capsys.readouterr().out
    assert DOC.read_text(encoding="utf-8") == printed, (
        "docs/catalog.md is stale: run `linkedin-gateway catalog --markdown > docs/catalog.md`"
    )


def test_every_route_and_permission_is_on_the_page() -> None:
    catalog = load_catalog()
    text = render_markdown(catalog, route_sources(read_catalog_text()))
    for product in catalog.products.values():
        assert f"### {product.title} (`{product.name}`)" in text
    for route in catalog.routes:
        assert f"| `{route.pattern}` |" in text
    for name in catalog.permissions:
        assert f"| `{name}` |" in text
    assert "`/rest/conversionEvents` | WRITE | `rw_conversions` or `rw_offlineConversions`" in text


def test_unconfirmed_routes_are_listed() -> None:
    catalog = load_catalog()
    sources = {route.pattern: "marketing/x" for route in catalog.routes}
    sources["/rest/mediaPlanning"] = "marketing/y [?]"
    text = render_markdown(catalog, sources)
    assert text.split("## Not confirmed")[1].strip() == "- `/rest/mediaPlanning`: marketing/y [?]"
