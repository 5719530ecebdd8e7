"""The harness users install: a pytest plugin and hypothesis strategies for HNS code.

Division of labour:
    server      EmulatorServer: one ``hns-emulator serve`` child process on a free
                loopback port (start, reset, restart on the same state file, stop).
    plugin      the pytest plugin (``pytest11`` entry point ``hns``): fixtures
                ``hns_host``, ``hns_server``, ``hns_client``, ``hns_cluster``; the marker
                ``hns_profile``; the options ``--hns-url`` / ``--hns-token``.
    strategies  hypothesis strategies for valid HNS objects (each accepted by the
                emulator) and invalid ones (each paired with the HRESULT HNS answers).

Nothing here is imported by the emulator itself; ``hypothesis`` is only needed by
``hns.testing.strategies``.  docs/testing.md describes the fixtures and distributions.
"""

from __future__ import annotations

from hns.testing.server import EmulatorServer, free_port

__all__ = ["EmulatorServer", "free_port"]
