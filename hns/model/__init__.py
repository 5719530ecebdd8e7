"""The object model: parse V1 / V2 JSON into one stored form, and write it back as V1 or V2.

Glossary (the stored form is the V2 shape plus private ``_`` keys):
    Network       ``ID Name Type Flags Policies MacPool Dns Ipams``; subnets carry ``ID``.
    Endpoint      ``ID Name HostComputeNetwork HostComputeNamespace Policies
                  IpConfigurations Dns Routes MacAddress Flags State SharedContainers``.
    LoadBalancer  ``ID HostComputeEndpoints SourceVIP FrontendVIPs PortMappings Flags``;
                  V1 sees it as a policy list of ELB policies.
    Namespace     ``ID NamespaceId Type Resources``.
    Route         ``ID HostComputeEndpoints Routes`` (SDN route); V1 sees a policy list of
                  ROUTE policies.
    ``_v1``       V1 fields the model does not interpret (ActivityId, Resources, Health,
                  Extensions, ...): generated once at create, or kept from the input, and
                  written back verbatim in V1 output so captures round-trip.

Every parse function raises only HnsError; every render function is pure.  Modules: one
per object kind (``network``, ``endpoint``, ``loadbalancer`` with SDN routes and V1 policy
lists, ``namespace``) over ``common``; every public name is importable from ``hns.model``.
"""

from __future__ import annotations

from hns.model.common import (
    DEFAULT_EXTENSIONS,
    EP_DISABLE_ICC,
    EP_LOW_METRIC,
    EP_REMOTE,
    LB_DSR,
    LB_IPV6,
    NAMESPACE_TYPES,
    NET_DISABLE_HOST_PORT,
    NET_ENABLE_NON_PERSISTENT,
    NETWORK_TYPES,
    PM_ILB,
    PM_LOCAL_ROUTED_VIP,
    STATE_ATTACHED,
    STATE_ATTACHED_SHARING,
    STATE_CREATED,
    STATE_DEGRADED,
    STATE_DETACHED,
    ip_in_subnet,
    is_v1_settings,
    new_guid,
    parse_query,
)
from hns.model.endpoint import (
    ENDPOINT_V1_KEYS,
    endpoint_v1,
    endpoint_v2,
    parse_endpoint,
)
from hns.model.loadbalancer import (
    POLICYLIST_V1_KEYS,
    load_balancer_v1,
    load_balancer_v2,
    parse_load_balancer,
    parse_policy_list,
    parse_route,
    route_v1,
    route_v2,
)
from hns.model.namespace import (
    namespace_v1,
    namespace_v2,
    parse_namespace,
)
from hns.model.network import (
    NETWORK_V1_KEYS,
    int_to_mac,
    mac_to_int,
    network_v1,
    network_v1_type,
    network_v2,
    parse_network,
    subnet_gateway,
    subnets_of,
)

__all__ = [
    "DEFAULT_EXTENSIONS",
    "ENDPOINT_V1_KEYS",
    "EP_DISABLE_ICC",
    "EP_LOW_METRIC",
    "EP_REMOTE",
    "LB_DSR",
    "LB_IPV6",
    "NAMESPACE_TYPES",
    "NETWORK_TYPES",
    "NETWORK_V1_KEYS",
    "NET_DISABLE_HOST_PORT",
    "NET_ENABLE_NON_PERSISTENT",
    "PM_ILB",
    "PM_LOCAL_ROUTED_VIP",
    "POLICYLIST_V1_KEYS",
    "STATE_ATTACHED",
    "STATE_ATTACHED_SHARING",
    "STATE_CREATED",
    "STATE_DEGRADED",
    "STATE_DETACHED",
    "endpoint_v1",
    "endpoint_v2",
    "int_to_mac",
    "ip_in_subnet",
    "is_v1_settings",
    "load_balancer_v1",
    "load_balancer_v2",
    "mac_to_int",
    "namespace_v1",
    "namespace_v2",
    "network_v1",
    "network_v1_type",
    "network_v2",
    "new_guid",
    "parse_endpoint",
    "parse_load_balancer",
    "parse_namespace",
    "parse_network",
    "parse_policy_list",
    "parse_query",
    "parse_route",
    "route_v1",
    "route_v2",
    "subnet_gateway",
    "subnets_of",
]
