"""Checks: pure functions from stored observations to findings (DESIGN.md, rule 2).

One module per check id (``column_stale.py`` is ``column.stale``), each declaring its
``id``, Chinese ``title`` and ``description``, ``required_artifacts``, default
``severity`` and ``run(artifacts, settings)``. :mod:`govmon.checks.artifacts` defines the
observations they read; :mod:`govmon.checks.registry` holds ``CHECKS``, ``get_check``
and ``run_checks``.
"""
