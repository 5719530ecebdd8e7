"""A refused connection stays httpx's (ServerUnavailable) after a pytester test.

Replays the order that broke CI intermittently (pytest-randomly picks the order inside a
worker): a test holding the ``pytester`` fixture makes the first client connection of the
process and meets a refused port, then a later test does the same. The inner session loads
this tree's root conftest, which is what keeps httpcore out of pytester's purge
(tests/conftest.py, job 3); without it the second test sees a raw httpcore.ConnectError."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TESTS = Path(__file__).resolve().parents[1]


def test_refused_connection_after_a_pytester_test_is_still_server_unavailable(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest((TESTS / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(loopback=(TESTS / "loopback.py").read_text(encoding="utf-8"))
    refuse = """
        import httpx
        import pytest
        from api.client import HnsClient, ServerUnavailable
        from loopback import dead_url

        def refused():
            with dead_url() as url, HnsClient(url) as client:
                with pytest.raises(ServerUnavailable) as info:
                    client.list_networks()
            assert isinstance(info.value, httpx.TransportError)
        """
    pytester.makepyfile(
        test_a_inside=refuse + """
        def test_first_connection_inside_a_pytester_test(pytester):
            refused()
        """,
        test_b_after=refuse + """
        def test_next_test_in_the_same_process():
            refused()
        """,
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:randomly", "-p", "no:xdist", "-p", "no:cacheprovider", "-p", "pytester",
        "test_a_inside.py", "test_b_after.py")
    result.assert_outcomes(passed=2)
