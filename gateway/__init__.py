"""linkedin-gateway: LinkedIn's products, permissions, tiers and quotas, enforced."""

__version__ = "0.1.0"
