"""The Advertising Development tier's ad-account limits.

LinkedIn's seed ("How to Upgrade your Access Tier"), Advertising Development: "Create:
Access to create 1 test Ad Account through the API. All real Ad Accounts must be created
through the Campaign Manager tool in this tier." and "Edit: Make updates related to up to 5
ad accounts that you administer."

- ``accounts``: which ad accounts a write names (pure).
- ``rules``: which limit a call falls under, what it claims, and the refusals (pure).
- ``ledger`` / ``redis_ledger``: the per-app record of edited accounts and test-account
  creates, in memory or in Redis (the I/O edge).
- ``gate``: the request-path steps around the upstream call.
- ``keys``: the ledger's Redis keys, the only keys the gateway writes without a TTL.
"""
