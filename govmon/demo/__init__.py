"""Bundled demonstration sites served on loopback: the first thing a new user runs."""
