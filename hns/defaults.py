"""What HNS fills in that the caller did not give: the values real hosts write on create.

Each function here decides one default from evidence (docs/fidelity.md has the rows):
    dr_mac_policy      the DrMacAddress of Overlay networks (flannel cannot start without it).
    endpoint_name      the name of an endpoint created without one.

Functions are pure apart from drawing random numbers; the service calls them while it
plans a create, under its lock, before anything is written.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

Json = dict[str, Any]

# Real hosts give a DR MAC to Overlay networks (observed: real/sdn-kubecluster-get-
# hnsnetwork-overlay-formatlist.txt, real/v1-get-networks-overlay-vsid-and-nat...). NAT,
# Internal and Transparent networks show none (real/v1-post-networks-nat-response.json,
# real/moby-40345..., real/docker-forwin-8226...).
DR_MAC_TYPES = frozenset({"Overlay"})

# The Hyper-V OUI every HNS-made MAC starts with.
_HYPERV_OUI = 0x00155D

# The name real HNS gives an endpoint created without one: the hnsdiag listings of
# flannel (real/sdn-kubecluster-hnsdiag-list-all.txt) and EKS l2bridge nodes
# (real/sigwin-168-hnsdiag-list-all-l2bridge.txt) show kube-proxy's and the plugins'
# nameless endpoints as "Ethernet".
DEFAULT_ENDPOINT_NAME = "Ethernet"


def _mac_text(value: int) -> str:
    raw = f"{value:012X}"
    return "-".join(raw[i:i + 2] for i in range(0, 12, 2))


def _mac_int(text: str) -> int:
    return int(text.replace("-", "").replace(":", ""), 16)


def dr_mac_policy(network: Json, others: Iterable[Json]) -> Json | None:
    """A DrMacAddress policy for ``network`` if HNS would give it one and it has none.

    Both real samples show a 00-15-5D MAC *outside* the network's own MAC pool
    (pool 00-15-5D-1B-F0-00..FF-FF, DR MAC 00-15-5D-7B-82-55; pool 00-15-5D-69-30-00..
    3F-FF, DR MAC 00-15-5D-BB-6E-B1), so the DR MAC is drawn from the Hyper-V OUI away
    from every network's pool and from every other network's DR MAC.
    """
    if network["Type"] not in DR_MAC_TYPES:
        return None
    if any(p.get("Type") == "DrMacAddress" for p in network.get("Policies", [])):
        return None
    taken: set[int] = set()
    pools: list[tuple[int, int]] = []
    for net in [network, *others]:
        for rng in net.get("MacPool", {}).get("Ranges") or []:
            pools.append((_mac_int(rng["StartMacAddress"]), _mac_int(rng["EndMacAddress"])))
        for pol in net.get("Policies", []):
            if pol.get("Type") == "DrMacAddress":
                address = pol.get("Settings", {}).get("Address")
                if isinstance(address, str):
                    taken.add(_mac_int(address))
    for _ in range(1024):
        value = (_HYPERV_OUI << 24) | random.randrange(1 << 24)
        if value in taken or any(lo <= value <= hi for lo, hi in pools):
            continue
        return {"Type": "DrMacAddress", "Settings": {"Address": _mac_text(value)}}
    raise RuntimeError("no free DR MAC in 00-15-5D")  # unreachable with < 10^6 networks
