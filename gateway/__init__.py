"""linkedin-gateway: enforce LinkedIn's products, permissions, tiers and quotas in front of its APIs."""

__version__ = "0.1.0"
