"""LinkedIn Marketing API versions: reading ``LinkedIn-Version``, sunset and deprecation. Pure.

``/rest/`` calls must name a version (marketing/versioning: "the latest version is not
applied by default"); LinkedIn answers a missing one with 400 VERSION_MISSING and a sunset
one with 426 NONEXISTENT_VERSION "Requested version 20230401 is not active" (observed
payloads, linkedin-facts §3). The gateway answers both itself, before any quota is spent.

Versions are ``YYYYMM`` (the documented form), ``YYYYMM.RR`` (a revision within the month,
accepted by the official SDK) and ``YYYYMMDD`` (sent by some clients; LinkedIn echoes
versions in this form). The month decides: a version is sunset when its ``YYYYMM`` is at
or before the catalog's ``versions.sunset_through``.

Unversioned ``/v2/`` calls are forwarded with RFC 9745 ``Deprecation`` and a
``Link: rel="deprecation"``: LinkedIn deprecated them when the first versioned release
(202206) shipped, and announces their sunset (seed, deprecation notice).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from gateway.errors import Refusal

# marketing/versioning: "LinkedIn's Marketing APIs first versioned API release was June 2022".
UNVERSIONED_DEPRECATED_AT = datetime(2022, 6, 1, tzinfo=UTC)
VERSIONING_GUIDE = "https://learn.microsoft.com/en-us/linkedin/marketing/versioning"

# ASCII digits only: \d would also accept other scripts' digits.
_FORMS = re.compile(
    r"(?P<year>[0-9]{4})(?P<month>[0-9]{2})(?:(?P<day>[0-9]{2})|\.(?P<rev>[0-9]{1,2}))?"
)
_SHOWN_MAX = 32


@dataclass(frozen=True)
class MarketingVersion:
    """A parsed ``LinkedIn-Version``; ``day`` and ``revision`` are set by their forms only."""

    year: int
    month: int
    day: int | None = None
    revision: int | None = None

    @property
    def yyyymm(self) -> int:
        return self.year * 100 + self.month

    def as_linkedin_shows_it(self) -> str:
        """``YYYYMMDD``, as LinkedIn names versions in its 426 message (day 01 by default)."""
        return f"{self.year:04d}{self.month:02d}{self.day or 1:02d}"


def parse_version(raw: str) -> MarketingVersion | None:
    """The version in a ``LinkedIn-Version`` value, or None when it is not one of the forms.

    Month 01-12 and, for ``YYYYMMDD``, a real calendar day are required.
    """
    match = _FORMS.fullmatch(raw.strip(" \t"))
    if match is None:
        return None
    year, month = int(match["year"]), int(match["month"])
    day = int(match["day"]) if match["day"] is not None else None
    revision = int(match["rev"]) if match["rev"] is not None else None
    try:
        date(year, month, day or 1)
    except ValueError:
        return None
    return MarketingVersion(year, month, day, revision)


def _shown(raw: str) -> str:
    # The value is echoed in an error body: printable ASCII only, and short.
    safe = "".join(ch if 0x20 <= ord(ch) < 0x7F else "?" for ch in raw)
    return safe if len(safe) <= _SHOWN_MAX else safe[:_SHOWN_MAX] + "..."


def version_refusal(api: str, raw: str | None, sunset_through: str) -> Refusal | None:
    """Why a call's ``LinkedIn-Version`` stops it at the gateway, or None.

    Only ``/rest/`` calls are versioned; ``/v2/`` ignores the header (LinkedIn does too).
    Missing -> 400 ``version_missing``; not a version -> 400 ``version_malformed``; at or
    before ``sunset_through`` (``YYYYMM``) -> 426 ``version_sunset``.
    """
    if api != "rest":
        return None
    if raw is None or not raw.strip(" \t"):
        return Refusal(
            status=400,
            reason="version_missing",
            code="VERSION_MISSING",
            message=(
                "A version must be present. Please specify a version by adding the "
                "LinkedIn-Version header."
            ),
        )
    version = parse_version(raw)
    if version is None:
        return Refusal(
            status=400,
            reason="version_malformed",
            code="BAD_REQUEST",
            message=(
                f"LinkedIn-Version {_shown(raw)!r} is not a version: "
                "use YYYYMM, YYYYMM.RR or YYYYMMDD"
            ),
        )
    if version.yyyymm <= int(sunset_through):
        return Refusal(
            status=426,
            reason="version_sunset",
            code="NONEXISTENT_VERSION",
            message=f"Requested version {version.as_linkedin_shows_it()} is not active",
        )
    return None


def deprecation_headers(api: str) -> dict[str, str]:
    """RFC 9745 headers for an unversioned ``/v2/`` call; empty for any other API.

    ``Deprecation`` is a Structured Field Date (``@`` + epoch seconds, RFC 9745 §2.1);
    the ``deprecation`` link relation points at LinkedIn's versioning guide (§3).
    """
    if api != "v2":
        return {}
    return {
        "Deprecation": f"@{int(UNVERSIONED_DEPRECATED_AT.timestamp())}",
        "Link": f'<{VERSIONING_GUIDE}>; rel="deprecation"; type="text/html"',
    }
