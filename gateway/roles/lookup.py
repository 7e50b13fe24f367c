"""Ask LinkedIn which roles the caller's member holds, with the caller's own token.

``GET /rest/organizationAcls?q=roleAssignee&state=APPROVED`` and
``GET /rest/adAccountUsers?q=authenticatedUser`` (linkedin-facts §7), on the caller's API:
a ``/rest/`` call's look-up carries its ``LinkedIn-Version``; a ``/v2/`` call uses the
unversioned ``/v2/organizationAcls`` and ``/v2/adAccountUsersV2``. Pages of
``PAGE_SIZE`` are read up to ``MAX_PAGES``; each page is one API call.

aiohttp's exceptions are translated here into ``LookupFailed`` with ``sent`` telling
whether the call may have reached LinkedIn (and so counted there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from yarl import URL

from gateway.roles.rules import AD_ACCOUNT, ORGANIZATION
from gateway.support.client_session import SessionOwner, read_at_most

PAGE_SIZE = 100
MAX_PAGES = 5
# A page of a hundred role assignments is a few kilobytes; more is not a page of roles.
PAGE_BYTES = 1024 * 1024

FINDERS: dict[tuple[str, str], tuple[str, dict[str, str]]] = {
    ("rest", ORGANIZATION): ("organizationAcls", {"q": "roleAssignee", "state": "APPROVED"}),
    ("rest", AD_ACCOUNT): ("adAccountUsers", {"q": "authenticatedUser"}),
    ("v2", ORGANIZATION): ("organizationAcls", {"q": "roleAssignee", "state": "APPROVED"}),
    ("v2", AD_ACCOUNT): ("adAccountUsersV2", {"q": "authenticatedUser"}),
}


class LookupFailed(Exception):
    """A role look-up got no usable answer. ``status`` is LinkedIn's, when it answered."""

    def __init__(self, message: str, *, sent: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.sent = sent
        self.status = status


@dataclass(frozen=True)
class Page:
    elements: list[Any]
    more: bool


def finder_of(api: str, kind: str) -> tuple[str, dict[str, str]]:
    """The look-up resource and its query for a caller on ``api``."""
    return FINDERS[("v2" if api == "v2" else "rest", kind)]


class RoleLookup(SessionOwner):
    """One ClientSession for look-ups, to the same upstream the gateway forwards to."""

    def __init__(self, base_url: str, *, connect_timeout: float, timeout: float) -> None:
        super().__init__(aiohttp.ClientTimeout(total=timeout, sock_connect=connect_timeout))
        self._base = base_url.rstrip("/")

    async def page(
        self, api: str, kind: str, authorization: str, version: str | None, start: int
    ) -> Page:
        """One page of the member's role assignments of ``kind``."""
        session = self._started
        resource, query = finder_of(api, kind)
        prefix = "v2" if api == "v2" else "rest"
        params = urlencode({**query, "start": str(start), "count": str(PAGE_SIZE)})
        url = URL(f"{self._base}/{prefix}/{resource}?{params}", encoded=True)
        headers = {
            "Authorization": authorization,
            "X-Restli-Protocol-Version": "2.0.0",
            "X-RestLi-Method": "FINDER",
        }
        if prefix == "rest" and version:
            headers["LinkedIn-Version"] = version
        try:
            async with session.get(url, headers=headers, allow_redirects=False) as resp:
                if resp.status != 200:
                    raise LookupFailed(
                        f"{resource} answered {resp.status}", sent=True, status=resp.status
                    )
                document = json.loads(await read_at_most(resp, PAGE_BYTES))
        except aiohttp.ClientConnectorError:
            raise LookupFailed(f"{resource}: upstream refused the connection", sent=False) from None
        except aiohttp.ConnectionTimeoutError:
            raise LookupFailed(f"{resource}: upstream connect timeout", sent=False) from None
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise LookupFailed(f"{resource}: {type(exc).__name__}", sent=True) from None
        elements = document.get("elements") if isinstance(document, dict) else None
        if not isinstance(elements, list):
            raise LookupFailed(f"{resource} answered without elements", sent=True)
        paging = document.get("paging") if isinstance(document, dict) else None
        total = paging.get("total") if isinstance(paging, dict) else None
        more = len(elements) >= PAGE_SIZE and (
            not isinstance(total, int) or start + len(elements) < total
        )
        return Page(elements, more)
