"""Readers of government new-media accounts, one adapter per platform (see base.py)."""
