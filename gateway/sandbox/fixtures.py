"""The data a fresh sandbox starts with, so reads work out of the box. Pure.

Ids follow LinkedIn's shapes: organizations and ad accounts are numeric in paths and appear
as ``urn:li:organization:N`` / ``urn:li:sponsoredAccount:N`` inside entities; posts are keyed
by ``urn:li:share:N`` (Posts API, "Post Creation Response").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JsonObject = dict[str, Any]
CollectionPath = tuple[str, ...]

ORGANIZATION_IDS = (1, 2, 3)
AD_ACCOUNT_IDS = (500001, 500002, 500003)
FIRST_POST_NUMBER = 7100000000000000001
POST_COUNT = 3
EVENT_IDS = (810001, 810002)
CONVERSION_RULE_ID = 820001


@dataclass(frozen=True)
class Seed:
    """Singleton resources by ``(api, path)`` and keyed collections by path."""

    singletons: dict[tuple[str, CollectionPath], JsonObject]
    collections: dict[CollectionPath, dict[str, JsonObject]]


def member_id(member: str) -> str:
    """The id part of a person URN: ``urn:li:person:abc`` -> ``abc``."""
    return member.rsplit(":", 1)[-1]


def _profile(member: str) -> JsonObject:
    return {
        "id": member_id(member),
        "localizedFirstName": "Sandy",
        "localizedLastName": "Box",
        "localizedHeadline": "Trying the gateway against the sandbox",
        "firstName": {
            "localized": {"en_US": "Sandy"},
            "preferredLocale": {"country": "US", "language": "en"},
        },
        "lastName": {
            "localized": {"en_US": "Box"},
            "preferredLocale": {"country": "US", "language": "en"},
        },
    }


def _userinfo(member: str) -> JsonObject:
    # OpenID Connect userinfo: "sub" is the member id (Sign In with LinkedIn using OpenID Connect).
    return {
        "sub": member_id(member),
        "name": "Sandy Box",
        "given_name": "Sandy",
        "family_name": "Box",
        "locale": {"country": "US", "language": "en"},
        "email": "sandy.box@example.com",
        "email_verified": True,
        "picture": "https://example.com/sandbox-member.png",
    }


def _organizations() -> dict[str, JsonObject]:
    return {
        str(n): {"id": n, "localizedName": f"Sandbox Org {n}", "vanityName": f"sandbox-org-{n}"}
        for n in ORGANIZATION_IDS
    }


def _ad_accounts() -> dict[str, JsonObject]:
    return {
        str(n): {
            "id": n,
            "name": f"Sandbox Ad Account {n}",
            "status": "ACTIVE",
            "type": "BUSINESS",
            "currency": "USD",
            "reference": "urn:li:organization:1",
            "test": False,
        }
        for n in AD_ACCOUNT_IDS
    }


def _campaign_structure() -> dict[CollectionPath, dict[str, JsonObject]]:
    out: dict[CollectionPath, dict[str, JsonObject]] = {}
    for index, account in enumerate(AD_ACCOUNT_IDS):
        account_urn = f"urn:li:sponsoredAccount:{account}"
        group_id = 600001 + index
        out[("adAccounts", str(account), "adCampaignGroups")] = {
            str(group_id): {
                "id": group_id,
                "account": account_urn,
                "name": f"Sandbox Campaign Group {group_id}",
                "status": "ACTIVE",
                "test": False,
            }
        }
        campaigns: dict[str, JsonObject] = {}
        for offset in (0, 1):
            campaign_id = 700001 + 2 * index + offset
            campaigns[str(campaign_id)] = {
                "id": campaign_id,
                "account": account_urn,
                "campaignGroup": f"urn:li:sponsoredCampaignGroup:{group_id}",
                "name": f"Sandbox Campaign {campaign_id}",
                "status": "ACTIVE",
                "type": "SPONSORED_UPDATES",
                "costType": "CPM",
                "test": False,
            }
        out[("adAccounts", str(account), "adCampaigns")] = campaigns
    return out


def _posts() -> dict[str, JsonObject]:
    out: dict[str, JsonObject] = {}
    for offset in range(POST_COUNT):
        urn = f"urn:li:share:{FIRST_POST_NUMBER + offset}"
        out[urn] = {
            "id": urn,
            "author": "urn:li:organization:1",
            "commentary": f"Sandbox post number {offset + 1}",
            "visibility": "PUBLIC",
            "lifecycleState": "PUBLISHED",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "isReshareDisabledByAuthor": False,
        }
    return out


def _organization_acls(member: str) -> dict[str, JsonObject]:
    # Keyed like LinkedIn's complex key (organization, role, roleAssignee).
    return {
        f"(organization:urn:li:organization:{n},role:ADMINISTRATOR,roleAssignee:{member})": {
            "organization": f"urn:li:organization:{n}",
            "role": "ADMINISTRATOR",
            "roleAssignee": member,
            "state": "APPROVED",
        }
        for n in ORGANIZATION_IDS
    }


def _ad_account_users(member: str) -> dict[str, JsonObject]:
    account = f"urn:li:sponsoredAccount:{AD_ACCOUNT_IDS[0]}"
    return {
        f"(account:{account},user:{member})": {
            "account": account,
            "role": "ACCOUNT_MANAGER",
            "user": member,
        }
    }


def _events() -> dict[str, JsonObject]:
    # Events API: organized by a Company Page, keyed by a number.
    return {
        str(n): {
            "id": n,
            "organizer": "urn:li:organization:1",
            "name": {"localized": {"en_US": f"Sandbox Event {n}"}},
            "eventFormat": "ONLINE",
            "lifecycleState": "PUBLISHED",
        }
        for n in EVENT_IDS
    }


def _conversion_rules() -> dict[str, JsonObject]:
    # Conversions API: a rule of the first ad account that events are streamed to.
    return {
        str(CONVERSION_RULE_ID): {
            "id": CONVERSION_RULE_ID,
            "account": f"urn:li:sponsoredAccount:{AD_ACCOUNT_IDS[0]}",
            "name": "Sandbox offline purchases",
            "conversionMethod": "CONVERSIONS_API",
            "type": "PURCHASE",
            "enabled": True,
        }
    }


def seed(member: str) -> Seed:
    """Fresh fixture data for a sandbox whose authenticated member is ``member``."""
    profile = _profile(member)
    collections: dict[CollectionPath, dict[str, JsonObject]] = {
        ("organizations",): _organizations(),
        ("adAccounts",): _ad_accounts(),
        ("posts",): _posts(),
        ("organizationAcls",): _organization_acls(member),
        ("adAccountUsers",): _ad_account_users(member),
        ("events",): _events(),
        ("conversions",): _conversion_rules(),
    }
    collections.update(_campaign_structure())
    return Seed(
        singletons={
            ("rest", ("me",)): profile,
            ("v2", ("me",)): profile,
            ("v2", ("userinfo",)): _userinfo(member),
        },
        collections=collections,
    )
