"""Quota counting: window arithmetic, key naming and the stores that count atomically."""
