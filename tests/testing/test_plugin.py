"""The pytest plugin, driven through pytester: each test writes a user's test file, runs
pytest on it (the plugin comes in through its installed pytest11 entry point, as for a
user) and checks the outcome."""

from __future__ import annotations

import importlib.metadata
import json
import tomllib
from pathlib import Path

import pytest

from hns.testing.server import EmulatorServer

pytest_plugins = ["pytester"]

NETWORK = {
    "Name": "fresh",
    "Type": "NAT",
    "Subnets": [{"AddressPrefix": "172.20.0.0/24", "GatewayAddress": "172.20.0.1"}],
}


def test_plugin_entry_point_is_installed() -> None:
    points = importlib.metadata.entry_points(group="pytest11")
    # api.testing.plugin since the plugin moved above api/; an editable install made before
    # the move still names hns.testing.plugin, which loads it by name.
    assert [p.value for p in points if p.name == "hns"] in (
        ["api.testing.plugin"], ["hns.testing.plugin"])
    declared = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert declared["project"]["entry-points"]["pytest11"] == {"hns": "api.testing.plugin"}


def test_plugin_marker_and_options_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["*hns_profile(name): host profile*"])
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--hns-url=URL*", "*--hns-token=TOKEN*"])


def test_plugin_server_fresh_per_test_same_process(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        import json
        from hns.errors import NetworkAlreadyExists
        import pytest

        NETWORK = {NETWORK!r}
        URLS = []

        @pytest.mark.parametrize("run", range(3))
        def test_create_same_name(hns_client, hns_server, run):
            URLS.append((hns_server.url, hns_server.pid))
            hns_client.create_network(NETWORK)
            with pytest.raises(NetworkAlreadyExists):
                hns_client.create_network(NETWORK)
            assert len(hns_client.list_networks()) == 1

        def test_one_server_for_the_session():
            assert len(set(URLS)) == 1
            assert URLS[0][1] is not None
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_plugin_host_fresh_per_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        import json
        import pytest

        NETWORK = {NETWORK!r}
        SEEN = []

        @pytest.mark.parametrize("run", range(2))
        def test_host_is_empty_then_holds_one(hns_host, run):
            svc = hns_host.service
            SEEN.append(id(hns_host))
            assert svc.hns_call("GET", "/networks/") == []
            svc.hns_call("POST", "/networks/", json.dumps(NETWORK))
            assert len(svc.hns_call("GET", "/networks/")) == 1

        def test_two_hosts_were_made():
            assert len(SEEN) == 2
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_plugin_profile_marker_applies_and_reverts(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.hns_profile("ws2019")
        def test_server_ws2019(hns_client):
            assert hns_client.globals_version() == {"Major": 9, "Minor": 5}

        def test_server_default_after(hns_client):
            assert hns_client.globals_version() == {"Major": 15, "Minor": 4}

        @pytest.mark.hns_profile("ws2022")
        def test_host_ws2022(hns_host):
            svc = hns_host.service
            assert svc.globals_version() == {"Major": 13, "Minor": 3}

        def test_host_default(hns_host):
            svc = hns_host.service
            assert svc.profile == "ws2025"

        @pytest.mark.hns_profile("ws2019")
        class TestClassLevel:
            def test_class_mark_reaches_server(self, hns_server):
                assert hns_server.get_profile() == "ws2019"
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)


def test_plugin_unknown_profile_is_an_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.hns_profile("ws1803")
        def test_x(hns_host):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*unknown profile*ws1803*"])


def test_plugin_xdist_gives_each_worker_its_server(pytester: pytest.Pytester) -> None:
    out = pytester.path / "seen"
    out.mkdir()
    pytester.makepyfile(
        f"""
        import json, os
        from pathlib import Path
        import pytest

        NETWORK = {NETWORK!r}

        @pytest.mark.parametrize("run", range(6))
        def test_worker(hns_client, hns_server, run):
            hns_client.create_network(NETWORK)
            assert len(hns_client.list_networks()) == 1
            worker = os.environ.get("PYTEST_XDIST_WORKER", "none")
            Path({str(out)!r}, f"{{worker}}-{{run}}").write_text(
                json.dumps([worker, hns_server.url, hns_server.pid]))
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    seen = [json.loads(p.read_text()) for p in Path(out).iterdir()]
    by_worker: dict[str, set[tuple[str, int]]] = {}
    for worker, url, pid in seen:
        by_worker.setdefault(worker, set()).add((url, pid))
    assert set(by_worker) == {"gw0", "gw1"}
    assert all(len(servers) == 1 for servers in by_worker.values())
    assert by_worker["gw0"] != by_worker["gw1"]


def test_plugin_hns_url_uses_the_given_server(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    with EmulatorServer(state=tmp_path / "outer.sqlite", token="s3cret") as outer:
        pytester.makepyfile(
            f"""
            import pytest

            NETWORK = {NETWORK!r}

            def test_points_at_outer(hns_server, hns_client):
                assert hns_server.url == {outer.url!r}
                assert hns_server.pid is None
                hns_client.create_network(NETWORK)

            def test_reset_between_tests(hns_client):
                assert hns_client.list_networks() == []
                hns_client.create_network(NETWORK)

            @pytest.mark.hns_profile("ws2019")
            def test_profile_on_outer(hns_client):
                assert hns_client.globals_version()["Major"] == 9
            """
        )
        result = pytester.runpytest(
            "-p", "no:cacheprovider", f"--hns-url={outer.url}", "--hns-token=s3cret"
        )
        result.assert_outcomes(passed=3)
        result.stdout.fnmatch_lines([f"hns-emulator: tests run against {outer.url}"])
        # The session leaves the outer server empty and on the profile it found.
        assert outer.dump()["Objects"]["network"] == []
        assert outer.get_profile() == "ws2025"


def test_plugin_server_restart_keeps_state(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        NETWORK = {NETWORK!r}

        def test_restart(hns_server, hns_client):
            created = hns_client.create_network(NETWORK)
            old_pid = hns_server.pid
            hns_server.restart()
            assert hns_server.pid != old_pid
            assert hns_client.get_network(created["ID"])["Name"] == "fresh"

        def test_after_restart_still_fresh(hns_client):
            assert hns_client.list_networks() == []
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_plugin_cluster_has_two_hosts_that_ping(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import json
        import pytest

        def overlay(host, prefix):
            base = prefix.rsplit(".", 1)[0]
            return host.service.hcn_call("HcnCreateNetwork", None, json.dumps({
                "Name": "vxlan0", "Type": "Overlay",
                "Ipams": [{"Type": "Static", "Subnets": [{
                    "IpAddressPrefix": prefix,
                    "Routes": [{"NextHop": base + ".1", "DestinationPrefix": "0.0.0.0/0"}],
                    "Policies": [{"Type": "VSID", "Settings": {"IsolationId": 4096}}]}]}],
            }))["ID"]

        def endpoint(host, net, ip, *, remote_pa=None, mac=None):
            body = {"HostComputeNetwork": net, "IpConfigurations": [{"IpAddress": ip}]}
            if remote_pa:
                body.update(Flags=1, MacAddress=mac, Policies=[
                    {"Type": "ProviderAddress", "Settings": {"ProviderAddress": remote_pa}}])
            return host.service.hcn_call("HcnCreateEndpoint", None, json.dumps(body))

        @pytest.mark.hns_profile("ws2022")
        def test_ping_across(hns_cluster):
            h1, h2 = hns_cluster.hosts["host1"], hns_cluster.hosts["host2"]
            assert (h1.service.host_ip, h2.service.host_ip) == ("10.0.0.1", "10.0.0.2")
            assert h1.service.profile == h2.service.profile == "ws2022"
            n1, n2 = overlay(h1, "10.0.1.0/24"), overlay(h2, "10.0.1.0/24")
            e1 = endpoint(h1, n1, "10.0.1.2")
            e2 = endpoint(h2, n2, "10.0.1.3")
            endpoint(h1, n1, "10.0.1.3", remote_pa="10.0.0.2", mac=e2["MacAddress"])
            endpoint(h2, n2, "10.0.1.2", remote_pa="10.0.0.1", mac=e1["MacAddress"])
            assert hns_cluster.ping("host1", e1["ID"], "10.0.1.3")
            assert len(hns_cluster.capture()) >= 2

        def test_next_cluster_is_fresh(hns_cluster):
            assert all(h.service.dump()["Objects"]["network"] == []
                       for h in hns_cluster.hosts.values())
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_plugin_faults_through_client_and_host_then_cleared(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        import json
        import pytest
        from hns.errors import HnsError

        NETWORK = {NETWORK!r}

        def test_client_fault(hns_client):
            hns_client.add_fault("HcnCreateNetwork", hresult=0x803B0020, times=1)
            with pytest.raises(HnsError) as info:
                hns_client.hcn_create_network(NETWORK)
            assert info.value.hresult == 0x803B0020
            hns_client.add_fault("HcnDeleteNetwork", hresult=0x803B0020)

        def test_fault_gone_after_reset(hns_client):
            assert hns_client.list_faults() == []
            net = hns_client.hcn_create_network(NETWORK)
            hns_client.hcn_delete_network(net["ID"])

        def test_host_fault(hns_host):
            with hns_host.service.faults.injected("HcnCreateNetwork", hresult=0x80070426):
                with pytest.raises(HnsError) as info:
                    hns_host.service.hcn_call("HcnCreateNetwork", None, json.dumps(NETWORK))
            assert info.value.hresult == 0x80070426
            hns_host.service.hcn_call("HcnCreateNetwork", None, json.dumps(NETWORK))
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_plugin_hns_url_list_gives_each_xdist_worker_its_server(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker's view (pytest-xdist's two environment variables) in one in-process run:
    # the real -n 2 run is test_plugin_xdist_gives_each_worker_its_server.
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    with EmulatorServer(state=tmp_path / "a.sqlite") as a, \
            EmulatorServer(state=tmp_path / "b.sqlite") as b:
        pytester.makepyfile(
            f"""
            def test_worker_gw1_takes_the_second(hns_server, hns_client):
                assert hns_server.url == {b.url!r}
                assert hns_client.list_networks() == []
            """
        )
        result = pytester.runpytest("-p", "no:cacheprovider", f"--hns-url={a.url},{b.url}")
        result.assert_outcomes(passed=1)
        result = pytester.runpytest("-p", "no:cacheprovider", f"--hns-url={a.url}")
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(["*--hns-url names 1 server(s) but pytest-xdist runs 2*"])


def test_plugin_hns_profile_option_sets_the_default(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_server_default(hns_client):
            assert hns_client.globals_version() == {"Major": 13, "Minor": 3}

        def test_host_default(hns_host):
            assert hns_host.service.profile == "ws2022"

        @pytest.mark.hns_profile("ws2025")
        def test_mark_still_wins(hns_client):
            assert hns_client.globals_version() == {"Major": 15, "Minor": 4}
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--hns-profile=ws2022")
    result.assert_outcomes(passed=3)
    result = pytester.runpytest("-p", "no:cacheprovider", "--hns-profile=ws1903")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*invalid choice*ws1903*"])


def test_plugin_failed_test_report_shows_the_emulators_calls(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        NETWORK = {NETWORK!r}

        def test_fails(hns_client):
            hns_client.hcn_create_network(NETWORK)
            try:
                hns_client.hcn_create_network(NETWORK)
            except Exception:
                pass
            assert False, "the user's bug"

        def test_passes(hns_client):
            hns_client.list_networks()
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*- hns-emulator calls -*",
        "*1 HcnCreateNetwork -> ok",
        "*2 HcnCreateNetwork -> 0x803B0010 A network with this name already exists.",
    ])
    assert result.stdout.str().count("hns-emulator calls") == 1
