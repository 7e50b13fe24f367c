"""Which entity a call acts on, and whether the member's roles allow it. Pure.

Members need roles on the Company Page or Ad Account they act on (linkedin-facts §1, §7;
organization-access-control-by-role, account-access-controls): e.g. posting as an
organization needs ADMINISTRATOR, DIRECT_SPONSORED_CONTENT_POSTER or CONTENT_ADMINISTRATOR;
``rw_ads`` writes need ACCOUNT_BILLING_ADMIN, ACCOUNT_MANAGER, CAMPAIGN_MANAGER or
CREATIVE_MANAGER (VIEWER is read-only). The catalog's route rules carry these ``roles``;
the catalog's ``roles`` groups say whether they are organization or ad-account roles.

The entities a call names, of the kind its roles are about:

* path parameters and complex-key fields holding a URN of that kind, or a numeric
  ``{organization}`` / ``{account}`` parameter;
* the ids of a batch call on ``organizations`` / ``adAccounts``;
* every query value holding such URNs (``author=``, ``organizationalEntity=``,
  ``accounts=List(...)``, ...);
* the JSON body's ``author``, ``actor``, ``owner``, ``organization``,
  ``organizationalEntity``, ``entity`` and ``account`` fields (also inside a
  ``patch.$set``). Other body fields (mentions in a commentary) are not acted on.

A call that names entities needs one of the roles on every one of them. A call acting as
the member (``author``/``actor`` a person URN) and naming no entity needs no role. A call
naming nothing the gateway can read is decided conservatively: the member must hold one of
the roles on at least one entity of that kind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.catalog.model import Catalog, RouteMatch
from gateway.errors import Refusal
from gateway.restli.facts import RequestFacts
from gateway.webhooks.subscriptions import complex_key_fields, fully_unquoted

ORGANIZATION = "organization"
AD_ACCOUNT = "ad_account"

_URN = {
    ORGANIZATION: re.compile(r"urn:li:organization(?:Brand)?:[0-9]+"),
    AD_ACCOUNT: re.compile(r"urn:li:sponsoredAccount:[0-9]+"),
}
_NUMERIC_PARAM = {ORGANIZATION: "organization", AD_ACCOUNT: "account"}
_URN_PREFIX = {ORGANIZATION: "urn:li:organization:", AD_ACCOUNT: "urn:li:sponsoredAccount:"}
_BATCH_RESOURCES = {
    ORGANIZATION: frozenset({"organizations"}),
    AD_ACCOUNT: frozenset({"adaccounts", "adaccountsv2"}),
}
_BODY_FIELDS = (
    "author",
    "actor",
    "owner",
    "organization",
    "organizationalEntity",
    "entity",
    "account",
)
_NUMBER = re.compile(r"[0-9]+")
_PERSON = re.compile(r"urn:li:(?:person|member):[A-Za-z0-9_-]+")

# Entity URN -> the roles the member holds on it.
HeldRoles = Mapping[str, frozenset[str]]


@dataclass(frozen=True)
class Named:
    """What a request names: ``entities`` of the kind, and whether it acts as the member."""

    entities: tuple[str, ...]
    as_member: bool


def role_kind(roles: tuple[str, ...], catalog: Catalog) -> str | None:
    """``organization`` or ``ad_account``: the catalog role group holding all of ``roles``."""
    for kind in (ORGANIZATION, AD_ACCOUNT):
        group = set(catalog.roles.get(kind, ()))
        if roles and set(roles) <= group:
            return kind
    return None


def json_body(body: bytes | None) -> dict[str, Any] | None:
    """The body as a JSON object, or None (absent, not JSON, or not an object)."""
    if not body:
        return None
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return document if isinstance(document, dict) else None


def _body_values(document: Mapping[str, Any] | None) -> list[str]:
    if document is None:
        return []
    found: list[str] = []
    layers: list[Mapping[str, Any]] = [document]
    patch = document.get("patch")
    if isinstance(patch, dict) and isinstance(patch.get("$set"), dict):
        layers.append(patch["$set"])
    for layer in layers:
        for name in _BODY_FIELDS:
            value = layer.get(name)
            if isinstance(value, str):
                found.append(value)
    return found


def entities_named(
    facts: RequestFacts, match: RouteMatch, body: Mapping[str, Any] | None, kind: str
) -> Named:
    """The entities of ``kind`` the request names, in order, without repeats."""
    pattern = _URN[kind]
    found: list[str] = []

    def scan(text: str) -> None:
        found.extend(pattern.findall(fully_unquoted(text)))

    for name, value in match.params.items():
        if name == _NUMERIC_PARAM[kind] and _NUMBER.fullmatch(value):
            found.append(_URN_PREFIX[kind] + value)
        else:
            scan(value)
        for field_value in complex_key_fields(value).values():
            scan(field_value)
    if match.route.resource.casefold() in _BATCH_RESOURCES[kind]:
        for key in facts.batch_ids:
            if _NUMBER.fullmatch(key):
                found.append(_URN_PREFIX[kind] + key)
            else:
                scan(key)
    for _, value in facts.query:
        scan(value)
    body_values = _body_values(body)
    for value in body_values:
        scan(value)
    as_member = any(_PERSON.fullmatch(fully_unquoted(v)) for v in body_values)
    return Named(tuple(dict.fromkeys(found)), as_member)


def role_refusal(
    kind: str,
    needed: tuple[str, ...],
    named: Named,
    held: HeldRoles,
    member: str,
    call: str,
) -> Refusal | None:
    """403 ``insufficient_role`` naming the entity and the roles needed, or None."""
    wanted = frozenset(needed)
    if named.entities:
        for entity in named.entities:
            if not wanted & held.get(entity, frozenset()):
                return _insufficient(member, needed, entity, call)
        return None
    if named.as_member:
        return None
    if any(wanted & roles for roles in held.values()):
        return None
    what = "any organization" if kind == ORGANIZATION else "any ad account"
    return _insufficient(member, needed, what, call)


def _insufficient(member: str, needed: tuple[str, ...], entity: str, call: str) -> Refusal:
    return Refusal(
        status=403,
        reason="insufficient_role",
        code="ACCESS_DENIED",
        message=(
            f"Not enough permissions to access: {call}. Member {member} needs one of the roles "
            f"{', '.join(needed)} on {entity}"
        ),
        service_error_code=100,
    )


def roles_from_elements(kind: str, elements: list[Any]) -> dict[str, set[str]]:
    """Roles per entity from a look-up's ``elements``.

    ``organizationAcls?q=roleAssignee``: ``{organization, role, roleAssignee, state}``, only
    APPROVED assignments count; ``adAccountUsers?q=authenticatedUser``: ``{account, role,
    user}``. Both finders answer for the authenticated member, so the assignee is not
    re-checked.
    """
    field = "organization" if kind == ORGANIZATION else "account"
    out: dict[str, set[str]] = {}
    for element in elements:
        if not isinstance(element, dict):
            continue
        entity, role = element.get(field), element.get("role")
        if not isinstance(entity, str) or not isinstance(role, str):
            continue
        state = element.get("state", "APPROVED")
        if kind == ORGANIZATION and state != "APPROVED":
            continue
        out.setdefault(entity, set()).add(role)
    return out
