"""Hypothesis strategies for HNS objects: valid ones the emulator accepts, invalid ones each
paired with the HRESULT HNS answers, and packets aimed at what they create.

Every object is the V2 (HCN) settings document a client sends to ``HcnCreate*`` (or, for
policies, one item of ``Policies``).  Strategies that build on a created object take it as
an argument (``endpoints(network)`` needs the network as HNS returned it, with its ``ID``
and ``Ipams``); ``st.data()`` draws them in order inside a test.

Distributions.  Each strategy's docstring states its own; the common rule is that edge
values are drawn about half the time from a short list (``one_of(sampled_from(edges),
full_range)``), so hypothesis meets them in the first few examples:

    VSID / VNI          4096, 4097, 5000, 16777214, 16777215, else uniform 4096..2^24-1
    port                0, 1, 80, 443, 65535, else uniform 0..65535 (1.. where 0 is invalid)
    ACL priority        0, 100, 65500, 65535, else uniform 0..65535
    prefix length       /0 and /32 where the field allows them (ACL addresses, remote
                        subnet routes, SDN routes); network subnets /8../30 with /16, /24,
                        /30 oversampled (an endpoint must fit)
    subnets             drawn from a small pool of bases, so two networks often overlap

Modules: ``common`` (helpers, scalars), ``objects`` (valid objects), ``packets`` (flows,
frames), ``invalid`` (invalid objects with their HRESULT); import them from here.

Nothing here talks to an emulator; the tests in tests/testing/ prove every valid object is
accepted and every invalid one refused with its HRESULT, on the default profile.  Options
that depend on a host profile (DSR, DistributionType) take ``profile=``.
"""

from __future__ import annotations

from hns.testing.strategies.common import (
    LB_PORT_MAPPING_FLAGS,
    NETWORK_TYPES,
    SCHEMA_V2,
    address_lists,
    ipv4_addresses,
    ipv4_prefixes,
    macs,
    network_names,
    port_ranges,
    ports,
    priorities,
    vsids,
)
from hns.testing.strategies.invalid import (
    Invalid,
    invalid_acl_policies,
    invalid_endpoints,
    invalid_load_balancers,
    invalid_networks,
    invalid_remote_subnet_routes,
)
from hns.testing.strategies.objects import (
    acl_policies,
    acl_policy,
    endpoint_ips,
    endpoints,
    load_balancers,
    networks,
    overlapping_subnets,
    remote_endpoints,
    remote_subnet_routes,
    subnets,
)
from hns.testing.strategies.packets import (
    Flow,
    flows,
    flows_to_endpoint,
    flows_to_load_balancer,
    flows_to_remote_subnet,
    frames,
)

__all__ = [
    "LB_PORT_MAPPING_FLAGS",
    "NETWORK_TYPES",
    "SCHEMA_V2",
    "Flow",
    "Invalid",
    "acl_policies",
    "acl_policy",
    "address_lists",
    "endpoint_ips",
    "endpoints",
    "flows",
    "flows_to_endpoint",
    "flows_to_load_balancer",
    "flows_to_remote_subnet",
    "frames",
    "invalid_acl_policies",
    "invalid_endpoints",
    "invalid_load_balancers",
    "invalid_networks",
    "invalid_remote_subnet_routes",
    "ipv4_addresses",
    "ipv4_prefixes",
    "load_balancers",
    "macs",
    "network_names",
    "networks",
    "overlapping_subnets",
    "port_ranges",
    "ports",
    "priorities",
    "remote_endpoints",
    "remote_subnet_routes",
    "subnets",
    "vsids",
]
