"""The error tree, and the one place errors become LinkedIn-shaped responses.

::

    Exception
    ├── GatewayError            a request the gateway answers itself (carries a Refusal)
    │   ├── BadRequest          400 bad_request: malformed or ambiguous input
    │   └── RequestTimeout      408 request_timeout: the client stopped sending its body
    │                           (also a TimeoutError, so aiohttp's own body readers stop)
    ├── StoreError              the quota store failed (redis.RedisError and friends)
    ├── UpstreamError           the upstream could not be used
    │   ├── UpstreamUnreachable 502 upstream_unreachable: refused, reset, DNS
    │   ├── UpstreamTimeout     504 upstream_timeout
    │   └── BodyStalled         408 request_timeout: a body streamed upstream stopped coming
    └── ConfigError             gateway.yaml / catalog.yaml invalid; lists every problem

Foreign exceptions (aiohttp, redis) are translated into these at the edge that meets them.
Every gateway-made response has LinkedIn's error body
``{"status", "serviceErrorCode", "code", "message"}`` (API guide, "Error handling") and an
``X-Gateway-Reason`` header with a stable reason code listed in docs/http.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

REASON_HEADER = "X-Gateway-Reason"


@dataclass(frozen=True)
class Refusal:
    """A response the gateway makes itself instead of forwarding."""

    status: int
    reason: str
    code: str
    message: str
    service_error_code: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, object]:
        out: dict[str, object] = {"status": self.status}
        if self.service_error_code is not None:
            out["serviceErrorCode"] = self.service_error_code
        out["code"] = self.code
        out["message"] = self.message
        return out

    def body_bytes(self) -> bytes:
        return json.dumps(self.body(), separators=(",", ":")).encode()

    def all_headers(self) -> dict[str, str]:
        out = dict(self.headers)
        out[REASON_HEADER] = self.reason
        out["Content-Type"] = "application/json"
        return out


class GatewayError(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


class BadRequest(GatewayError):
    def __init__(self, message: str, *, reason: str = "bad_request", status: int = 400) -> None:
        code = {
            400: "BAD_REQUEST",
            413: "REQUEST_ENTITY_TOO_LARGE",
            414: "URI_TOO_LONG",
            431: "REQUEST_HEADER_FIELDS_TOO_LARGE",
        }.get(status, "BAD_REQUEST")
        super().__init__(Refusal(status=status, reason=reason, code=code, message=message))


class RequestTimeout(GatewayError, TimeoutError):
    """The listener gave up waiting for the rest of a request body (gateway.server.listener)."""

    def __init__(self, message: str) -> None:
        super().__init__(
            Refusal(status=408, reason="request_timeout", code="REQUEST_TIMEOUT", message=message)
        )


class StoreError(Exception):
    """The quota store could not answer. Never carries a token."""


class UpstreamError(Exception):
    """The upstream could not be used. ``sent`` tells whether the request may have reached it:
    a call that never left is refunded, one that may have been counted by LinkedIn is not."""

    reason = "upstream_error"
    status = 502
    code = "BAD_GATEWAY"

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent

    def refusal(self) -> Refusal:
        return Refusal(status=self.status, reason=self.reason, code=self.code, message=str(self))


class UpstreamUnreachable(UpstreamError):
    reason = "upstream_unreachable"


class UpstreamTimeout(UpstreamError):
    reason = "upstream_timeout"
    status = 504
    code = "GATEWAY_TIMEOUT"


class BodyStalled(UpstreamError):
    """The caller stopped sending a body that was being streamed upstream. LinkedIn never
    saw a whole request, so nothing it counts was sent."""

    reason = "request_timeout"
    status = 408
    code = "REQUEST_TIMEOUT"


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class ConfigError(Exception):
    def __init__(self, problems: list[ConfigProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems
