"""A user's tests of kube_proxy_like.py against the emulator, through the hns-emulator
pytest plugin: ``hns_client`` is an HnsClient bound to a live emulator that is emptied
before each test; ``@pytest.mark.hns_profile`` picks the Windows version; faults come from
``hns_client.add_fault`` / ``restart_service``.

Run: ``python3 -m pytest examples/kube_proxy_like`` (or add ``--hns-url URL`` to run the
same tests against an emulator you started yourself).
"""

from __future__ import annotations

from typing import Any

import pytest
from kube_proxy_like import Backend, Proxier, ServicePort

from hns.errors import HnsError, InvalidPolicy

NETWORK = {
    "Name": "cbr0",
    "Type": "L2Bridge",
    "Ipams": [{"Type": "Static", "Subnets": [{
        "IpAddressPrefix": "10.244.1.0/24",
        "Routes": [{"NextHop": "10.244.1.1", "DestinationPrefix": "0.0.0.0/0"}]}]}],
}


@pytest.fixture
def pods(hns_client: Any) -> dict[str, str]:
    """The CNI's part: a network and three local pod endpoints; {ip: endpoint id}."""
    net = hns_client.hcn_create_network(NETWORK)
    out = {}
    for ip in ("10.244.1.10", "10.244.1.11", "10.244.1.12"):
        ep = hns_client.hcn_create_endpoint({"HostComputeNetwork": net["ID"],
                                             "IpConfigurations": [{"IpAddress": ip}]})
        out[ip] = ep["ID"]
    return out


def web(*ips: str, port: int = 80) -> ServicePort:
    return ServicePort("default/web:http", "TCP", port, 8080, "10.96.0.20",
                       tuple(Backend(ip) for ip in ips))


def lbs(client: Any) -> list[dict[str, Any]]:
    return [client.hcn_query_load_balancer_properties(i)
            for i in client.hcn_enumerate_load_balancers()]


def test_sync_creates_one_lb_per_service_port(hns_client: Any, pods: dict[str, str]) -> None:
    proxier = Proxier(hns_client, "cbr0")
    dns = ServicePort("kube-system/dns:dns", "UDP", 53, 53, "10.96.0.10",
                      (Backend("10.244.1.12"),))
    node_port = ServicePort("default/web:nodeport", "TCP", 30080, 8080, None,
                            (Backend("10.244.1.10"),))
    proxier.sync([web("10.244.1.10", "10.244.1.11"), dns, node_port])
    got = {(tuple(lb.get("FrontendVIPs", [])), lb["PortMappings"][0]["Protocol"],
            lb["PortMappings"][0]["ExternalPort"]) for lb in lbs(hns_client)}
    assert got == {(("10.96.0.20",), 6, 80), (("10.96.0.10",), 17, 53), ((), 6, 30080)}
    assert proxier.stats.created == 3


def test_sync_is_idempotent(hns_client: Any, pods: dict[str, str]) -> None:
    proxier = Proxier(hns_client, "cbr0")
    first = proxier.sync([web("10.244.1.10")])
    assert proxier.sync([web("10.244.1.10")]) == first
    assert proxier.stats.created == 1
    assert len(lbs(hns_client)) == 1


def test_sync_updates_backends_in_place_on_hns_15_4(hns_client: Any,
                                                    pods: dict[str, str]) -> None:
    proxier = Proxier(hns_client, "cbr0")
    first = proxier.sync([web("10.244.1.10")])
    second = proxier.sync([web("10.244.1.10", "10.244.1.11")])
    assert second == first  # same load balancer, modified
    (lb,) = lbs(hns_client)
    assert sorted(lb["HostComputeEndpoints"]) == sorted(
        [pods["10.244.1.10"], pods["10.244.1.11"]])
    assert proxier.stats.updated == 1


@pytest.mark.hns_profile("ws2019")
def test_sync_recreates_on_ws2019_which_has_no_lb_modify(hns_client: Any,
                                                         pods: dict[str, str]) -> None:
    proxier = Proxier(hns_client, "cbr0")
    first = proxier.sync([web("10.244.1.10")])
    second = proxier.sync([web("10.244.1.11")])
    assert second != first
    (lb,) = lbs(hns_client)
    assert lb["HostComputeEndpoints"] == [pods["10.244.1.11"]]
    assert (proxier.stats.created, proxier.stats.deleted) == (2, 1)


def test_sync_cleans_up_removed_services(hns_client: Any, pods: dict[str, str]) -> None:
    proxier = Proxier(hns_client, "cbr0")
    proxier.sync([web("10.244.1.10"), web("10.244.1.11", port=81)])
    proxier.sync([web("10.244.1.10")])
    assert len(lbs(hns_client)) == 1
    proxier.sync([])
    assert lbs(hns_client) == []


def test_sync_creates_remote_endpoints_for_other_nodes(hns_client: Any,
                                                       pods: dict[str, str]) -> None:
    proxier = Proxier(hns_client, "cbr0")
    svc = ServicePort("default/web:http", "TCP", 80, 8080, "10.96.0.20",
                      (Backend("10.244.1.10"), Backend("10.244.2.7", node_pa="172.16.0.5")))
    proxier.sync([svc])
    (lb,) = lbs(hns_client)
    remote = [hns_client.hcn_query_endpoint_properties(e) for e in lb["HostComputeEndpoints"]
              if e != pods["10.244.1.10"]]
    assert [r["Flags"] & 1 for r in remote] == [1]
    assert remote[0]["Policies"][0]["Settings"]["ProviderAddress"] == "172.16.0.5"


# ---- under injected faults --------------------------------------------------------------

def test_sync_retries_transient_create_failures(hns_client: Any, pods: dict[str, str]) -> None:
    hns_client.add_fault("HcnCreateLoadBalancer", hresult=0x803B0020, times=2)
    proxier = Proxier(hns_client, "cbr0", sleep=lambda _s: None)
    proxier.sync([web("10.244.1.10")])
    assert len(lbs(hns_client)) == 1
    assert proxier.stats.retries == 2
    creates = [c for c in hns_client.calls(state=False)["Calls"]
               if c.get("Function") == "HcnCreateLoadBalancer"]
    assert [c["HResult"] for c in creates] == [0x803B0020, 0x803B0020, 0]


def test_sync_raises_a_permanent_error(hns_client: Any, pods: dict[str, str]) -> None:
    hns_client.add_fault("HcnCreateLoadBalancer", hresult=InvalidPolicy.hresult)
    proxier = Proxier(hns_client, "cbr0", sleep=lambda _s: None)
    with pytest.raises(InvalidPolicy):
        proxier.sync([web("10.244.1.10")])
    assert proxier.stats.retries == 0


def test_sync_rides_out_an_hns_restart(hns_client: Any, pods: dict[str, str]) -> None:
    proxier = Proxier(hns_client, "cbr0", backoff=0.1)
    proxier.sync([web("10.244.1.10")])
    hns_client.restart_service(down_seconds=0.5)
    proxier.sync([web("10.244.1.10"), web("10.244.1.11", port=81)])
    assert proxier.stats.retries >= 1
    assert len(lbs(hns_client)) == 2  # the first one rehydrated, the second created


def test_sync_gives_up_while_hns_stays_down(hns_client: Any, pods: dict[str, str]) -> None:
    proxier = Proxier(hns_client, "cbr0", attempts=3, sleep=lambda _s: None)
    hns_client.stop_service()
    with pytest.raises(HnsError) as info:
        proxier.sync([web("10.244.1.10")])
    assert info.value.hresult in (0x800706D9, 0x80070426, 0x803B0020)
    assert proxier.stats.retries == 2


def test_sync_recreates_an_update_hns_accepted_but_did_not_apply(
    hns_client: Any, pods: dict[str, str]
) -> None:
    proxier = Proxier(hns_client, "cbr0")
    proxier.sync([web("10.244.1.10")])
    hns_client.add_fault("HcnModifyLoadBalancer", "NotApplied", times=1)
    proxier.sync([web("10.244.1.11")])
    assert proxier.stats.recreated == 1
    (lb,) = lbs(hns_client)
    assert lb["HostComputeEndpoints"] == [pods["10.244.1.11"]]


def test_sync_deletes_twice_when_the_first_delete_fails(hns_client: Any,
                                                        pods: dict[str, str]) -> None:
    proxier = Proxier(hns_client, "cbr0")
    proxier.sync([web("10.244.1.10")])
    hns_client.add_fault("HcnDeleteLoadBalancer", hresult=0x80004005, times=1)
    proxier.sync([])
    assert lbs(hns_client) == []
