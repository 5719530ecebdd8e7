"""Emulated container hosts: one host (HNS, VFP switch, compiler, vSwitch, containers) and
a cluster of them on one underlay. `from hns.hosts import Host, Cluster`."""

from hns.hosts.cluster import Cluster
from hns.hosts.host import Host, parse_underlay_spec
from hns.hosts.results import Delivery, Hop, InjectResult

__all__ = ["Cluster", "Delivery", "Hop", "Host", "InjectResult", "parse_underlay_spec"]
