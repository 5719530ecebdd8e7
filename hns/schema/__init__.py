"""Typed models (pydantic v2) of every HNS object, policy and answer body, under the names
HNS writes.  What they describe is what hns/model/ and hns/policies.py accept and return;
the API publishes them as its OpenAPI schemas (api/openapi.py).  Requests are parsed
through them (request.py: each field's HNS check and HRESULT): namespace, load balancer and
SDN route creates (V2, and V1 namespaces and policy lists), endpoints (V1 and V2), networks
(V2, and V1's MacPools, Subnets and DNS fields), DNS and subnet modify requests, and every
policy's settings (policy.py; V1's flat policies through their V1 models in v1.py, then
their V2 twins; hns/policies.py picks the model by type).  Elsewhere the models are the
documented contract and the tests' oracle of the wire shape.

Modules: base (HnsModel), request (parsing a request through a model), common (nested V2
types), policy (every policy type's settings), network, endpoint, loadbalancer, namespace,
route (the V2 objects), v1 (the V1 shapes), errors (the V1 envelope and the V2 error
record).
"""

from __future__ import annotations

from hns.schema.base import HnsModel
from hns.schema.common import (
    Dns,
    Health,
    Ipam,
    IpConfig,
    MacPool,
    MacRange,
    Route,
    SchemaVersion,
    Subnet,
)
from hns.schema.endpoint import HostComputeEndpoint
from hns.schema.errors import HnsErrorRecord, V1Envelope
from hns.schema.loadbalancer import HostComputeLoadBalancer, LoadBalancerPortMapping
from hns.schema.namespace import HostComputeNamespace, NamespaceResource
from hns.schema.network import HostComputeNetwork
from hns.schema.policy import (
    ENDPOINT_POLICY_MODELS,
    NETWORK_POLICY_MODELS,
    SUBNET_POLICY_MODELS,
    EndpointPolicy,
    NetworkPolicy,
    SubnetPolicy,
)
from hns.schema.route import HostComputeRoute
from hns.schema.v1 import (
    V1_POLICY_MODELS,
    V1Endpoint,
    V1EndpointAttachDetachRequest,
    V1Namespace,
    V1Network,
    V1Policy,
    V1PolicyList,
)

__all__ = [
    "ENDPOINT_POLICY_MODELS",
    "NETWORK_POLICY_MODELS",
    "SUBNET_POLICY_MODELS",
    "V1_POLICY_MODELS",
    "V2_MODELS",
    "Dns",
    "EndpointPolicy",
    "Health",
    "HnsErrorRecord",
    "HnsModel",
    "HostComputeEndpoint",
    "HostComputeLoadBalancer",
    "HostComputeNamespace",
    "HostComputeNetwork",
    "HostComputeRoute",
    "IpConfig",
    "Ipam",
    "LoadBalancerPortMapping",
    "MacPool",
    "MacRange",
    "NamespaceResource",
    "NetworkPolicy",
    "Route",
    "SchemaVersion",
    "Subnet",
    "SubnetPolicy",
    "V1Endpoint",
    "V1EndpointAttachDetachRequest",
    "V1Envelope",
    "V1Namespace",
    "V1Network",
    "V1Policy",
    "V1PolicyList",
]

# The V2 object model of each kind (hns/store/sqlite.py KINDS).
V2_MODELS: dict[str, type[HnsModel]] = {
    "network": HostComputeNetwork,
    "endpoint": HostComputeEndpoint,
    "loadbalancer": HostComputeLoadBalancer,
    "namespace": HostComputeNamespace,
    "route": HostComputeRoute,
}
