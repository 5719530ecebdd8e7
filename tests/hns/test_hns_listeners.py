"""The change-listener seam the VFP compiler hangs on: one event per committed operation,
nothing for a refused one, None after a wholesale change."""

from __future__ import annotations

import json

import pytest

from hns.errors import NetworkAlreadyExists
from hns.service import HnsService
from hns.store.state import ObjectChange

NAT = {"Name": "n", "Type": "NAT",
       "Subnets": [{"AddressPrefix": "10.0.0.0/24", "GatewayAddress": "10.0.0.1"}]}


def test_listener_sees_create_modify_delete_in_commit_order() -> None:
    svc = HnsService()
    seen: list[list[ObjectChange] | None] = []
    svc.add_listener(seen.append)
    net = svc.hns_call("POST", "/networks", json.dumps(NAT))
    ep = svc.hns_call("POST", "/endpoints", json.dumps({"Name": "e", "VirtualNetwork": net["ID"]}))
    svc.hns_call("DELETE", f"/networks/{net['ID']}")
    shapes = [[(c.kind, c.key, c.old is None, c.new is None) for c in batch or []]
              for batch in seen]
    assert shapes == [
        [("network", net["ID"].upper(), True, False)],
        [("endpoint", ep["ID"].upper(), True, False)],
        [("endpoint", ep["ID"].upper(), False, True), ("network", net["ID"].upper(), False, True)],
    ]


def test_listener_not_called_for_refused_operation() -> None:
    svc = HnsService()
    svc.hns_call("POST", "/networks", json.dumps(NAT))
    seen: list[list[ObjectChange] | None] = []
    svc.add_listener(seen.append)
    with pytest.raises(NetworkAlreadyExists) as info:
        svc.hns_call("POST", "/networks", json.dumps(NAT))  # same name: refused
    assert info.value.hresult == 0x803B0010
    assert seen == []


def test_listener_told_none_after_reset_and_load() -> None:
    svc = HnsService()
    svc.hns_call("POST", "/networks", json.dumps(NAT))
    dump = svc.dump()
    seen: list[list[ObjectChange] | None] = []
    svc.add_listener(seen.append)
    svc.reset()
    svc.load(dump)
    assert seen == [None, None]
    svc.remove_listener(seen.append)
    svc.reset()
    assert seen == [None, None]


def test_host_ip_sets_default_provider_address() -> None:
    svc = HnsService(host_ip="10.1.2.3")
    net = svc.hns_call("POST", "/networks", json.dumps(
        dict(NAT, Type="Overlay", Name="o",
             Subnets=[{"AddressPrefix": "10.0.0.0/24", "GatewayAddress": "10.0.0.1",
                       "Policies": [{"Type": "VSID", "VSID": 4096}]}])))
    assert net["ManagementIP"] == "10.1.2.3"
