"""A hypothesis RuleBasedStateMachine over the HTTP API of a real ``hns-emulator serve``
(the plugin's EmulatorServer, on an SQLite file).

Objects are picked by position in creation order (never by their random ids), so a
replayed example makes the same choices.

Rules: create networks (NAT, L2Bridge, Overlay), local endpoints (given or allocated
IP), remote endpoints, load balancers (VIPs and ports from small pools so clashes
happen; through V2 and V1 policy lists), modify a load balancer's backends, add ACL
sets to endpoints, delete any of them, restart the emulator process on the same state
file, and reboot the emulated host.  A small model predicts which calls HNS refuses
(port clash, IP clash) and what a reboot removes.

Invariants, after every step, read back over HTTP:
  * the server holds exactly the model's networks, endpoints and load balancers;
  * no two load balancers hold one (VIP, protocol, port), a VIP-less one holding the port
    on every address;
  * every load balancer's endpoints exist, or were deleted after it was made (HNS keeps
    the dead reference: kubernetes#112836);
  * no IP is handed out twice among the local endpoints of a network (nor among its
    remote ones);
  * every local endpoint has one VFP port (``/vfp/ports``) and remote endpoints none; its
    layers are those of its network type, ACL_ENDPOINT_LAYER is default-deny exactly when
    a Switch ACL is on it, each ACL group holds one rule per Switch ACL of its direction
    and address family, SLB_NAT_LAYER's outbound group has rules exactly when OutBoundNAT
    is on it, and the load-balancer layers hold exactly the rules of the load balancers
    with a live backend (one per VIP and port mapping, docs/compiler.md).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from starlette.testclient import TestClient

from api.app import create_app
from api.client import HnsClient
from hns.errors import HnsError, ObjectAlreadyExists, PortAlreadyExists
from hns.hosts import Host
from hns.service import HnsService
from hns.testing import strategies as hs
from hns.testing.server import EmulatorServer

pytestmark = pytest.mark.slow

MIN_STEPS = 200
STEPS_PER_EXAMPLE = 25
MAX_RESTARTS_PER_EXAMPLE = 1  # a process restart costs about a second
MAX_REBOOTS_PER_EXAMPLE = 2  # always enabled otherwise, so it would crowd out the rest
VIPS = ("10.96.0.10", "10.96.0.11")
PORTS = (80, 443, 30080)
BASE_LAYERS = ("ACL_ENDPOINT_LAYER", "LB_DSR", "SLB_LB_LAYER", "SLB_NAT_LAYER",
               "VNET_MAC_REWRITE_LAYER")
OVERLAY_LAYERS = ("VNET_ENCAP_LAYER", "VNET_PA_ROUTE_LAYER")

SERVER: EmulatorServer | None = None
STEPS = 0


@dataclass
class Net:
    id: str
    type: str
    non_persistent: bool


@dataclass
class Ep:
    id: str
    net: str
    ip: str
    remote: bool
    policies: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Lb:
    id: str
    endpoints: list[str]
    vips: list[str]
    mappings: list[tuple[int, int, int]]  # (protocol, external, internal)
    dsr: bool
    body: dict[str, Any] = field(default_factory=dict)


def _key(ident: str) -> str:
    return ident.strip("{}").upper()


class HnsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        assert SERVER is not None
        self.server = SERVER
        self.server.reset()
        self.client = HnsClient(self.server.url)
        self.nets: dict[str, Net] = {}
        self.eps: dict[str, Ep] = {}
        self.lbs: dict[str, Lb] = {}
        self.deleted_eps: set[str] = set()
        self.restarts = 0
        self.reboots = 0

    def teardown(self) -> None:
        self.client.close()

    # -- rules ---------------------------------------------------------------------

    @initialize(data=st.data())
    def first_network(self, data: st.DataObject) -> None:
        self.create_network(data)

    @rule(data=st.data())
    def create_network(self, data: st.DataObject) -> None:
        body = data.draw(hs.networks(types=("NAT", "L2Bridge", "Overlay"), max_prefix=26))
        body["Name"] += f"-{len(self.nets)}"  # draws may repeat; HNS wants distinct names
        created = self.client.hcn_create_network(body)
        self.nets[_key(created["ID"])] = Net(created["ID"], body["Type"],
                                             bool(body["Flags"] & 8))

    @precondition(lambda self: self.nets)
    @rule(data=st.data(), given_ip=st.booleans())
    def create_endpoint(self, data: st.DataObject, given_ip: bool) -> None:
        net = self.nets[data.draw(st.sampled_from(list(self.nets)))]
        network = self.client.hcn_query_network_properties(net.id)
        body = data.draw(hs.endpoints(network, ip=given_ip))
        wanted = body.get("IpConfigurations", [{}])[0].get("IpAddress")
        clash = wanted is not None and any(
            e.ip == wanted and not e.remote and _key(e.net) == _key(net.id)
            for e in self.eps.values())
        if clash:
            with pytest.raises(ObjectAlreadyExists):
                self.client.hcn_create_endpoint(body)
            return
        created = self.client.hcn_create_endpoint(body)
        ip = created["IpConfigurations"][0]["IpAddress"]
        if wanted is not None:
            assert ip == wanted
        self.eps[_key(created["ID"])] = Ep(created["ID"], net.id, ip, False,
                                           created.get("Policies", []))

    @precondition(lambda self: any(n.type == "Overlay" for n in self.nets.values()))
    @rule(data=st.data())
    def create_remote_endpoint(self, data: st.DataObject) -> None:
        overlays = [k for k, n in self.nets.items() if n.type == "Overlay"]
        net = self.nets[data.draw(st.sampled_from(overlays))]
        ip = data.draw(st.sampled_from(["10.244.9.2", "10.244.9.3", "10.244.9.4"]))
        body = data.draw(hs.remote_endpoints({"ID": net.id}, ip=ip))
        clash = any(e.ip == ip and e.remote and _key(e.net) == _key(net.id)
                    for e in self.eps.values())
        if clash:
            with pytest.raises(ObjectAlreadyExists):
                self.client.hcn_create_endpoint(body)
            return
        created = self.client.hcn_create_endpoint(body)
        self.eps[_key(created["ID"])] = Ep(created["ID"], net.id, ip, True,
                                           created.get("Policies", []))

    def _clashes(self, lb: Lb) -> bool:
        held: dict[tuple[int, int], set[str]] = {}
        for other in self.lbs.values():
            for proto, ext, _ in other.mappings:
                held.setdefault((proto, ext), set()).update(other.vips or [""])
        for proto, ext, _ in lb.mappings:
            holders = held.get((proto, ext), set())
            for vip in lb.vips or [""]:
                if vip in holders or "" in holders or (vip == "" and holders):
                    return True
        return False

    @precondition(lambda self: self.eps)
    @rule(data=st.data())
    def create_load_balancer(self, data: st.DataObject) -> None:
        ids = [e.id for e in self.eps.values()]
        body = data.draw(hs.load_balancers(ids, vips=st.sampled_from(VIPS)))
        for pm in body["PortMappings"]:
            pm["ExternalPort"] = data.draw(st.sampled_from(PORTS))
        mappings = [(pm["Protocol"], pm["ExternalPort"], pm["InternalPort"])
                    for pm in body["PortMappings"]]
        if len({m[:2] for m in mappings}) < len(mappings):
            body["PortMappings"] = body["PortMappings"][:1]
            mappings = mappings[:1]
        lb = Lb("", list(body["HostComputeEndpoints"]), list(body.get("FrontendVIPs", [])),
                mappings, bool(body.get("Flags", 0) & 1), body)
        if self._clashes(lb):
            with pytest.raises(PortAlreadyExists):
                self.client.hcn_create_load_balancer(body)
            return
        created = self.client.hcn_create_load_balancer(body)
        lb.id = created["ID"]
        self.lbs[_key(lb.id)] = lb

    @precondition(lambda self: self.eps)
    @rule(data=st.data())
    def create_v1_load_balancer(self, data: st.DataObject) -> None:
        """The same through V1 (``POST /policylists/`` with one ELB policy, as hcsshim's
        ``AddLoadBalancer``): one store, so the invariants see it like any other; this
        also gives load balancers twice the weight among the rules."""
        ids = [e.id for e in self.eps.values()]
        members = data.draw(st.lists(st.sampled_from(ids), min_size=1, unique=True))
        proto = data.draw(st.sampled_from([6, 17]))
        ext = data.draw(st.sampled_from(PORTS))
        internal = data.draw(hs.ports(allow_zero=False))
        vip = data.draw(st.sampled_from([None, *VIPS]))
        elb: dict[str, Any] = {"Type": "ELB", "Protocol": proto, "InternalPort": internal,
                               "ExternalPort": ext}
        if vip:
            elb["VIPs"] = [vip]
        body = {"References": [f"/endpoints/{i}" for i in members], "Policies": [elb]}
        v2 = {"HostComputeEndpoints": members, "FrontendVIPs": [vip] if vip else [],
              "PortMappings": [{"Protocol": proto, "InternalPort": internal,
                                "ExternalPort": ext}]}
        lb = Lb("", members, [vip] if vip else [], [(proto, ext, internal)], False, v2)
        if self._clashes(lb):
            with pytest.raises(PortAlreadyExists):
                self.client.create_policy_list(body)
            return
        created = self.client.create_policy_list(body)
        lb.id = created["ID"]
        self.lbs[_key(lb.id)] = lb

    @precondition(lambda self: self.lbs and self.eps)
    @rule(data=st.data())
    def modify_load_balancer_backends(self, data: st.DataObject) -> None:
        """HcnModifyLoadBalancer with the whole LB and a new backend set (HNS 15.4)."""
        lb = self.lbs[data.draw(st.sampled_from(list(self.lbs)))]
        ids = [e.id for e in self.eps.values()]
        members = data.draw(st.lists(st.sampled_from(ids), min_size=1, unique=True))
        body = {**lb.body, "HostComputeEndpoints": members}
        self.client.hcn_modify_load_balancer(lb.id, body)
        lb.endpoints, lb.body = members, body
        got = self.client.hcn_query_load_balancer_properties(lb.id)
        assert sorted(map(_key, got["HostComputeEndpoints"])) == sorted(map(_key, members))

    @precondition(lambda self: any(not e.remote for e in self.eps.values()))
    @rule(data=st.data())
    def add_acls(self, data: st.DataObject) -> None:
        local = [k for k, e in self.eps.items() if not e.remote]
        ep = self.eps[data.draw(st.sampled_from(local))]
        acls = data.draw(hs.acl_policies(max_size=3))
        new = [p for p in acls if p not in ep.policies]
        request = {"ResourceType": "Policy", "RequestType": "Add",
                   "Settings": {"Policies": new}}
        failure: HnsError | None = None
        try:
            self.client.hcn_modify_endpoint(ep.id, request)
        except HnsError as exc:
            failure = exc
        if failure is not None:  # only an ACL equal to one it holds after normalisation
            assert failure.hresult == 0x803B0012, failure
        ep.policies = self.client.hcn_query_endpoint_properties(ep.id).get("Policies", [])

    @precondition(lambda self: self.eps)
    @rule(data=st.data())
    def delete_endpoint(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(list(self.eps)))
        self.client.hcn_delete_endpoint(self.eps[key].id)
        del self.eps[key]
        self.deleted_eps.add(key)

    @precondition(lambda self: self.lbs)
    @rule(data=st.data())
    def delete_load_balancer(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(list(self.lbs)))
        self.client.hcn_delete_load_balancer(self.lbs.pop(key).id)

    def _drop_network(self, key: str) -> None:
        del self.nets[key]
        for ep_key in [k for k, e in self.eps.items() if _key(e.net) == key]:
            del self.eps[ep_key]
            self.deleted_eps.add(ep_key)

    @precondition(lambda self: len(self.nets) > 1)
    @rule(data=st.data())
    def delete_network(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(list(self.nets)))
        self.client.hcn_delete_network(self.nets[key].id)
        self._drop_network(key)

    @precondition(lambda self: self.restarts < MAX_RESTARTS_PER_EXAMPLE)
    @rule()
    def restart_emulator(self) -> None:
        self.client.close()
        self.server.restart()
        self.restarts += 1
        self.client = HnsClient(self.server.url)

    @precondition(lambda self: self.reboots < MAX_REBOOTS_PER_EXAMPLE)
    @rule()
    def reboot_host(self) -> None:
        self.reboots += 1
        self.client.reboot()
        for key in [k for k, n in self.nets.items() if n.non_persistent]:
            self._drop_network(key)

    # -- invariants ----------------------------------------------------------------

    @invariant()
    def count_step(self) -> None:
        global STEPS
        STEPS += 1

    @invariant()
    def server_matches_model_and_rules_hold(self) -> None:
        state = self.client.dump_state()["Objects"]
        nets = {_key(n["ID"]) for n in state["network"]}
        eps = {_key(e["ID"]): e for e in state["endpoint"]}
        lbs = {_key(lb["ID"]): lb for lb in state["loadbalancer"]}
        assert nets == set(self.nets)
        assert set(eps) == set(self.eps)
        assert set(lbs) == set(self.lbs)

        # No two load balancers hold one (VIP, protocol, port).
        held: dict[tuple[int, int, str], str] = {}
        for key, lb in lbs.items():
            for pm in lb["PortMappings"]:
                for vip in lb.get("FrontendVIPs") or [""]:
                    slot = (pm["Protocol"], pm["ExternalPort"], vip)
                    assert slot not in held, (slot, key, held.get(slot))
                    held[slot] = key
        for proto, port, vip in held:
            if vip == "":
                owners = {o for (p, q, _), o in held.items() if (p, q) == (proto, port)}
                assert len(owners) == 1, (proto, port, owners)

        # Every LB's endpoints exist, or were deleted after it was made.
        for lb in lbs.values():
            for ep in lb["HostComputeEndpoints"]:
                assert _key(ep) in eps or _key(ep) in self.deleted_eps, ep

        # No IP handed out twice (per network, locals apart from remotes).
        seen: set[tuple[str, bool, str]] = set()
        for ep in eps.values():
            remote = bool(ep.get("Flags", 0) & 1)
            for config in ep.get("IpConfigurations", []):
                slot = (_key(ep["HostComputeNetwork"]), remote, config["IpAddress"])
                assert slot not in seen, slot
                seen.add(slot)

        self._check_vfp(eps, lbs)

    def _check_vfp(self, eps: dict[str, Any], lbs: dict[str, Any]) -> None:
        ports = self.client.request("GET", "/vfp/ports")["Ports"]
        by_ep: dict[str, list[str]] = {}
        for port in ports:
            if port["Endpoint"]:
                by_ep.setdefault(_key(port["Endpoint"]), []).append(port["Id"])
        local = {k for k, e in eps.items() if not e.get("Flags", 0) & 1}
        assert set(by_ep) == local
        assert all(len(ids) == 1 for ids in by_ep.values())
        live = {k for k, e in eps.items() if e.get("IpConfigurations")}
        expected_lb = self._expected_lb_rules(lbs, live)
        for key in local:
            ep = self.eps[key]
            layers = self.client.request("GET", f"/vfp/ports/{by_ep[key][0]}/rules")["Layers"]
            self._check_port(ep, {layer["FriendlyName"]: layer for layer in layers},
                             expected_lb)

    @staticmethod
    def _expected_lb_rules(lbs: dict[str, Any], live: set[str]) -> set[str]:
        """One rule per (VIP, port mapping) of each LB with a live backend, keyed as
        ``_lb_rule_key`` reads rule names; VIP-less LBs answer on the host's address."""
        out = set()
        for lb in lbs.values():
            if not any(_key(e) in live for e in lb["HostComputeEndpoints"]):
                continue
            lb_id = lb["ID"].replace("-", "").lower()  # V1-made ids are upper case
            dsr = "DSR:" if lb.get("Flags", 0) & 1 else ""
            for pm in lb["PortMappings"]:
                for vip in lb.get("FrontendVIPs") or [HnsService.HOST_IP]:
                    out.add(f"{dsr}{lb_id}_{vip}_{pm['ExternalPort']}_{pm['InternalPort']}_"
                            f"{pm['Protocol']}")
        return out

    def _check_port(self, ep: Ep, layers: dict[str, Any], expected_lb: set[str]) -> None:
        net = self.nets[_key(ep.net)]
        wanted = set(BASE_LAYERS) | (set(OVERLAY_LAYERS) if net.type == "Overlay" else set())
        assert set(layers) == wanted, (net.type, sorted(layers))
        switch_acls = [p["Settings"] for p in ep.policies if p["Type"] == "ACL"
                       and p["Settings"].get("RuleType", "Switch") == "Switch"]
        acl_layer = layers["ACL_ENDPOINT_LAYER"]
        assert ("Default Allow" in acl_layer["FlagNames"]) == (not switch_acls)
        groups = {g["FriendlyName"]: g for g in acl_layer["Groups"]}
        for direction in ("In", "Out"):
            mine = [s for s in switch_acls if s["Direction"] == direction]
            v4 = sum(1 for s in mine if _families(s) & {4})
            v6 = sum(1 for s in mine if _families(s) & {6})
            suffix = direction.upper()
            assert len(groups[f"ACL_ENDPOINT_GROUP_IPV4_{suffix}"]["Rules"]) == v4
            assert len(groups[f"ACL_ENDPOINT_GROUP_IPV6_{suffix}"]["Rules"]) == v6
        nat_out = {g["FriendlyName"]: g for g in layers["SLB_NAT_LAYER"]["Groups"]}[
            "SLB_GROUP_NAT_IPv4_OUT"]
        has_outbound_nat = any(p["Type"] == "OutBoundNAT" for p in ep.policies)
        # A DSR backend's port also holds ALLOW_NAT_<lb>_<VIP>_<Ext>_<Proto> there
        # (networkhealth.ps1), OutBoundNAT or not; the OutBoundNAT rules are the others.
        nat_rules = [r for r in nat_out["Rules"]
                     if not r["FriendlyName"].startswith("ALLOW_NAT_")
                     or r["FriendlyName"].startswith("ALLOW_NAT_EXCEPTION_")]
        assert bool(nat_rules) == has_outbound_nat
        got = set()
        for layer in ("SLB_LB_LAYER", "LB_DSR"):
            for group in layers[layer]["Groups"]:
                for r in group["Rules"]:
                    got.add(_lb_rule_key(r["FriendlyName"]))
        assert got == expected_lb, (sorted(got), sorted(expected_lb))


def _families(acl: dict[str, Any]) -> set[int]:
    """Address families an ACL can match: those of its addresses, or both without any."""
    addresses = [a for key in ("LocalAddresses", "RemoteAddresses")
                 for a in str(acl.get(key, "")).split(",") if a.strip()]
    if not addresses:
        return {4, 6}
    return {ipaddress.ip_network(a.strip(), strict=False).version for a in addresses}


def _lb_rule_key(name: str) -> str:
    """``LB_<id>_<vip>_<ext>_<int>_<proto>`` / ``NAT_<id>_...`` -> ``<id>_<vip>_...``;
    ``LB_DSR_<id>_<mgmt>_<vip>_...`` -> ``DSR:<id>_<vip>_...``; the id in lower case (V1
    ids are upper case), the ``_ILB`` / ``_PDIP`` tags of port-mapping flags dropped."""
    for tag in ("_PDIP", "_ILB"):
        name = name.removesuffix(tag)
    if name.startswith("LB_DSR_"):
        lb_id, _mgmt, tail = name[len("LB_DSR_"):].split("_", 2)
        return f"DSR:{lb_id.lower()}_{tail}"
    _head, lb_id, tail = name.split("_", 2)
    return f"{lb_id.lower()}_{tail}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    global SERVER
    path: Path = tmp_path_factory.mktemp("stateful") / "hns.sqlite"
    with EmulatorServer(state=path) as started:
        SERVER = started
        try:
            yield started
        finally:
            SERVER = None


def test_stateful_http_api_keeps_its_invariants(server: EmulatorServer) -> None:
    global STEPS
    STEPS = 0
    config = settings(max_examples=MIN_STEPS // STEPS_PER_EXAMPLE + 2,
                      stateful_step_count=STEPS_PER_EXAMPLE, deadline=None,
                      database=None,
                      # no explain phase: its line tracing makes each replay several
                      # times slower against a live server
                      phases=(Phase.explicit, Phase.generate, Phase.shrink),
                      suppress_health_check=[HealthCheck.too_slow,
                                             HealthCheck.filter_too_much])
    rounds = 0
    while STEPS < MIN_STEPS and rounds < 4:
        run_state_machine_as_test(HnsMachine, settings=config)
        rounds += 1
    assert STEPS >= MIN_STEPS


def test_stateful_lb_rule_names_parse() -> None:
    lb = "4a0f7e11900c42d88f593ceb34a37c37"
    assert _lb_rule_key(f"LB_{lb}_10.96.0.10_80_8080_6") == f"{lb}_10.96.0.10_80_8080_6"
    assert _lb_rule_key(f"NAT_{lb}_10.96.0.10_80_8080_6") == f"{lb}_10.96.0.10_80_8080_6"
    assert _lb_rule_key(f"LB_DSR_{lb}_172.16.0.4_10.96.0.10_80_80_17") == (
        f"DSR:{lb}_10.96.0.10_80_80_17")
    assert _lb_rule_key(f"NAT_{lb}_10.96.0.10_80_80_6_ILB_PDIP") == f"{lb}_10.96.0.10_80_80_6"
    assert _lb_rule_key(f"LB_{lb.upper()}_10.96.0.10_80_80_6") == f"{lb}_10.96.0.10_80_80_6"
    assert json.dumps(sorted(_families({"RemoteAddresses": "10.0.0.0/8"}))) == "[4]"


class InProcessServer:
    """The same HTTP API without a process: ``api.app`` over an in-process ``Host`` on an
    SQLite file, driven through Starlette's TestClient.  ``restart`` is a new Host on the
    same file (what the process restart does, minus a second of start-up), so this variant
    can afford many more steps and restarts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.host: Host | None = None
        self._open()

    def _open(self) -> None:
        self.host = Host(state=str(self.path))
        self.http = TestClient(create_app(self.host))

    @property
    def url(self) -> str:
        return "http://testserver"

    def client(self) -> HnsClient:
        return HnsClient(http=self.http)

    def reset(self) -> None:
        self.client().reset()

    def restart(self) -> None:
        self.close()
        self._open()

    def close(self) -> None:
        self.http.close()
        if self.host is not None:
            self.host.close()
            self.host = None


class InProcessMachine(HnsMachine):
    def __init__(self) -> None:
        assert IN_PROCESS is not None
        RuleBasedStateMachine.__init__(self)
        self.server = IN_PROCESS  # type: ignore[assignment]
        self.server.reset()
        self.client = IN_PROCESS.client()
        self.nets, self.eps, self.lbs = {}, {}, {}
        self.deleted_eps = set()
        self.restarts = self.reboots = 0

    @precondition(lambda self: self.restarts < 3)
    @rule()
    def restart_emulator(self) -> None:
        assert IN_PROCESS is not None
        IN_PROCESS.restart()
        self.restarts += 1
        self.client = IN_PROCESS.client()


IN_PROCESS: InProcessServer | None = None


def test_stateful_in_process_keeps_its_invariants_over_more_steps(tmp_path: Path) -> None:
    global IN_PROCESS, STEPS
    IN_PROCESS = InProcessServer(tmp_path / "hns.sqlite")
    STEPS = 0
    config = settings(max_examples=10, stateful_step_count=40, deadline=None, database=None,
                      phases=(Phase.explicit, Phase.generate, Phase.shrink),
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    try:
        rounds = 0
        while STEPS < 2 * MIN_STEPS and rounds < 4:
            run_state_machine_as_test(InProcessMachine, settings=config)
            rounds += 1
    finally:
        IN_PROCESS.close()
        IN_PROCESS = None
    assert STEPS >= 2 * MIN_STEPS
