"""The Development tier's webhook rule for subscription calls. Pure.

Seed, Community Management Development tier: "Webhook for Social Actions: Push
notifications disabled". Members subscribe with
``PUT /rest/eventSubscriptions/(developerApplication:...,user:...,entity:...,
eventType:ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS)`` (organization-social-action-
notifications); the key is a Rest.li complex key whose URN values are URL-encoded.

A write to ``eventSubscriptions`` is refused when a tier of a product the call counts
against disables social-action webhooks and the call names a social-action subscription.
The key is read after every layer of percent-encoding is removed, and the event type is
compared case-insensitively, so no spelling of the key slips by. A write that names no key
at all (LinkedIn has no such call) cannot be told apart and is refused too. Reads and
deletes of subscriptions stay allowed: they create nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote

from gateway.catalog.grants import granted_tier
from gateway.catalog.model import Catalog
from gateway.errors import Refusal
from gateway.restli.facts import RequestFacts
from gateway.restli.methods import READ_METHODS, RestliMethod
from gateway.restli.syntax import split_top_level
from gateway.settings.model import AppConfig

SOCIAL_ACTION_EVENT = "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS"
SUBSCRIPTIONS = "eventsubscriptions"
_UNSUBSCRIBE = frozenset({RestliMethod.DELETE, RestliMethod.BATCH_DELETE})
_MAX_UNQUOTE_ROUNDS = 8


def fully_unquoted(value: str) -> str:
    """``value`` with percent-encoding removed until nothing changes (bounded)."""
    for _ in range(_MAX_UNQUOTE_ROUNDS):
        decoded = unquote(value)
        if decoded == value:
            break
        value = decoded
    return value


def complex_key_fields(key: str) -> dict[str, str]:
    """The fields of a Rest.li 2.0 complex key ``(name:value,...)``, values fully decoded.

    Empty for a key that is not parenthesized.
    """
    text = key.strip()
    if not (text.startswith("(") and text.endswith(")")):
        return {}
    fields: dict[str, str] = {}
    for part in split_top_level(text[1:-1]):
        name, sep, value = part.partition(":")
        if sep:
            fields[fully_unquoted(name).strip()] = fully_unquoted(value).strip()
    return fields


def _keys_named(facts: RequestFacts) -> list[str]:
    keys = list(facts.batch_ids)
    if len(facts.segments) >= 2:
        keys.append(facts.segments[1])
    return keys


def names_social_action_subscription(facts: RequestFacts) -> bool:
    """True for a write to ``eventSubscriptions`` that may create a social-action
    subscription: a key names the event type, or no key is named at all."""
    if not facts.segments or facts.segments[0].casefold() != SUBSCRIPTIONS:
        return False
    if facts.restli_method in READ_METHODS or facts.restli_method in _UNSUBSCRIBE:
        return False
    keys = _keys_named(facts)
    if not keys:
        return True
    return any(SOCIAL_ACTION_EVENT in fully_unquoted(key).upper() for key in keys)


def webhook_subscription_refusal(
    facts: RequestFacts, app: AppConfig, catalog: Catalog, products: Iterable[str]
) -> Refusal | None:
    """403 ``webhooks_disabled`` when the call subscribes to social-action notifications and
    a tier of one of ``products`` (those the call counts against) disables them."""
    if not names_social_action_subscription(facts):
        return None
    for product in products:
        tier = granted_tier(app, catalog, product)
        if tier is not None and not tier.social_action_webhooks:
            return Refusal(
                status=403,
                reason="webhooks_disabled",
                code="ACCESS_DENIED",
                message=(
                    f"Push notifications for social actions are disabled on the {tier.title} "
                    f"tier: {SOCIAL_ACTION_EVENT} subscriptions cannot be created"
                ),
                service_error_code=100,
            )
    return None


def social_actions_disabled(app: AppConfig, catalog: Catalog) -> bool:
    """True when a tier the app holds disables social-action push notifications (seed:
    Community Management Development, "Webhook for Social Actions: Push notifications
    disabled")."""
    for product in app.products:
        tier = granted_tier(app, catalog, product)
        if tier is not None and not tier.social_action_webhooks:
            return True
    return False
