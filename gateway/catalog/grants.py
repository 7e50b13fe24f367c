"""What an app holds of the catalog: the tier each of its products is granted at. Pure."""

from __future__ import annotations

from gateway.catalog.model import Catalog, Tier
from gateway.settings.model import AppConfig


def granted_tier(app: AppConfig, catalog: Catalog, product: str) -> Tier | None:
    """The tier ``app`` holds ``product`` at: its grant's tier, else the product's default.

    None when the app does not hold the product, or the product has no tiers.
    """
    grant = app.products.get(product)
    known = catalog.products.get(product)
    if grant is None or known is None:
        return None
    name = grant.tier if grant.tier is not None else known.default_tier
    if name is None:
        return None
    return catalog.tiers.get((product, name))
