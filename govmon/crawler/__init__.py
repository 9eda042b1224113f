"""Gatherers: they record what they see and never judge (DESIGN.md, rule 1)."""
