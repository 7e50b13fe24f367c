"""What a LinkedIn push holds: its notifications and their ids. Pure.

Pushes are JSON. Organization social-action pushes are an envelope
``{"type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS", "notifications": [{...,
"notificationId": N}, ...]}`` of up to 10 notifications (organization-social-action-
notifications, "Webhook Push Notifications"). LinkedIn retries a push every 5 minutes for
8 hours until it is acknowledged, so the receiver deduplicates on the notification id.

Each notification becomes one queued item, delivered as the same envelope holding that one
notification, so the app's receiver parses what LinkedIn sends. A push with no
``notifications`` list is one item; its id is ``notificationId`` (or ``id``), else the
SHA-256 of the body (a retried push repeats its bytes).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from gateway.webhooks.subscriptions import SOCIAL_ACTION_EVENT

MAX_ID_LENGTH = 200


class NotJson(ValueError):
    """The push body is not a JSON object."""


@dataclass(frozen=True)
class Notification:
    """One notification to deliver: its dedup id and the JSON bytes to forward."""

    id: str
    payload: bytes


@dataclass(frozen=True)
class Push:
    """A parsed push: its event type (when given) and its notifications."""

    event_type: str | None
    notifications: tuple[Notification, ...]

    @property
    def is_social_action(self) -> bool:
        return (self.event_type or "").upper() == SOCIAL_ACTION_EVENT


def _id_of(item: dict[str, Any]) -> str | None:
    for name in ("notificationId", "id"):
        value = item.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            text = str(value)
            if 0 < len(text) <= MAX_ID_LENGTH:
                return text
    return None


def _dump(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def parse_push(body: bytes) -> Push:
    """Split a push into notifications; raises ``NotJson`` for anything but a JSON object."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotJson("the body is not JSON") from exc
    if not isinstance(document, dict):
        raise NotJson("the body is not a JSON object")
    raw_type = document.get("type")
    event_type = raw_type if isinstance(raw_type, str) else None
    items = document.get("notifications")
    if isinstance(items, list) and items and all(isinstance(i, dict) for i in items):
        out = []
        for item in items:
            single = {**document, "notifications": [item]}
            payload = _dump(single)
            # Without an id, the content identifies the notification: a retry repeats it.
            ident = _id_of(item) or "sha256:" + hashlib.sha256(payload).hexdigest()
            out.append(Notification(ident, payload))
        return Push(event_type, tuple(out))
    ident = _id_of(document) or "sha256:" + hashlib.sha256(body).hexdigest()
    return Push(event_type, (Notification(ident, body),))
