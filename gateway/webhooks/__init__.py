"""LinkedIn webhooks: the Development tier's subscription ban, and the gateway's receiver.

``subscriptions`` holds the pure decision rule for ``eventSubscriptions`` calls;
``signatures`` and ``notifications`` the pure parts of the receiver (LinkedIn's challenge,
``X-LI-Signature``, notification ids); ``queue`` the durable queue (memory or Redis);
and ``delivery`` the background worker that forwards notifications to the app's internal
URL. The endpoints are ``gateway.http.webhook_routes``.
"""
