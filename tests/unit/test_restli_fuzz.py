"""Random requests: classify() answers with RequestFacts or a GatewayError, nothing else."""

from __future__ import annotations

import random

import pytest
from multidict import CIMultiDict

from gateway.errors import GatewayError
from gateway.restli.classify import classify, needs_body
from gateway.restli.facts import RequestFacts
from gateway.restli.methods import HTTP_VERB, READ_METHODS, RestliMethod

CASES = 4000

PIECES = [
    "/",
    "/rest/",
    "/v2/",
    "rest",
    "adAccounts",
    "123",
    "..",
    ".",
    "%2e",
    "%2E",
    "%2f",
    "%5c",
    "%00",
    "%",
    "%zz",
    "%C3%A9",
    "%C0%AE",
    "%EF%BC%8E",
    "\\",
    ";",
    "#",
    "?",
    "&",
    "=",
    "q",
    "bq",
    "action",
    "ids",
    "ids[0].a",
    "ids[x]",
    "List(",
    ")",
    "(",
    ",",
    ":",
    "urn%3Ali%3A",
    "+",
    " ",
    "\t",
    "\r\n",
    "\x00",
    "\x7f",
    "é",
    "\u202e",
    "\udc80",
    "//",
    "http://",
    "*",
    "X-RestLi-Method",
    "x-http-method-override",
    "%25",
    "~",
    "fields",
    "List()",
]
METHODS = ["GET", "POST", "POST", "POST", "PUT", "DELETE", "PATCH", "HEAD", "get", "", "OPTIONS"]
HEADER_NAMES = [
    "X-HTTP-Method-Override",
    "Content-Type",
    "X-RestLi-Method",
    "LinkedIn-Version",
    "X-Other",
]
HEADER_VALUES = [
    "GET",
    "POST",
    "PUT",
    "DELETE",
    "PATCH",
    "",
    " ",
    "batch_get",
    "FINDER",
    "GET_ALL",
    "CREATE",
    "application/x-www-form-urlencoded",
    "multipart/mixed; boundary=b",
    'multipart/mixed; boundary="b',
    "multipart/mixed; boundary=",
    "multipart/mixed",
    "application/json",
    "202401",
    "a/b; c=d; c=e",
    "\x00",
    "é",
    ";;",
    "multipart/mixed;;",
]
BODIES: list[bytes | None] = [
    None,
    b"",
    b"q=a",
    b"ids=List(1,2)",
    b"ids=List((a:1),(b:2)",
    b"--b\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nids=List(1)\r\n--b--",
    b"--b\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nq=a\r\n--b\r\n"
    b"Content-Type: application/json\r\n\r\n{}\r\n--b--",
    b"--b\r\n\r\n\r\n--b--",
    b"--b--\r\n--b",
    b"\xff\xfe\x00",
]


def random_text(rng: random.Random, alphabet_max: int) -> str:
    return "".join(chr(rng.randrange(0, alphabet_max)) for _ in range(rng.randrange(0, 40)))


SEGMENTS = ["adAccounts", "123", "urn%3Ali%3Aperson%3A1", "(a:1,b:urn%3Ali%3Ax%3A2)", "me"]
PARAMS = [
    "q=search",
    "bq=x",
    "action=a",
    "ids=List(1,2)",
    "ids=1",
    "ids[0].a=1",
    "ids=List(",
    "fields=id",
    "X-RestLi-Method=GET",
    "ids=List()",
    "q=other",
    "a=%20",
    "",
]


def piece_soup(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 8)))


def random_target(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.1:
        return random_text(rng, 0x80)
    if roll < 0.15:
        return "/" + random_text(rng, 0x110000)
    if roll < 0.3:
        return rng.choice(["/rest/", "/v2/", "/", ""]) + piece_soup(rng) + piece_soup(rng)
    segments = [
        rng.choice(SEGMENTS) if rng.random() < 0.9 else piece_soup(rng)
        for _ in range(rng.randrange(1, 5))
    ]
    target = rng.choice(["/rest/", "/v2/"]) + "/".join(segments)
    if rng.random() < 0.7:
        params = [
            rng.choice(PARAMS) if rng.random() < 0.9 else piece_soup(rng)
            for _ in range(rng.randrange(0, 4))
        ]
        target += "?" + "&".join(params)
    return target


def random_headers(rng: random.Random) -> CIMultiDict[str]:
    headers: CIMultiDict[str] = CIMultiDict()
    if rng.random() < 0.4:
        headers.add("X-HTTP-Method-Override", rng.choice(["GET", "POST", "PUT", "DELETE"]))
        headers.add(
            "Content-Type",
            rng.choice(["application/x-www-form-urlencoded", "multipart/mixed; boundary=b"]),
        )
    for _ in range(rng.randrange(0, 4)):
        value = rng.choice(HEADER_VALUES) if rng.random() < 0.8 else random_text(rng, 0x110000)
        headers.add(rng.choice(HEADER_NAMES), value)
    return headers


def random_body(rng: random.Random) -> bytes | None:
    if rng.random() < 0.7:
        return rng.choice(BODIES)
    return bytes(rng.randrange(0, 256) for _ in range(rng.randrange(0, 64)))


def check_invariants(facts: RequestFacts, method: str, target: str) -> None:
    query_part = "?" + facts.raw_query if "?" in target else ""
    assert target == facts.raw_path + query_part
    assert facts.api in ("rest", "v2")
    assert facts.segments
    assert all(s and set(s) != {"."} and "/" not in s for s in facts.segments)
    assert facts.wire_method == method
    assert HTTP_VERB[facts.restli_method] == facts.method
    if facts.method == "GET" and any(key == "ids" for key, _ in facts.query):
        assert facts.restli_method is RestliMethod.BATCH_GET
    if facts.batch_ids and facts.restli_method in READ_METHODS:
        assert facts.restli_method is RestliMethod.BATCH_GET
    if facts.tunneled:
        assert facts.wire_method == "POST"
    else:
        assert facts.method == facts.wire_method


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_requests_only_give_facts_or_refusals(seed: int) -> None:
    rng = random.Random(seed)
    facts_seen = 0
    refusal_statuses: list[int] = []
    messages: list[str] = []
    for _ in range(CASES // 4):
        method = rng.choice(METHODS)
        target = random_target(rng)
        headers = random_headers(rng)
        body = random_body(rng)
        wants_body = needs_body(method, headers)
        assert isinstance(wants_body, bool)
        try:
            facts = classify(method, target, headers, body)
        except GatewayError as refused:
            refusal_statuses.append(refused.refusal.status)
            messages.append(refused.refusal.message)
            continue
        check_invariants(facts, method, target)
        facts_seen += 1
    assert set(refusal_statuses) <= {400, 404, 405, 414}
    # Messages never echo raw control characters (header or log injection).
    assert all(message.isprintable() for message in messages)
    # The generator must reach both outcomes, or it tests nothing.
    assert facts_seen > 0
    assert refusal_statuses
