"""Member roles on Company Pages and Ad Accounts, enforced per app (``enforce_roles: true``).

``rules`` is pure: which entities a request names and whether the member's roles allow it.
``cache`` keeps looked-up roles per member (memory or Redis, with a TTL); ``lookup`` asks
LinkedIn with the caller's token; ``enforce`` ties them together for the request path.
"""
