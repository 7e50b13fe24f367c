"""App-level products and product prerequisites, through the gateway over real sockets.

Seed, "What permissions are available?": Audience Insights and Media Planning permissions are
assigned to the application, never requested in a member's OAuth scope. Seed note: "Access to
Advertising API is a mandatory requirement for utilizing Matched Audience and Audience
Insights."
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.cli import main
from gateway.errors import ConfigError
from gateway.settings.model import Settings
from tests.functional.adaccounts_harness import ServerFactory, ads_yaml, load, send, start

INSIGHTS = "/rest/targetingAudienceInsights?action=audienceInsights"
FORECAST = "/rest/mediaPlanning?action=forecastReaches"
SEGMENTS = "/rest/dmpSegments?q=account&account=urn%3Ali%3AsponsoredAccount%3A500001"


@pytest.mark.parametrize(
    ("who", "path", "status", "reason"),
    [
        # Held at the app level: a token without any scope is enough.
        ("tok-insights", INSIGHTS, 200, None),
        ("tok-planner", FORECAST, 200, None),
        # Not held: no scope could stand in for the product.
        ("tok-ads", INSIGHTS, 403, "product_not_approved"),
        ("tok-ads", FORECAST, 403, "product_not_approved"),
        ("tok-planner", INSIGHTS, 403, "product_not_approved"),
        ("tok-insights", FORECAST, 403, "product_not_approved"),
    ],
)
async def test_app_level_products_are_held_by_the_app_not_the_token(
    sandbox: TestServer,
    aiohttp_server: ServerFactory,
    tmp_path: Path,
    who: str,
    path: str,
    status: int,
    reason: str | None,
) -> None:
    gateway = await start(aiohttp_server, load(tmp_path, ads_yaml(str(sandbox.make_url("")))))
    async with aiohttp.ClientSession() as session:
        response = await send(
            session, gateway, "POST", path, who, body={"criteria": {}}, restli="ACTION"
        )
    assert response.status == status
    assert response.headers.get("X-Gateway-Reason") == reason


def _without_advertising(settings: Settings, app: str) -> Settings:
    # A config that got past the loader some other way (built in code, an older loader):
    # the decision must still refuse, on its own.
    held = settings.apps[app]
    products = {name: grant for name, grant in held.products.items() if name != "advertising"}
    apps = dict(settings.apps)
    apps[app] = replace(held, products=products)
    return replace(settings, apps=apps)


@pytest.mark.parametrize(
    ("app", "who", "method", "path", "restli", "product"),
    [
        ("insights", "tok-insights", "POST", INSIGHTS, "ACTION", "Audience Insights"),
        ("ads", "tok-ads", "GET", SEGMENTS, "FINDER", "Matched Audiences"),
    ],
)
async def test_the_decision_refuses_a_product_whose_prerequisite_is_missing(
    sandbox: TestServer,
    aiohttp_server: ServerFactory,
    tmp_path: Path,
    app: str,
    who: str,
    method: str,
    path: str,
    restli: str,
    product: str,
) -> None:
    settings = load(tmp_path, ads_yaml(str(sandbox.make_url(""))))
    allowed = await start(aiohttp_server, settings)
    broken = await start(aiohttp_server, _without_advertising(settings, app))
    body: dict[str, object] | None = {"criteria": {}} if method == "POST" else None
    async with aiohttp.ClientSession() as session:
        fine = await send(session, allowed, method, path, who, body=body, restli=restli)
        refused = await send(session, broken, method, path, who, body=body, restli=restli)
    assert fine.status == 200
    assert refused.status == 403
    assert refused.headers["X-Gateway-Reason"] == "product_not_approved"
    message = json.loads(await refused.read())["message"]
    assert f"{product} is approved but requires Advertising API" in message


@pytest.mark.parametrize("product", ["matched_audiences", "audience_insights"])
def test_check_config_refuses_a_dependent_product_without_advertising(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], product: str
) -> None:
    text = ads_yaml("sandbox").replace(
        "  planner:\n    client_id: c-planner\n    client_secret: s-planner\n    products:\n",
        f"  planner:\n    client_id: c-planner\n    client_secret: s-planner\n    products:\n"
        f"      {product}: {{}}\n",
    )
    path = tmp_path / "gateway.yaml"
    path.write_text(text)

    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    problems = [(p.path, p.message) for p in caught.value.problems]
    assert (
        f"apps.planner.products.{product}",
        f"{product} requires the advertising product, which this app lacks",
    ) in problems
    assert main(["check-config", str(path)]) == 1
    assert f"apps.planner.products.{product}" in capsys.readouterr().err
