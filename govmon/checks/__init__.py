"""Checks: pure functions from stored observations to findings (DESIGN.md, rule 2)."""
