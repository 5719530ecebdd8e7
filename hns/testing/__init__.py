"""The harness users install: hypothesis strategies for HNS code and the emulator server
the pytest plugin (``api.testing.plugin``) starts.

Division of labour:
    server      EmulatorServer: one ``hns-emulator serve`` child process on a free
                loopback port (start, reset, restart on the same state file, stop).
    plugin      the old name of the pytest plugin, which lives in ``api.testing.plugin``
                (``pytest11`` entry point ``hns``; it hands out the HTTP client, so it
                sits above api/): fixtures ``hns_host``, ``hns_server``, ``hns_client``,
                ``hns_cluster``; the marker ``hns_profile``; ``--hns-url`` / ``--hns-token``.
    strategies  hypothesis strategies for valid HNS objects (each accepted by the
                emulator) and invalid ones (each paired with the HRESULT HNS answers).

Nothing here is imported by the emulator itself; ``hypothesis`` is only needed by
``hns.testing.strategies``.  docs/testing.md describes the fixtures and distributions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hns.testing.server import EmulatorServer, free_port

__all__ = ["EmulatorServer", "free_port"]


def __getattr__(name: str) -> Any:
    # Lazy: pytest imports the plugin in every session, most of which never start a server
    # (httpx alone is ~0.15 s of import time).
    if name in __all__:
        from hns.testing import server

        return getattr(server, name)
    raise AttributeError(f"module 'hns.testing' has no attribute {name!r}")
