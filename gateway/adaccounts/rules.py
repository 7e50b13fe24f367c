"""Which ad-account limit a call falls under, what it claims, and the refusals. Pure.

Seed, "How to Upgrade your Access Tier", Advertising Development: reads on administered ad
accounts are unlimited; one test ad account may be created through the API, real ones only
in Campaign Manager; edits are limited to 5 ad accounts. Standard: unlimited. The numbers are
the tier's ``ad_accounts`` data in the catalog.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from gateway.adaccounts.accounts import (
    account_urn,
    accounts_in_text,
    json_entity,
    keys_are_accounts,
    named_accounts,
    sort_accounts,
)
from gateway.catalog.grants import granted_tier
from gateway.catalog.model import AdAccountRules, Catalog, RouteMatch
from gateway.errors import BadRequest, GatewayError, Refusal
from gateway.restli.facts import RequestFacts
from gateway.restli.methods import WRITE_METHODS, RestliMethod
from gateway.settings.model import AppConfig

ACCESS_DENIED_CODE = 100
CREATES = frozenset({RestliMethod.CREATE, RestliMethod.BATCH_CREATE})
# LinkedIn's required fields of a new ad account (marketing/integrations/ads/
# account-structure/create-and-manage-accounts); ``test`` defaults to false.
REQUIRED_ACCOUNT_FIELDS = ("name", "type", "currency")


@dataclass(frozen=True)
class EditClaim:
    """A write editing ``accounts`` (numeric ids); the app may edit at most ``limit``."""

    accounts: frozenset[str]
    limit: int


@dataclass(frozen=True)
class CreateClaim:
    """A create of ``count`` test ad accounts; the app may create at most ``limit``."""

    count: int
    limit: int


AdAccountClaim = EditClaim | CreateClaim


def _strictest(rules: list[AdAccountRules]) -> AdAccountRules:
    def smallest(values: list[int | None]) -> int | None:
        present = [v for v in values if v is not None]
        return min(present) if present else None

    return AdAccountRules(
        read_unlimited=all(r.read_unlimited for r in rules),
        test_account_creates=smallest([r.test_account_creates for r in rules]),
        real_account_creates=all(r.real_account_creates for r in rules),
        editable_accounts=smallest([r.editable_accounts for r in rules]),
    )


def ad_account_rules(app: AppConfig, catalog: Catalog) -> AdAccountRules | None:
    """The ad-account rules of the tiers ``app`` holds its products at, the strictest of each
    when several set them; None when no tier limits anything (Standard tier, or no
    Advertising product at all)."""
    rules = [
        tier.ad_accounts
        for product in app.products
        if (tier := granted_tier(app, catalog, product)) is not None
        and tier.ad_accounts is not None
    ]
    if not rules:
        return None
    merged = _strictest(rules)
    limited = (
        merged.editable_accounts is not None
        or merged.test_account_creates is not None
        or not merged.real_account_creates
    )
    return merged if limited else None


def write_rules(
    facts: RequestFacts, match: RouteMatch | None, app: AppConfig, catalog: Catalog
) -> AdAccountRules | None:
    """The rules a call is checked under: None unless it is a write by an app whose tier
    limits ad accounts. Every write counts, on any route or none: an account named in the
    body of ``POST /rest/adCampaignGroups`` is edited as surely as one in the path of
    ``/rest/adAccounts/{id}/adCampaignGroups``. Reads are never limited."""
    if facts.restli_method not in WRITE_METHODS:
        return None
    return ad_account_rules(app, catalog)


def _account_creates(entity: object, method: RestliMethod) -> tuple[int, int]:
    """(test, real) accounts a CREATE or BATCH_CREATE body asks for; 400 when malformed."""
    if method is RestliMethod.BATCH_CREATE:
        elements = entity.get("elements") if isinstance(entity, dict) else None
        if not isinstance(elements, list) or not elements:
            raise BadRequest("A batch create of ad accounts needs a non-empty 'elements' list.")
    else:
        elements = [entity]
    test = real = 0
    for element in elements:
        if not isinstance(element, dict):
            raise BadRequest("A new ad account must be a JSON object.")
        missing = [f for f in REQUIRED_ACCOUNT_FIELDS if not isinstance(element.get(f), str)]
        if missing:
            raise BadRequest(f"A new ad account needs the fields: {', '.join(missing)}.")
        flag = element.get("test", False)
        if not isinstance(flag, bool):
            raise BadRequest("The 'test' field of a new ad account must be true or false.")
        test, real = (test + 1, real) if flag else (test, real + 1)
    return test, real


def claim_for(
    facts: RequestFacts,
    match: RouteMatch | None,
    catalog: Catalog,
    rules: AdAccountRules | None,
    body: bytes | None,
    content_type: str | None,
) -> AdAccountClaim | None:
    """What a write claims from the app's ad-account allowances, or None when nothing.

    ``rules`` are those ``write_rules`` gave: None claims nothing.
    A create on the ad accounts collection claims test-account creates (a real account is
    refused: 403 real_ad_account_creation_forbidden); any other write claims the accounts it
    names. Raises ``BadRequest`` for a body that is not JSON, a malformed account, or a
    write that names no account at all: such a write cannot be counted, and letting it pass
    uncounted would let the limit be dodged.
    """
    if rules is None:
        return None
    if match is None or not match.route.ad_account_scoped:
        return _named_anywhere(facts, match, catalog, rules, body, content_type)
    entity = json_entity(body, content_type, tunneled=facts.tunneled)
    if facts.restli_method in CREATES and keys_are_accounts(catalog, match.route):
        if entity is None:
            raise BadRequest("Creating an ad account needs a JSON body.")
        test, real = _account_creates(entity, facts.restli_method)
        if real and not rules.real_account_creates:
            raise GatewayError(real_account_refusal())
        if test and rules.test_account_creates is not None:
            return CreateClaim(count=test, limit=rules.test_account_creates)
        return None
    if rules.editable_accounts is None:
        return None
    accounts = named_accounts(facts, match, catalog, entity)
    if not accounts:
        raise BadRequest(
            f"This {facts.restli_method.value} on {facts.resource_path} names no ad account. "
            f"On this tier edits are limited to {rules.editable_accounts} ad accounts, so a "
            "write must name the account it changes: in the path (/rest/adAccounts/{id}/...), "
            f"an 'account' query parameter, the keys, or an 'account' field ({account_urn('N')}) "
            "in the JSON body.",
            reason="ad_account_unknown",
        )
    return EditClaim(accounts=accounts, limit=rules.editable_accounts)


def _named_anywhere(
    facts: RequestFacts,
    match: RouteMatch | None,
    catalog: Catalog,
    rules: AdAccountRules,
    body: bytes | None,
    content_type: str | None,
) -> EditClaim | None:
    """A write off the ad-account routes claims the accounts it names, if any: such a route
    may carry no account (a post, a conversion event), so naming none is no refusal here."""
    if rules.editable_accounts is None:
        return None
    try:
        entity = json_entity(body, content_type, tunneled=facts.tunneled)
        loose = frozenset[str]()
    except BadRequest:
        # Not JSON: LinkedIn will most likely refuse it, but whatever it names still counts.
        entity = None
        loose = frozenset(accounts_in_text((body or b"").decode("utf-8", "replace")))
    accounts = named_accounts(facts, match, catalog, entity) | loose
    return EditClaim(accounts=accounts, limit=rules.editable_accounts) if accounts else None


def _forbidden(reason: str, code: str, message: str, service_error_code: int | None) -> Refusal:
    return Refusal(
        status=403,
        reason=reason,
        code=code,
        message=message,
        service_error_code=service_error_code,
    )


def edit_limit_refusal(
    app: str, edited: Collection[str], named: Collection[str], limit: int
) -> Refusal:
    """403 for a write naming an ad account beyond the app's ``limit`` distinct ones."""
    held = ", ".join(account_urn(a) for a in sort_accounts(edited)) or "none"
    new = ", ".join(account_urn(a) for a in sort_accounts(set(named) - set(edited)))
    return _forbidden(
        "ad_account_edit_limit",
        "ACCESS_DENIED",
        f"Application '{app}' may edit at most {limit} ad accounts on the Advertising "
        f"Development tier and has edited {len(edited)}: {held}. This call would add {new}. "
        "Upgrade to the Standard tier to manage more ad accounts.",
        ACCESS_DENIED_CODE,
    )


def create_limit_refusal(limit: int) -> Refusal:
    """403 for a test ad account beyond the tier's allowance.

    LinkedIn answers it with the code TEST_ACCOUNT_LIMIT_REACHED (linkedin-facts §7).
    """
    return _forbidden(
        "test_ad_account_limit",
        "TEST_ACCOUNT_LIMIT_REACHED",
        f"The application may create {limit} test ad account(s) through the API on this tier "
        "and has reached that limit.",
        None,
    )


def real_account_refusal() -> Refusal:
    """403 for a real (non-test) ad account create on a tier that forbids it."""
    return _forbidden(
        "real_ad_account_creation_forbidden",
        "ACCESS_DENIED",
        "Your application does not have permission to create non-test advertiser accounts: "
        'real ad accounts are created in Campaign Manager in this tier. Send "test": true '
        "to create the one test ad account.",
        ACCESS_DENIED_CODE,
    )
