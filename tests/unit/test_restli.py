"""classify(): Rest.li method inference, headers, tunneling, batch ids, versions."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from gateway.errors import BadRequest, GatewayError
from gateway.restli.classify import classify, needs_body
from gateway.restli.facts import RequestFacts
from gateway.restli.methods import RestliMethod as M

FORM = "application/x-www-form-urlencoded"


def hdrs(*pairs: tuple[str, str]) -> CIMultiDict[str]:
    return CIMultiDict(pairs)


def multipart(boundary: str, query: str, entity: str | None = None) -> bytes:
    body = f"--{boundary}\r\nContent-Type: {FORM}\r\n\r\n{query}\r\n"
    if entity is not None:
        body += f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{entity}\r\n"
    return (body + f"--{boundary}--").encode()


def override(method: str, content_type: str = FORM, *more: tuple[str, str]) -> CIMultiDict[str]:
    return hdrs(("X-HTTP-Method-Override", method), ("Content-Type", content_type), *more)


# --- Inference without X-RestLi-Method ------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "target", "expected"),
    [
        ("GET", "/rest/adAccounts/123", M.GET),
        ("GET", "/rest/adAccounts", M.GET_ALL),
        ("GET", "/rest/adAccounts?q=search", M.FINDER),
        ("GET", "/rest/adAccounts?bq=criteria", M.BATCH_FINDER),
        ("GET", "/rest/adAccounts?ids=List(1,2)", M.BATCH_GET),
        ("GET", "/rest/adAccounts?ids=1&ids=2", M.BATCH_GET),
        ("GET", "/rest/adAccounts?ids[0].a=1&ids[1].a=2", M.BATCH_GET),
        ("GET", "/rest/adAccounts?ids=List()", M.BATCH_GET),
        ("GET", "/rest/adAccounts?q=search&ids=List(1)", M.BATCH_GET),
        ("GET", "/rest/adAccounts/123/adCampaigns", M.GET_ALL),
        ("GET", "/rest/adAccounts/123/adCampaigns/4", M.GET),
        ("GET", "/rest/adAccounts/123?action=x", M.GET),
        ("GET", "/v2/me", M.GET_ALL),
        ("POST", "/rest/adAccounts", M.CREATE),
        ("POST", "/rest/adAccounts/1", M.PARTIAL_UPDATE),
        ("POST", "/rest/mediaPlanning?action=forecastReaches", M.ACTION),
        ("POST", "/rest/adAccounts/1?action=x", M.ACTION),
        ("POST", "/rest/adCampaignGroups?ids=List(1,2)", M.BATCH_PARTIAL_UPDATE),
        ("PUT", "/rest/eventSubscriptions/(a:1,b:2)", M.UPDATE),
        ("PUT", "/rest/adAccounts?ids=List(1,2)", M.BATCH_UPDATE),
        ("DELETE", "/rest/adAccounts/1", M.DELETE),
        ("DELETE", "/rest/adAccounts?ids=List(1,2)", M.BATCH_DELETE),
        ("DELETE", "/rest/adAccounts?ids=1&ids=2", M.BATCH_DELETE),
    ],
)
def test_inference_table(wire: str, target: str, expected: M) -> None:
    facts = classify(wire, target, hdrs(), None)
    assert facts.restli_method is expected
    assert facts.method == wire
    assert facts.wire_method == wire
    assert facts.tunneled is False


# --- X-RestLi-Method ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "target", "values", "expected"),
    [
        ("GET", "/rest/adAccounts?ids=List(1)", ["BATCH_GET"], M.BATCH_GET),
        ("GET", "/rest/adAccounts", ["batch_get"], M.BATCH_GET),
        ("GET", "/rest/adAccounts", ["get_all"], M.GET_ALL),
        ("GET", "/rest/adAccounts", [" Finder "], M.FINDER),
        ("GET", "/rest/adAccounts", ["FINDER", "finder"], M.FINDER),
        ("POST", "/rest/adAccounts", ["BATCH_CREATE"], M.BATCH_CREATE),
        ("POST", "/rest/adAccounts/1", ["ACTION"], M.ACTION),
        ("POST", "/rest/adAccounts/1", ["PARTIAL_UPDATE"], M.PARTIAL_UPDATE),
        ("PUT", "/rest/adAccounts?ids=List(1)", ["batch_update"], M.BATCH_UPDATE),
        ("DELETE", "/rest/adAccounts/1", ["DELETE"], M.DELETE),
        # A batch read must not hide behind a single-entity read method.
        ("GET", "/rest/adAccounts?ids=List(1,2)", ["GET"], M.BATCH_GET),
        ("GET", "/rest/adAccounts?ids=1&ids=2", ["FINDER"], M.BATCH_GET),
        ("GET", "/rest/adAccounts?ids=List()", ["GET_ALL"], M.BATCH_GET),
        ("GET", "/rest/adAccounts?bq=x&ids=List(1)", ["BATCH_FINDER"], M.BATCH_GET),
        ("GET", "/rest/adAccounts?ids[0].a=1", ["GET"], M.BATCH_GET),
    ],
)
def test_restli_method_header(wire: str, target: str, values: list[str], expected: M) -> None:
    headers = hdrs(*(("X-RestLi-Method", value) for value in values))
    assert classify(wire, target, headers, None).restli_method is expected


def test_restli_method_query_param_agreeing_with_header() -> None:
    headers = hdrs(("X-RestLi-Method", "FINDER"))
    facts = classify("GET", "/rest/a?X-RestLi-Method=finder&q=x", headers, None)
    assert facts.restli_method is M.FINDER


@pytest.mark.parametrize(
    ("wire", "target", "headers"),
    [
        ("GET", "/rest/adAccounts", hdrs(("X-RestLi-Method", "CREATE"))),
        ("GET", "/rest/adAccounts", hdrs(("X-RestLi-Method", "BATCH_DELETE"))),
        ("POST", "/rest/adAccounts", hdrs(("X-RestLi-Method", "GET"))),
        ("POST", "/rest/adAccounts?ids=List(1)", hdrs(("X-RestLi-Method", "BATCH_GET"))),
        ("PUT", "/rest/adAccounts/1", hdrs(("X-RestLi-Method", "DELETE"))),
        ("DELETE", "/rest/adAccounts/1", hdrs(("X-RestLi-Method", "UPDATE"))),
        ("GET", "/rest/adAccounts", hdrs(("X-RestLi-Method", "FROB"))),
        ("GET", "/rest/adAccounts", hdrs(("X-RestLi-Method", ""))),
        ("GET", "/rest/adAccounts", hdrs(("X-RestLi-Method", "GET, FINDER"))),
        (
            "GET",
            "/rest/adAccounts",
            hdrs(("X-RestLi-Method", "GET"), ("X-RestLi-Method", "FINDER")),
        ),
        ("GET", "/rest/a?X-RestLi-Method=BATCH_GET", hdrs(("X-RestLi-Method", "GET"))),
        ("GET", "/rest/a?x-restli-method=GET&X-RESTLI-METHOD=FINDER", hdrs()),
        ("GET", "/rest/a?X-HTTP-Method-Override=DELETE", hdrs()),
        ("GET", "/rest/adAccounts?q=a&q=b", hdrs()),
        ("GET", "/rest/adAccounts?bq=a&bq=b", hdrs()),
        ("POST", "/rest/adAccounts?action=a&action=b", hdrs()),
        ("GET", "/rest/adAccounts?q=a&bq=b", hdrs()),
        ("GET", "/rest/adAccounts?ids=List(1)&ids=List(2)", hdrs()),
        ("GET", "/rest/adAccounts?ids=List(1,2", hdrs()),
        ("GET", "/rest/a", hdrs(("LinkedIn-Version", "202401"), ("LinkedIn-Version", "202402"))),
    ],
)
def test_conflicts_are_bad_requests(wire: str, target: str, headers: CIMultiDict[str]) -> None:
    with pytest.raises(BadRequest) as caught:
        classify(wire, target, headers, None)
    assert caught.value.refusal.status == 400


def test_repeated_equal_decision_params_are_accepted() -> None:
    facts = classify("GET", "/rest/adAccounts?q=search&q=search", hdrs(), None)
    assert facts.restli_method is M.FINDER
    assert facts.query == (("q", "search"), ("q", "search"))


@pytest.mark.parametrize(
    "wire", ["PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "get", "", "G\x00ET"]
)
def test_other_verbs_are_not_allowed(wire: str) -> None:
    with pytest.raises(GatewayError) as caught:
        classify(wire, "/rest/adAccounts", hdrs(), None)
    assert not isinstance(caught.value, BadRequest)
    assert caught.value.refusal.status == 405
    assert caught.value.refusal.reason == "method_not_allowed"
    assert caught.value.refusal.code == "METHOD_NOT_ALLOWED"


# --- Facts ----------------------------------------------------------------------------------


def test_facts_of_a_plain_request() -> None:
    target = "/rest/adAccounts/urn%3Ali%3AsponsoredAccount%3A1/adCampaigns?q=search&a=%20b"
    facts = classify("GET", target, hdrs(("LinkedIn-Version", " 202401 ")), None)
    assert facts == RequestFacts(
        wire_method="GET",
        method="GET",
        restli_method=M.FINDER,
        api="rest",
        segments=("adAccounts", "urn:li:sponsoredAccount:1", "adCampaigns"),
        raw_path="/rest/adAccounts/urn%3Ali%3AsponsoredAccount%3A1/adCampaigns",
        raw_query="q=search&a=%20b",
        query=(("q", "search"), ("a", " b")),
        batch_ids=(),
        tunneled=False,
        version="202401",
    )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (hdrs(), None),
        (hdrs(("LinkedIn-Version", "")), None),
        (hdrs(("LinkedIn-Version", "202401")), "202401"),
        (hdrs(("linkedin-version", "202401.01")), "202401.01"),
        (hdrs(("LinkedIn-Version", "202401"), ("LinkedIn-Version", " 202401")), "202401"),
    ],
)
def test_version(headers: CIMultiDict[str], expected: str | None) -> None:
    assert classify("GET", "/rest/me", headers, None).version == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            "/rest/adAccounts?ids=List(urn%3Ali%3AsponsoredAccount%3A1,urn%3Ali%3AsponsoredAccount%3A2)",
            ("urn:li:sponsoredAccount:1", "urn:li:sponsoredAccount:2"),
        ),
        (
            "/rest/eventSubscriptions?ids=List((developerApplication:urn%3Ali%3AdeveloperApplication%3A1,"
            "user:urn%3Ali%3Aperson%3A2),(developerApplication:urn%3Ali%3AdeveloperApplication%3A1,"
            "user:urn%3Ali%3Aperson%3A3))",
            (
                "(developerApplication:urn:li:developerApplication:1,user:urn:li:person:2)",
                "(developerApplication:urn:li:developerApplication:1,user:urn:li:person:3)",
            ),
        ),
        ("/rest/adAccounts?ids=1&ids=2&ids=3", ("1", "2", "3")),
        ("/rest/adAccounts?ids[0].a=1&ids[0].b=2&ids[1].a=3", ("(a:1,b:2)", "(a:3)")),
        ("/rest/adAccounts?ids=List()", ()),
    ],
)
def test_batch_ids_in_facts(target: str, expected: tuple[str, ...]) -> None:
    facts = classify("GET", target, hdrs(), None)
    assert facts.batch_ids == expected
    assert facts.restli_method is M.BATCH_GET


# --- Tunneling ------------------------------------------------------------------------------


def test_form_tunneled_finder() -> None:
    body = b"q=search&search=(status:(values:List(ACTIVE)))"
    facts = classify("POST", "/rest/adAccounts", override("GET"), body)
    assert facts.wire_method == "POST"
    assert facts.method == "GET"
    assert facts.tunneled is True
    assert facts.restli_method is M.FINDER
    assert facts.query == (("q", "search"), ("search", "(status:(values:List(ACTIVE)))"))
    assert facts.raw_query == ""


@pytest.mark.parametrize("restli_header", [["BATCH_GET"], ["GET"], []])
def test_form_tunneled_batch_get(restli_header: list[str]) -> None:
    headers = override("GET")
    for value in restli_header:
        headers.add("X-RestLi-Method", value)
    body = b"ids=List(urn%3Ali%3AsponsoredAccount%3A1,urn%3Ali%3AsponsoredAccount%3A2)"
    facts = classify("POST", "/rest/adAccounts?fields=id", headers, body)
    assert facts.restli_method is M.BATCH_GET
    assert facts.batch_ids == ("urn:li:sponsoredAccount:1", "urn:li:sponsoredAccount:2")
    assert facts.raw_query == "fields=id"
    assert facts.query[0] == ("fields", "id")
    assert facts.tunneled is True


def test_multipart_tunneled_partial_update() -> None:
    headers = override("POST", "multipart/mixed; boundary=aBcDeFgHiJ")
    headers.add("X-RestLi-Method", "PARTIAL_UPDATE")
    body = multipart("aBcDeFgHiJ", "fields=id", '{"patch":{"$set":{"name":"x"}}}')
    facts = classify("POST", "/rest/adAccounts/123", headers, body)
    assert facts.restli_method is M.PARTIAL_UPDATE
    assert (facts.wire_method, facts.method, facts.tunneled) == ("POST", "POST", True)
    assert facts.query == (("fields", "id"),)


@pytest.mark.parametrize(
    ("method", "content_type", "body", "expected"),
    [
        (
            "PUT",
            "multipart/mixed; boundary=b",
            multipart("b", "ids=List(1,2)", "{}"),
            M.BATCH_UPDATE,
        ),
        ("DELETE", FORM, b"ids=List(1,2)", M.BATCH_DELETE),
        ("DELETE", FORM, b"", M.DELETE),
        ("get", FORM, b"ids=1&ids=2", M.BATCH_GET),
        ("POST", FORM, b"action=forecastReaches", M.ACTION),
        ("GET", f"{FORM}; charset=UTF-8", b"q=a+b", M.FINDER),
    ],
)
def test_tunneled_verbs(method: str, content_type: str, body: bytes, expected: M) -> None:
    target = "/rest/adAccounts" if expected is not M.DELETE else "/rest/adAccounts/1"
    facts = classify("POST", target, override(method, content_type), body)
    assert facts.restli_method is expected
    assert facts.method == method.upper()


def test_form_body_decodes_plus_as_space() -> None:
    facts = classify("POST", "/rest/adAccounts", override("GET"), b"q=search&name=a+b%2Bc")
    assert facts.query_value("name") == "a b+c"


@pytest.mark.parametrize(
    ("wire", "target", "headers", "body"),
    [
        # The override header on anything but POST.
        ("GET", "/rest/adAccounts", override("GET"), b"q=a"),
        ("PUT", "/rest/adAccounts/1", override("PUT"), b""),
        ("DELETE", "/rest/adAccounts/1", override("GET"), b""),
        # Unknown or conflicting overrides.
        ("POST", "/rest/adAccounts", override("PATCH"), b""),
        ("POST", "/rest/adAccounts", override("HEAD"), b""),
        ("POST", "/rest/adAccounts", override(""), b""),
        (
            "POST",
            "/rest/adAccounts",
            override("GET", FORM, ("X-HTTP-Method-Override", "DELETE")),
            b"",
        ),
        # Missing bodies.
        ("POST", "/rest/adAccounts", override("GET"), None),
        ("POST", "/rest/adAccounts", hdrs(("Content-Type", FORM)), None),
        ("GET", "/rest/adAccounts", hdrs(("Content-Type", "multipart/mixed; boundary=b")), None),
        # Bodies the upstream would not read as a query.
        ("POST", "/rest/adAccounts", hdrs(("Content-Type", FORM)), b"ids=List(1)"),
        (
            "POST",
            "/rest/adAccounts",
            hdrs(("Content-Type", "multipart/mixed; boundary=b")),
            multipart("b", "ids=List(1)"),
        ),
        ("POST", "/rest/adAccounts", override("GET", "application/json"), b"{}"),
        ("POST", "/rest/adAccounts", hdrs(("X-HTTP-Method-Override", "GET")), b"q=a"),
        # Malformed tunneled bodies.
        ("POST", "/rest/adAccounts", override("GET", "multipart/mixed"), multipart("b", "q=a")),
        ("POST", "/rest/adAccounts", override("GET", "multipart/mixed; boundary=b"), b"q=a"),
        ("POST", "/rest/adAccounts", override("GET"), b"q=%zz"),
        ("POST", "/rest/adAccounts", override("GET"), "q=é".encode()),
        ("POST", "/rest/adAccounts", override("GET"), b"ids=List(1,2"),
        (
            "POST",
            "/rest/adAccounts",
            override("GET", FORM, ("Content-Type", "application/json")),
            b"q=a",
        ),
        # A decision parameter in both the URL and the tunneled query, differently.
        ("POST", "/rest/adAccounts?q=a", override("GET"), b"q=b"),
        ("POST", "/rest/adAccounts?ids=List(1)", override("GET"), b"ids=List(2)"),
        ("POST", "/rest/adAccounts?ids=1", override("GET"), b"ids[0]=2"),
        # The tunneled X-RestLi-Method must agree with the override.
        ("POST", "/rest/adAccounts", override("GET", FORM, ("X-RestLi-Method", "CREATE")), b""),
    ],
)
def test_bad_tunnels_are_refused(
    wire: str, target: str, headers: CIMultiDict[str], body: bytes | None
) -> None:
    with pytest.raises(BadRequest) as caught:
        classify(wire, target, headers, body)
    assert caught.value.refusal.status == 400


def test_form_body_on_put_without_override_is_not_read() -> None:
    facts = classify("PUT", "/rest/adAccounts/1", hdrs(("Content-Type", FORM)), None)
    assert facts.restli_method is M.UPDATE
    assert facts.tunneled is False


def test_body_is_ignored_when_not_tunneled() -> None:
    headers = hdrs(("Content-Type", "application/json"))
    facts = classify("POST", "/rest/adAccounts", headers, b'{"ids": "List(1,2)", "action": "x"}')
    assert facts.restli_method is M.CREATE
    assert facts.query == ()


@pytest.mark.parametrize(
    ("wire", "headers", "expected"),
    [
        ("GET", hdrs(), False),
        ("POST", hdrs(("Content-Type", "application/json")), False),
        ("POST", hdrs(("Content-Type", FORM)), True),
        ("POST", hdrs(("content-type", "Application/X-WWW-Form-Urlencoded; charset=utf-8")), True),
        ("PUT", hdrs(("Content-Type", FORM)), False),
        ("GET", hdrs(("Content-Type", FORM)), False),
        ("PUT", hdrs(("Content-Type", "multipart/mixed; boundary=x")), True),
        ("GET", hdrs(("Content-Type", "MULTIPART/MIXED")), True),
        ("GET", hdrs(("X-HTTP-Method-Override", "GET")), True),
        ("POST", hdrs(("x-http-method-override", "")), True),
        ("POST", hdrs(("Content-Type", "application/json"), ("Content-Type", FORM)), True),
        ("POST", hdrs(("Content-Type", "multipart/form-data; boundary=x")), False),
    ],
)
def test_needs_body(wire: str, headers: CIMultiDict[str], expected: bool) -> None:
    assert needs_body(wire, headers) is expected


# --- Refusals from the target ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "status", "reason"),
    [
        ("http://api.linkedin.com/rest/me", 400, "absolute_target_refused"),
        ("api.linkedin.com:443", 400, "absolute_target_refused"),
        ("/rest/me?" + "a" * 4097, 414, "uri_too_long"),
        ("/rest/" + "a" * 8200, 414, "uri_too_long"),
        ("/rest/../v2/me", 400, "ambiguous_path"),
        ("/rest/%2e%2e/v2/me", 400, "ambiguous_path"),
        ("/other/me", 404, "unknown_api"),
    ],
)
def test_target_refusals(target: str, status: int, reason: str) -> None:
    with pytest.raises(GatewayError) as caught:
        classify("GET", target, hdrs(), None)
    assert (caught.value.refusal.status, caught.value.refusal.reason) == (status, reason)
