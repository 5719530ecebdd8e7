"""The Host Networking Service: networks, endpoints, load balancers, namespaces, routes,
policies, IPAM, the state store and errors with real HRESULTs.

Entry points: :class:`hns.service.HnsService` (``hns_call`` = V1 HNSCall, ``hcn_call`` =
V2 Hcn*) and the error tree in :mod:`hns.errors`.  See docs/hns.md.
"""

from hns.errors import HnsError
from hns.service import HnsService

__all__ = ["HnsError", "HnsService"]
