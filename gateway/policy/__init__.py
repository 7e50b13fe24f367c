"""The decision (pure): token, products, permissions, versions and the Development window."""
