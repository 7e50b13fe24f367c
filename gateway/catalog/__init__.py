"""LinkedIn's products, permissions, tiers and routes, loaded from catalog.yaml."""
