"""RESP2 encoding and parsing, byte by byte."""

from __future__ import annotations

import pytest

from gateway.quota.resp import (
    LuaScript,
    ProtocolError,
    Reply,
    ReplyError,
    ReplyParser,
    encode_command,
)

# What a reply looks like with error replies made comparable: ("error", message).
Plain = object


def plain(reply: Reply) -> Plain:
    if isinstance(reply, ReplyError):
        return ("error", str(reply))
    if isinstance(reply, list):
        return [plain(item) for item in reply]
    return reply


WIRE: list[tuple[str, bytes, list[Plain]]] = [
    ("simple string", b"+OK\r\n", ["OK"]),
    ("empty simple string", b"+\r\n", [""]),
    ("error", b"-ERR unknown command 'FOO'\r\n", [("error", "ERR unknown command 'FOO'")]),
    ("noscript", b"-NOSCRIPT No matching script.\r\n", [("error", "NOSCRIPT No matching script.")]),
    ("zero", b":0\r\n", [0]),
    ("negative", b":-42\r\n", [-42]),
    ("int64 max", b":9223372036854775807\r\n", [9223372036854775807]),
    ("bulk", b"$5\r\nhello\r\n", [b"hello"]),
    ("empty bulk", b"$0\r\n\r\n", [b""]),
    ("nil bulk", b"$-1\r\n", [None]),
    ("bulk holding CRLF", b"$4\r\na\r\nb\r\n", [b"a\r\nb"]),
    ("binary bulk", b"$3\r\n\x00\xff\n\r\n", [b"\x00\xff\n"]),
    ("empty array", b"*0\r\n", [[]]),
    ("nil array", b"*-1\r\n", [None]),
    (
        "consume reply",
        b"*5\r\n:1\r\n:7\r\n$0\r\n\r\n:2\r\n$15\r\n1702083600.25\r\n\r\n",
        [[1, 7, b"", 2, b"1702083600.25\r\n"]],
    ),
    (
        "nested arrays with nils",
        b"*4\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n*-1\r\n*1\r\n*0\r\n",
        [[1, [b"a", None], None, [[]]]],
    ),
    ("error inside an array", b"*2\r\n+OK\r\n-ERR no\r\n", [["OK", ("error", "ERR no")]]),
    (
        "pipelined replies",
        b"+PONG\r\n:3\r\n$-1\r\n-WRONGTYPE bad\r\n*1\r\n:9\r\n",
        ["PONG", 3, None, ("error", "WRONGTYPE bad"), [9]],
    ),
]
WIRE_IDS = [name for name, _, _ in WIRE]


def parse_in_chunks(chunks: list[bytes]) -> list[Plain]:
    parser = ReplyParser()
    got: list[Plain] = []
    for chunk in chunks:
        parser.feed(chunk)
        got += [plain(reply) for reply in parser.replies()]
    assert parser.buffered == 0
    return got


@pytest.mark.parametrize(("name", "wire", "expected"), WIRE, ids=WIRE_IDS)
def test_whole_replies_parse(name: str, wire: bytes, expected: list[Plain]) -> None:
    assert parse_in_chunks([wire]) == expected


@pytest.mark.parametrize(("name", "wire", "expected"), WIRE, ids=WIRE_IDS)
def test_a_reply_split_at_any_byte_parses_the_same(
    name: str, wire: bytes, expected: list[Plain]
) -> None:
    for cut in range(1, len(wire)):
        assert parse_in_chunks([wire[:cut], wire[cut:]]) == expected, cut


@pytest.mark.parametrize(("name", "wire", "expected"), WIRE, ids=WIRE_IDS)
def test_a_reply_fed_one_byte_at_a_time_parses_the_same(
    name: str, wire: bytes, expected: list[Plain]
) -> None:
    assert parse_in_chunks([wire[i : i + 1] for i in range(len(wire))]) == expected


def test_a_partial_reply_waits_for_the_rest() -> None:
    parser = ReplyParser()
    parser.feed(b":1\r\n*2\r\n$3\r\nab")

    assert parser.replies() == [1]
    assert parser.buffered == len(b"*2\r\n$3\r\nab")
    parser.feed(b"c\r\n:5")
    assert parser.replies() == []
    parser.feed(b"\r\n")
    assert parser.replies() == [[b"abc", 5]]
    assert parser.buffered == 0


@pytest.mark.parametrize("size", [65_536, 1_048_577, 8 * 1024 * 1024])
def test_big_bulk_strings_arrive_in_pieces(size: int) -> None:
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    wire = b"$%d\r\n%s\r\n:1\r\n" % (size, body)
    pieces = [wire[i : i + 16_384] for i in range(0, len(wire), 16_384)]

    assert parse_in_chunks(pieces) == [body, 1]


@pytest.mark.parametrize(
    "wire",
    [
        b"?what\r\n",
        b"$abc\r\nabc\r\n",
        b"$3\r\nabcd\r\n",
        b"$-2\r\n",
        b"*-3\r\n",
        b":12a\r\n",
        b"*x\r\n",
    ],
)
def test_bytes_that_are_not_resp_are_a_protocol_error(wire: bytes) -> None:
    parser = ReplyParser()
    parser.feed(wire)

    with pytest.raises(ProtocolError, match="malformed reply"):
        parser.replies()


@pytest.mark.parametrize(
    ("args", "wire"),
    [
        (["PING"], b"*1\r\n$4\r\nPING\r\n"),
        (["SELECT", 3], b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"),
        (["SET", "k", b""], b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"),
        ([b"\x00\r\n", -1], b"*2\r\n$3\r\n\x00\r\n\r\n$2\r\n-1\r\n"),
        (["caf\u00e9", 1.5], b"*2\r\n$5\r\ncaf\xc3\xa9\r\n$3\r\n1.5\r\n"),
        ([1702083600.25], b"*1\r\n$13\r\n1702083600.25\r\n"),
    ],
)
def test_commands_encode_as_arrays_of_bulk_strings(
    args: list[bytes | str | int | float], wire: bytes
) -> None:
    encoded = encode_command(args)

    assert encoded == wire
    # A command is itself a RESP array: the parser reads it back as its arguments.
    assert len(parse_in_chunks([encoded])[0]) == len(args)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [True, None, ["list"]])
def test_values_that_are_not_arguments_are_refused(bad: object) -> None:
    with pytest.raises(TypeError, match="Redis argument"):
        encode_command(["SET", "k", bad])  # type: ignore[list-item]


def test_a_script_is_named_by_the_sha1_of_its_text_and_run_by_it() -> None:
    script = LuaScript("return {KEYS[1], ARGV[1]}")
    other = LuaScript("return {KEYS[1], ARGV[2]}")

    assert len(script.sha) == 40
    assert int(script.sha, 16) >= 0
    assert script.sha != other.sha
    assert parse_in_chunks([script.evalsha(["k1", "k2"], [7, "a"])]) == [
        [b"EVALSHA", script.sha.encode(), b"2", b"k1", b"k2", b"7", b"a"]
    ]
    assert parse_in_chunks([script.eval(["k1"], [])]) == [
        [b"EVAL", script.text.encode(), b"1", b"k1"]
    ]


def test_an_error_reply_names_its_code() -> None:
    assert ReplyError("NOSCRIPT No matching script.").code == "NOSCRIPT"
    assert ReplyError("ERR").code == "ERR"
    assert ReplyError().code == ""
