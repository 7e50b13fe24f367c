"""Query parsing, batch ids, Content-Type and multipart bodies."""

from __future__ import annotations

import pytest

from gateway.errors import BadRequest
from gateway.restli.query import (
    QueryParam,
    batch_ids,
    parse_content_type,
    parse_query,
    parse_restli_list,
    parse_tunneled_multipart,
    split_multipart,
)


def pairs(raw: str, *, form: bool = False) -> list[tuple[str, str]]:
    return [(p.key, p.value) for p in parse_query(raw, form=form)]


@pytest.mark.parametrize(
    ("raw", "form", "expected"),
    [
        ("", False, []),
        ("q=search", False, [("q", "search")]),
        ("a=1&&b=2&", False, [("a", "1"), ("b", "2")]),
        ("flag", False, [("flag", "")]),
        ("a=b=c", False, [("a", "b=c")]),
        ("a=x+y", False, [("a", "x+y")]),
        ("a=x+y", True, [("a", "x y")]),
        ("a=x%2By", True, [("a", "x+y")]),
        ("%71=finder", False, [("q", "finder")]),
        ("a=caf%C3%A9", False, [("a", "café")]),
        ("ids[0].a=1", False, [("ids[0].a", "1")]),
        ("fields=id,name", False, [("fields", "id,name")]),
    ],
)
def test_parse_query(raw: str, form: bool, expected: list[tuple[str, str]]) -> None:
    assert pairs(raw, form=form) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "a=%",
        "a=%2",
        "a=%zz",
        "%=1",
        "a=%ff",
        "a=%C0%AE",
        "=1",
        "a=1#f",
        "a=1;b=2",
        "a=\x00",
        "a=é",
        "a= b",
        "a=\t",
    ],
)
def test_parse_query_refuses(raw: str) -> None:
    with pytest.raises(BadRequest):
        parse_query(raw, form=False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("List()", ()),
        ("List(a)", ("a",)),
        ("List(a,b,c)", ("a", "b", "c")),
        (
            "List(urn%3Ali%3Aperson%3A1,urn%3Ali%3Aperson%3A2)",
            ("urn:li:person:1", "urn:li:person:2"),
        ),
        ("List((a:1,b:2),(a:3,b:4))", ("(a:1,b:2)", "(a:3,b:4)")),
        ("List(List(1,2),3)", ("List(1,2)", "3")),
        ("List(urn%3Ali%3Ax%3A%28a%2Cb%29)", ("urn:li:x:(a,b)",)),
        (
            "List((developerApplication:urn%3Ali%3AdeveloperApplication%3A1,user:urn%3Ali%3Aperson%3A2))",
            ("(developerApplication:urn:li:developerApplication:1,user:urn:li:person:2)",),
        ),
    ],
)
def test_parse_restli_list(raw: str, expected: tuple[str, ...]) -> None:
    assert parse_restli_list(raw, form=False) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "List(a,b",
        "List(a))",
        "List((a)",
        "List(a)(b)",
        "List(a,,b)",
        "List(a,)",
        "List(,a)",
        "List(%zz)",
        "Lis(a)",
        "List(a)x",
    ],
)
def test_parse_restli_list_refuses(raw: str) -> None:
    with pytest.raises(BadRequest):
        parse_restli_list(raw, form=False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a=1", None),
        ("ids=List()", ()),
        ("ids=List(1,2,3)", ("1", "2", "3")),
        ("ids=List(1,2)&ids=List(1,2)", ("1", "2")),
        ("ids=1&ids=2&ids=3", ("1", "2", "3")),
        ("ids=urn%3Ali%3Aperson%3A1", ("urn:li:person:1",)),
        ("ids=", ("",)),
        ("ids[0].a=1&ids[0].b=2&ids[1].a=3&ids[1].b=4", ("(a:1,b:2)", "(a:3,b:4)")),
        ("ids[1]=x&ids[0]=y", ("y", "x")),
        ("ids%5B0%5D.a=1&ids[2].a=2", ("(a:1)", "(a:2)")),
        ("ids[0].a=1&ids[0].a=1", ("(a:1)",)),
    ],
)
def test_batch_ids(raw: str, expected: tuple[str, ...] | None) -> None:
    assert batch_ids(parse_query(raw, form=False)) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "ids=List(1,2)&ids=List(3)",
        "ids=List(1,2)&ids=3",
        "ids=List(1,2",
        "ids=(a:1",
        "ids=List%281%2C2%29",
        "ids=1&ids[0]=2",
        "ids[x]=1",
        "ids[0]x=1",
        "ids[1234567]=1",
        "ids.a=1",
        "ids[0]=a&ids[0]=b",
        "ids[0]=a&ids[0].k=b",
        "ids[0].k=a&ids[0].k=b",
    ],
)
def test_batch_ids_refuses(raw: str) -> None:
    with pytest.raises(BadRequest):
        batch_ids(parse_query(raw, form=False))


def test_batch_ids_from_form_decode_plus() -> None:
    params = (QueryParam(key="ids", value="List(a b)", raw_value="List(a+b)", form=True),)
    assert batch_ids(params) == ("a b",)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("application/json", ("application/json", {})),
        (
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
            ("application/x-www-form-urlencoded", {"charset": "UTF-8"}),
        ),
        ("multipart/mixed; boundary=abc", ("multipart/mixed", {"boundary": "abc"})),
        ('multipart/mixed; boundary="a;b c"', ("multipart/mixed", {"boundary": "a;b c"})),
        ('multipart/mixed;BOUNDARY="a\\"b"', ("multipart/mixed", {"boundary": 'a"b'})),
    ],
)
def test_parse_content_type(value: str, expected: tuple[str, dict[str, str]]) -> None:
    assert parse_content_type(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "json",
        "multipart/",
        "a/b; boundary",
        'a/b; boundary="x',
        "a/b; b=1; b=2",
        "a/b; x=y z",
        "a b/c",
    ],
)
def test_parse_content_type_refuses(value: str) -> None:
    with pytest.raises(BadRequest):
        parse_content_type(value)


def sdk_multipart(boundary: str, query: str, entity: str | None) -> bytes:
    """The body exactly as the SDK's query_tunneling.py builds it."""
    body = f"--{boundary}\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n{query}\r\n"
    if entity is not None:
        body += f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{entity}\r\n"
    return (body + f"--{boundary}--").encode()


def test_multipart_as_the_sdk_sends_it() -> None:
    body = sdk_multipart("xYzAbCdEfG", "q=a&ids=List(1)", '{"patch":{}}')
    parsed = parse_tunneled_multipart(body, "multipart/mixed; boundary=xYzAbCdEfG")
    assert parsed.query == "q=a&ids=List(1)"
    assert parsed.entity_type == "application/json"
    assert parsed.entity == b'{"patch":{}}'


def test_multipart_with_only_the_query_part() -> None:
    body = sdk_multipart("b", "q=a", None)
    parsed = parse_tunneled_multipart(body, "multipart/mixed; boundary=b")
    assert (parsed.query, parsed.entity) == ("q=a", None)


def test_multipart_tolerates_transport_padding_and_final_crlf() -> None:
    body = b"--b  \r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nq=a\r\n--b--\r\n"
    assert split_multipart(body, "b") == [("application/x-www-form-urlencoded", b"q=a")]


FORM = "Content-Type: application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (sdk_multipart("b", "q=a", "{}"), "multipart/mixed"),
        (sdk_multipart("b", "q=a", "{}"), "multipart/mixed; boundary="),
        (sdk_multipart("b", "q=a", "{}"), "multipart/mixed; boundary=c"),
        (sdk_multipart("b", "q=a", "{}"), "multipart/mixed; boundary=" + "b" * 71),
        (b"preamble\r\n" + sdk_multipart("b", "q=a", "{}"), "multipart/mixed; boundary=b"),
        (sdk_multipart("b", "q=a", "{}")[:-4], "multipart/mixed; boundary=b"),
        (sdk_multipart("b", "q=a", "{}") + b"\r\n--b\r\n\r\nx", "multipart/mixed; boundary=b"),
        (sdk_multipart("b", "q=a", "{}") + b"epilogue", "multipart/mixed; boundary=b"),
        (b"--b--", "multipart/mixed; boundary=b"),
        (
            f"--b\r\n{FORM}\r\n\r\nq=a\r\n--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n--b--".encode(),
            "multipart/mixed; boundary=b",
        ),
        (
            b"--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b--",
            "multipart/mixed; boundary=b",
        ),
        (b"--b\r\n\r\nq=a\r\n--b--", "multipart/mixed; boundary=b"),
        (
            f"--b\r\n{FORM}\r\nContent-Transfer-Encoding: base64\r\n\r\ncT1h\r\n--b--".encode(),
            "multipart/mixed; boundary=b",
        ),
        (f"--b\r\n{FORM}\r\n{FORM}\r\n\r\nq=a\r\n--b--".encode(), "multipart/mixed; boundary=b"),
        (f"--b\r\n{FORM}\r\n folded\r\n\r\nq=a\r\n--b--".encode(), "multipart/mixed; boundary=b"),
        (f"--b\r\n{FORM}\r\nq=a\r\n--b--".encode(), "multipart/mixed; boundary=b"),
        (f"--bX\r\n{FORM}\r\n\r\nq=a\r\n--b--".encode(), "multipart/mixed; boundary=b"),
        (f"--b\r\n{FORM}\r\n\r\nq=\xe9\r\n--b--".encode(), "multipart/mixed; boundary=b"),
        (
            "--b\r\nContent-Type: caf\xe9/x\r\n\r\nq=a\r\n--b--".encode(),
            "multipart/mixed; boundary=b",
        ),
    ],
)
def test_multipart_refuses(body: bytes, content_type: str) -> None:
    with pytest.raises(BadRequest):
        parse_tunneled_multipart(body, content_type)
