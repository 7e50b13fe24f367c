"""Classifying a call as LinkedIn's Rest.li framework sees it: method, path, query, facts (pure)."""
