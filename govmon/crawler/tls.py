"""The TLS context the httpx clients share (probes, account reads).

Building one loads the system's CA certificates, about 70 ms of CPU; a fresh client per probe
round or per account read paid it every time. The context is built once per process and only
read afterwards (certificate verification on, the default protocol set).
"""

from __future__ import annotations

import functools
import ssl


@functools.lru_cache(maxsize=1)
def verified_context() -> ssl.SSLContext:
    """The process's default, verifying client context."""
    return ssl.create_default_context()
