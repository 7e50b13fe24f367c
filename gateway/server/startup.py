"""What ``serve`` checks before it answers anything: its sockets and its store.

Each failure is a ``StartupError`` whose text is one line for an operator (which listener,
which address, why); the CLI prints it and exits 1 instead of showing a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket

from gateway.errors import StoreError
from gateway.quota.factory import open_store, shown_store_url
from gateway.settings.model import HostPort

# The store answers a ping within its own socket and connect timeouts; this only bounds
# a store URL whose timeouts were set very long.
STORE_CHECK_SECONDS = 10.0


class StartupError(Exception):
    """``serve`` cannot start; the message is the one line shown to the operator."""


def bind_listener(address: HostPort, name: str, setting: str) -> socket.socket:
    """A listening socket on ``address`` for the ``name`` listener (``main``, ``admin``).

    Bound here, before anything else starts, so a port in use stops ``serve`` at once and
    the message says which listener and which setting (``setting``) named the address.
    """
    try:
        family = socket.getaddrinfo(
            address.host, address.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0][0]
        return socket.create_server((address.host, address.port), family=family, backlog=1024)
    except OSError as exc:
        raise StartupError(
            f"{name} listener: cannot listen on {address} ({setting}): {os_reason(exc)}"
        ) from None


def os_reason(exc: OSError) -> str:
    """Why a socket call failed, in the system's words and without the address repeated
    (``socket.create_server`` appends it to ``strerror``)."""
    if isinstance(exc, socket.gaierror) or not exc.errno:
        return exc.strerror or str(exc) or type(exc).__name__
    return os.strerror(exc.errno).lower()


def bound_address(sock: socket.socket) -> HostPort:
    """Where ``sock`` listens: the real port when port 0 was asked for."""
    host, port = sock.getsockname()[:2]
    return HostPort(host, port)


async def check_store(url: str) -> None:
    """Ping the store once; ``StartupError`` naming it (never its password) when it does
    not answer."""
    store = open_store(url)
    try:
        await asyncio.wait_for(store.ping(), STORE_CHECK_SECONDS)
    except (StoreError, TimeoutError) as exc:
        reason = str(exc) or "no answer"
        raise StartupError(f"store {shown_store_url(url)} unreachable at start: {reason}") from None
    finally:
        with contextlib.suppress(StoreError):
            await store.close()
