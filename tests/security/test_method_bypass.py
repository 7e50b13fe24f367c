"""A declared Rest.li method never switches the checks off.

Before, a request whose ``X-RestLi-Method`` named a method its route does not serve was
"matching no route" and, with ``unmatched_routes: forward``, went upstream with no product
or scope check. Now a path naming a catalogued resource is checked against it whatever the
method: a method it does not serve is 400 ``method_not_served`` (Rest.li's own answer), and
nothing reaches the upstream. Singleton resources are read with GET, so their scopes apply.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from gateway.app import build_gateway_app
from gateway.catalog.loader import load_catalog
from gateway.catalog.model import Catalog, Route
from gateway.catalog.routes import is_param
from gateway.restli.methods import HTTP_VERB, RestliMethod
from gateway.settings.loader import load_settings
from tests.functional.gateway_harness import gateway_yaml, raw_http, write_config
from tests.security.recording_upstream import RecordingUpstream

ServerFactory = Callable[..., Awaitable[TestServer]]
M = RestliMethod
# Standard tier, no quota: the only refusals left are the ones under test.
TOKEN = "tok-std"
KEY = "urn%3Ali%3Aorganization%3A7"


async def start(
    aiohttp_server: ServerFactory, tmp_path: Path, upstream: RecordingUpstream, extra: str = ""
) -> TestServer:
    path = write_config(tmp_path, gateway_yaml(upstream.url, extra=extra))
    return await aiohttp_server(build_gateway_app(load_settings(path, environ={}), clock=time.time))


def request(
    method: str,
    target: str,
    *,
    token: str = TOKEN,
    restli: str | None = None,
    body: bytes | None = None,
) -> bytes:
    lines = [
        f"{method} {target} HTTP/1.1",
        "Host: gateway.test",
        f"Authorization: Bearer {token}",
        "LinkedIn-Version: 202505",
        "X-Restli-Protocol-Version: 2.0.0",
        "Connection: close",
    ]
    if restli is not None:
        lines.append(f"X-RestLi-Method: {restli}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def send(gw: TestServer, data: bytes) -> tuple[int, bytes, str | None]:
    assert gw.host is not None and gw.port is not None
    status, body = await raw_http(gw.host, gw.port, data)
    code = json.loads(body).get("code") if body.startswith(b"{") else None
    return status, body, code


# --- the examples ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "target", "restli", "body"),
    [
        # GET_ALL on a route that serves GET only.
        ("GET", f"/rest/networkSizes/{KEY}?edgeType=COMPANY_FOLLOWED_BY_MEMBER", "GET_ALL", None),
        # BATCH_DELETE on an event subscription, on the entity path and on the collection.
        (
            "DELETE",
            "/rest/eventSubscriptions/(developerApplication:urn%3Ali%3AdeveloperApplication%3A1,"
            "user:urn%3Ali%3Aperson%3A1,entity:urn%3Ali%3Aorganization%3A1,"
            "eventType:ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS)",
            "BATCH_DELETE",
            None,
        ),
        ("DELETE", "/rest/eventSubscriptions?ids=List(a,b)", None, None),
        # CREATE on an action-only, app-level resource.
        ("POST", "/rest/mediaPlanning?action=forecastReach", "CREATE", b"{}"),
        ("POST", "/rest/targetingAudienceInsights", None, b"{}"),
        # Writes on read-only statistics routes.
        ("POST", "/rest/organizationPageStatistics", None, b"{}"),
        ("PUT", f"/rest/organizationalEntityShareStatistics?ids=List({KEY})", None, b"{}"),
        (
            "POST",
            "/rest/organizationalEntityFollowerStatistics?q=organizationalEntity",
            "BATCH_CREATE",
            b"{}",
        ),
        ("DELETE", "/v2/organizationPageStatistics/123", None, None),
        # A read on a write-only resource.
        ("GET", "/rest/conversionEvents", None, None),
    ],
)
async def test_a_method_the_route_does_not_serve_is_refused(
    aiohttp_server: ServerFactory,
    tmp_path: Path,
    upstream: RecordingUpstream,
    method: str,
    target: str,
    restli: str | None,
    body: bytes | None,
) -> None:
    gw = await start(aiohttp_server, tmp_path, upstream)

    status, answer, code = await send(gw, request(method, target, restli=restli, body=body))

    assert (status, code) == (400, "BAD_REQUEST"), answer
    assert b"not served" in answer
    assert upstream.requests == []


async def test_refused_also_when_unmatched_routes_are_forwarded_and_uncounted(
    aiohttp_server: ServerFactory, tmp_path: Path, upstream: RecordingUpstream
) -> None:
    # A path no route pattern matches is still "unmatched": forwarded, as configured.
    gw = await start(aiohttp_server, tmp_path, upstream, extra="unmatched_routes: forward")

    unknown, _, _ = await send(gw, request("GET", "/rest/someNewResource?q=x"))
    refused, answer, _ = await send(
        gw, request("GET", f"/rest/networkSizes/{KEY}", restli="GET_ALL")
    )

    assert unknown == 200
    assert refused == 400, answer
    assert [r.target for r in upstream.requests] == ["/rest/someNewResource?q=x"]


@pytest.mark.parametrize(
    ("target", "token", "status"),
    [
        # tok-social-narrow holds r_basicprofile: /v2/me and /rest/me are its to read.
        ("/v2/me", "tok-social-narrow", 200),
        ("/rest/me", "tok-social-narrow", 200),
        # No token of the config holds openid or r_1st_connections_size.
        ("/v2/userinfo", "tok-social-narrow", 403),
        ("/rest/me", "tok-ads", 403),
        ("/v2/me", "tok-ads", 403),
    ],
)
async def test_singleton_resources_are_read_with_get_and_their_scopes_apply(
    aiohttp_server: ServerFactory,
    tmp_path: Path,
    upstream: RecordingUpstream,
    target: str,
    token: str,
    status: int,
) -> None:
    gw = await start(aiohttp_server, tmp_path, upstream)

    got, answer, _ = await send(gw, request("GET", target, token=token))
    declared, _, _ = await send(gw, request("GET", target, token=token, restli="GET_ALL"))

    assert (got, declared) == (status, status), answer
    if status == 403:
        assert b"Not enough permissions" in answer
        assert upstream.requests == []
    else:
        assert len(upstream.requests) == 2


# --- the class: every catalogued route x every Rest.li method it does not serve -------------


def _shaped(method: RestliMethod, path: str) -> str:
    """The query that gives a request the shape of ``method`` (Rest.li's routing table)."""
    query = {
        M.FINDER: "q=search",
        M.BATCH_FINDER: "bq=search",
        M.ACTION: "action=go",
        M.BATCH_GET: "ids=List(1,2)",
        M.BATCH_UPDATE: "ids=List(1,2)",
        M.BATCH_PARTIAL_UPDATE: "ids=List(1,2)",
        M.BATCH_DELETE: "ids=List(1,2)",
    }.get(method)
    return f"{path}?{query}" if query else path


def _concrete(route: Route) -> str:
    return "/" + "/".join([route.api, *("key1" if is_param(s) else s for s in route.segments)])


def _is_singleton(route: Route) -> bool:
    served = {m for rule in route.rules for m in rule.methods}
    return (
        len(route.segments) % 2 == 1
        and not is_param(route.segments[-1])
        and M.GET in served
        and M.GET_ALL not in served
    )


def _unserved(catalog: Catalog) -> Iterator[tuple[str, RestliMethod]]:
    for route in catalog.routes:
        served = {m for rule in route.rules for m in rule.methods}
        for method in RestliMethod:
            if method in served or (method is M.GET_ALL and _is_singleton(route)):
                continue
            yield _concrete(route), method


def _other_level(catalog: Catalog) -> Iterator[str]:
    """Paths one level off a catalogued resource that the catalog does not list: the
    collection of an entity-only route, the entities of a collection-only one."""
    patterns = {_concrete(r) for r in catalog.routes}
    for route in catalog.routes:
        if is_param(route.segments[-1]) and len(route.segments) % 2 == 0:
            other = _concrete(route).rsplit("/", 1)[0]
        elif len(route.segments) % 2 == 1 and not _is_singleton(route):
            other = _concrete(route) + "/key1"
        else:
            continue
        if other not in patterns and other.count("/") > 1:
            yield other


async def test_every_route_refuses_every_method_it_does_not_serve(
    aiohttp_server: ServerFactory, tmp_path: Path, upstream: RecordingUpstream
) -> None:
    catalog = load_catalog()
    gw = await start(aiohttp_server, tmp_path, upstream, extra="unmatched_routes: forward")
    cases = list(_unserved(catalog))
    assert len(cases) > 300

    wrong = []
    for path, method in cases:
        verb = HTTP_VERB[method]
        body = b"{}" if verb in ("POST", "PUT") else None
        status, answer, _ = await send(
            gw, request(verb, _shaped(method, path), restli=method.value, body=body)
        )
        if status != 400 or b"not served" not in answer:
            wrong.append((path, method.value, status))

    assert wrong == []
    assert upstream.requests == []


async def test_every_method_one_level_off_a_catalogued_resource_is_refused(
    aiohttp_server: ServerFactory, tmp_path: Path, upstream: RecordingUpstream
) -> None:
    catalog = load_catalog()
    gw = await start(aiohttp_server, tmp_path, upstream, extra="unmatched_routes: forward")
    paths = sorted(set(_other_level(catalog)))
    assert "/rest/networkSizes" in paths and "/rest/organizationAcls/key1" in paths

    wrong = []
    for path in paths:
        for method in RestliMethod:
            verb = HTTP_VERB[method]
            body = b"{}" if verb in ("POST", "PUT") else None
            status, _, _ = await send(
                gw, request(verb, _shaped(method, path), restli=method.value, body=body)
            )
            if status != 400:
                wrong.append((path, method.value, status))

    assert wrong == []
    assert upstream.requests == []
