"""RESP2, the Redis wire protocol: commands encoded to bytes, replies parsed from a stream.

Pure: no I/O. The reply types are those of RESP2 (https://redis.io/docs/latest/develop/
reference/protocol-spec/): simple strings (``+``), errors (``-``), integers (``:``), bulk
strings (``$``, ``$-1`` is nil) and arrays (``*``, ``*-1`` is nil, items of any type).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

CRLF = b"\r\n"


class RespError(Exception):
    """Base of every failure this protocol layer reports."""


class ReplyError(RespError):
    """An error reply from the server (``-ERR ...``, ``-NOSCRIPT ...``)."""

    @property
    def code(self) -> str:
        """The first word of the message: ``ERR``, ``NOSCRIPT``, ``WRONGPASS``..."""
        return str(self.args[0]).partition(" ")[0] if self.args else ""


class ProtocolError(RespError):
    """Bytes that are not RESP2: the connection's state is unknown from here on."""


# A simple string is str, a bulk string bytes, nil None, an error reply a ReplyError.
Reply = str | bytes | int | ReplyError | list["Reply"] | None
Arg = bytes | str | int | float


class _Incomplete(Exception):
    """The buffer ends inside a reply; wait for more bytes."""


_INCOMPLETE = _Incomplete()
_BULK, _ARRAY, _INTEGER, _SIMPLE, _ERROR = b"$*:+-"


def encode_command(args: Sequence[Arg]) -> bytes:
    """One command as a RESP array of bulk strings; ints and floats in decimal."""
    # The hot path's arguments are ASCII text and numbers: build one str and encode it
    # once, which is about twice as fast as encoding argument by argument.
    texts: list[str] = [f"*{len(args)}\r\n"]
    for arg in args:
        # Exact types: a bool is an int, and a str subclass may print differently.
        if type(arg) is str:
            text = arg
        elif type(arg) is int:
            text = str(arg)
        elif type(arg) is float:
            text = repr(arg)
        else:
            return _encode_bytes(args)
        texts.append(f"${len(text)}\r\n{text}\r\n")
    joined = "".join(texts)
    return joined.encode() if joined.isascii() else _encode_bytes(args)


def _encode_bytes(args: Sequence[Arg]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        out.append(_bulk(arg))
    return b"".join(out)


def _bulk(arg: Arg) -> bytes:
    if isinstance(arg, bytes):
        data = arg
    elif isinstance(arg, str):
        data = arg.encode()
    elif isinstance(arg, bool):
        raise TypeError("a bool is not a Redis argument: pass 0 or 1")
    elif isinstance(arg, int):
        data = b"%d" % arg
    elif isinstance(arg, float):
        data = repr(arg).encode()
    else:
        raise TypeError(f"a {type(arg).__name__} is not a Redis argument")
    return b"$%d\r\n%s\r\n" % (len(data), data)


@dataclass(frozen=True)
class LuaScript:
    """A Lua script and the commands that run it; ``sha`` is what EVALSHA names it by."""

    text: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        # Redis names a cached script by the SHA-1 of its text (EVALSHA docs); a name, not
        # a security measure.
        digest = hashlib.sha1(self.text.encode(), usedforsecurity=False).hexdigest()
        object.__setattr__(self, "sha", digest)

    def evalsha(self, keys: Sequence[str], args: Sequence[Arg]) -> bytes:
        """EVALSHA: the cheap call, answered ``NOSCRIPT`` when the server lacks the script."""
        return encode_command(["EVALSHA", self.sha, len(keys), *keys, *args])

    def eval(self, keys: Sequence[str], args: Sequence[Arg]) -> bytes:
        """EVAL with the full text: runs the script and caches it for later EVALSHAs."""
        return encode_command(["EVAL", self.text, len(keys), *keys, *args])


class ReplyParser:
    """Turns a byte stream into replies. Feed bytes as they come; take whole replies."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def replies(self) -> list[Reply]:
        """Every complete reply buffered so far, in order; a partial one stays buffered.

        Raises ``ProtocolError`` on bytes that are not RESP2.
        """
        buffer = self._buffer
        done: list[Reply] = []
        pos = 0
        try:
            while pos < len(buffer):
                reply, pos = _parse(buffer, pos)
                done.append(reply)
        except _Incomplete:
            pass
        except (ValueError, IndexError) as exc:
            raise ProtocolError(f"malformed reply: {exc}") from None
        if pos:
            del buffer[:pos]
        return done

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete reply."""
        return len(self._buffer)


def _parse(buffer: bytearray, pos: int) -> tuple[Reply, int]:
    end = buffer.find(CRLF, pos)
    if end < 0:
        raise _INCOMPLETE
    kind = buffer[pos]
    if kind == _BULK:
        size = int(buffer[pos + 1 : end])
        if size < 0:
            return _nil(size, end)
        start = end + 2
        stop = start + size
        if len(buffer) < stop + 2:
            raise _INCOMPLETE
        if buffer[stop : stop + 2] != CRLF:
            raise ValueError("bulk string longer than its length")
        return bytes(buffer[start:stop]), stop + 2
    if kind == _INTEGER:
        return int(buffer[pos + 1 : end]), end + 2
    if kind == _ARRAY:
        count = int(buffer[pos + 1 : end])
        if count < 0:
            return _nil(count, end)
        pos = end + 2
        items: list[Reply] = []
        for _ in range(count):
            item, pos = _parse(buffer, pos)
            items.append(item)
        return items, pos
    if kind == _SIMPLE:
        return buffer[pos + 1 : end].decode(errors="replace"), end + 2
    if kind == _ERROR:
        return ReplyError(buffer[pos + 1 : end].decode(errors="replace")), end + 2
    raise ValueError(f"unknown reply type byte {bytes([kind])!r}")


def _nil(size: int, end: int) -> tuple[None, int]:
    if size != -1:
        raise ValueError(f"negative length {size}")
    return None, end + 2
