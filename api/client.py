"""The Python HTTP client of the emulator: one method per HNS (V1) and HCN (V2) operation.

Failures raise the ``hns.errors`` class of the HRESULT the server sent, so a test can
write ``with pytest.raises(PortAlreadyExists):``; the exception keeps ``.hresult`` and the
exact Windows ``.message``, and ``.detail`` carries the emulator's reason (the
``X-HNS-Emulator-Detail`` header: field, bad value, accepted values). A server that cannot
be reached (connection refused or reset, timeout) raises :class:`ServerUnavailable`, an
``HnsError`` with HRESULT 0x800706BA (RPC_S_SERVER_UNAVAILABLE, what a client of a stopped
HNS gets), so a retry loop written for HNS errors sees it; it is also an instance of the
``httpx`` error behind it (``ConnectError``, ``ReadTimeout``, ...) for code written
against the transport.

Naming: V1 methods carry the HNSCall object names (``create_network``, ``attach_endpoint``,
``create_policy_list``); V2 methods are the computenetwork.dll exports in snake case with
an ``hcn_`` prefix (``hcn_create_network`` = ``HcnCreateNetwork``). Bodies may be given as
a dict (encoded here) or as JSON text (sent byte for byte, so a test can send bad JSON).

The server comes from ``url=`` or ``HNS_EMULATOR_URL`` (default
``http://127.0.0.1:5588``); the bearer token from ``token=`` or ``HNS_EMULATOR_TOKEN``.
"""

from __future__ import annotations

import json
import os
from types import TracebackType
from typing import Any, Final, cast

import httpx

from api.detail import DETAIL_HEADER
from api.wire import DEFAULT_QUERY, E_FAIL, error_from_body, is_error_body
from hns.errors import HnsError, RpcServerUnavailable, error_for_hresult

__all__ = [
    "DEFAULT_URL",
    "HnsClient",
    "HnsError",
    "JsonBody",
    "ServerUnavailable",
    "raise_for_body",
]

DEFAULT_URL: Final[str] = "http://127.0.0.1:5588"

#: A request body: an object to encode, or JSON text sent as given.
JsonBody = dict[str, Any] | list[Any] | str | None


def _encode(body: JsonBody) -> bytes | None:
    if body is None:
        return None
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def _query_text(query: dict[str, Any] | str | None) -> str:
    if query is None:
        return DEFAULT_QUERY
    return query if isinstance(query, str) else json.dumps(query)


class ServerUnavailable(RpcServerUnavailable, httpx.TransportError):
    """The emulator could not be reached: HRESULT 0x800706BA, with the transport's reason
    in ``.detail`` (``"cannot reach http://...: ConnectError: [Errno 111] ..."``)."""


_BY_CAUSE: dict[type[httpx.TransportError], type[ServerUnavailable]] = {}


def _unavailable(url: str, exc: httpx.TransportError) -> ServerUnavailable:
    """The ServerUnavailable for ``exc``; also an instance of ``exc``'s own class, so code
    that catches ``httpx.ReadTimeout`` or ``httpx.ConnectError`` keeps working."""
    cause = type(exc)
    cls = _BY_CAUSE.get(cause)
    if cls is None:
        cls = cast(type[ServerUnavailable], type(
            "ServerUnavailable", (ServerUnavailable, cause), {"__module__": __name__}))
        _BY_CAUSE[cause] = cls
    reason = " ".join(str(exc).split()) or "no answer"
    return cls(detail=f"cannot reach {url}: {cause.__name__}: {reason}")


def _with_detail(err: HnsError, response: httpx.Response) -> HnsError:
    detail = response.headers.get(DETAIL_HEADER)
    if detail:
        err.detail = detail
    return err


class HnsClient:
    """A synchronous client of one emulator.

    ``http`` lets a test hand in a ready ``httpx.Client`` (for example Starlette's
    ``TestClient`` over an in-process app); otherwise one is made for ``url``.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.url = (url or os.environ.get("HNS_EMULATOR_URL") or DEFAULT_URL).rstrip("/")
        token = token if token is not None else os.environ.get("HNS_EMULATOR_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if http is None:
            self._http = httpx.Client(base_url=self.url, timeout=timeout, headers=headers)
            self._owned = True
        else:
            http.headers.update(headers)
            self._http = http
            self._owned = False
        #: The X-HNS-Emulator-Detail of the last answer (the call mirrors answer 200 with
        #: the failure inside, so the detail is read from the header after the fact).
        self._last_detail: str | None = None

    # -- plumbing --------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP connections (only those this client opened itself)."""
        if self._owned:
            self._http.close()

    def __enter__(self) -> HnsClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        body: JsonBody = None,
        *,
        params: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """One HTTP request; the decoded JSON answer, or None for an empty one.

        Raises the HnsError subclass of the answer's HRESULT on any HNS-shaped failure.
        """
        content = _encode(body)
        headers = {"Content-Type": content_type} if content is not None else None
        try:
            response = self._http.request(
                method, path, content=content, params=params, headers=headers
            )
        except httpx.TransportError as exc:
            raise _unavailable(self.url, exc) from exc
        self._last_detail = response.headers.get(DETAIL_HEADER)
        if not response.content:
            if response.is_error:
                raise _with_detail(error_for_hresult(E_FAIL, f"HTTP {response.status_code}"),
                                   response)
            return None
        try:
            data = response.json()
        except ValueError:
            raise error_for_hresult(E_FAIL, f"HTTP {response.status_code}: not JSON") from None
        if response.is_error or is_error_body(data):
            if is_error_body(data):
                raise _with_detail(error_from_body(data), response)
            raise _with_detail(error_for_hresult(E_FAIL, f"HTTP {response.status_code}"),
                               response)
        return data

    def _v1(self, method: str, path: str, body: JsonBody = None) -> Any:
        envelope = self.request(method, path, body)
        if not isinstance(envelope, dict):
            raise error_for_hresult(E_FAIL, "answer is not a V1 envelope")
        return envelope.get("Output")

    # -- call mirrors ----------------------------------------------------------------

    def hns_call(self, method: str, path: str, request: JsonBody = None) -> Any:
        """One ``vmcompute.dll!HNSCall`` through ``POST /hnscall``; returns ``Output``."""
        text = request if isinstance(request, str) or request is None else json.dumps(request)
        envelope = self.request(
            "POST", "/hnscall", {"Method": method, "Path": path, "Request": text}
        )
        if is_error_body(envelope):  # pragma: no cover - request() already raised
            raise error_from_body(envelope)
        return envelope.get("Output")

    def hcn_call(self, function: str, id: str | None = None, settings: JsonBody = None) -> Any:
        """One ``computenetwork.dll!Hcn*`` call through ``POST /hcn/call``.

        Returns the decoded ``Properties`` (None when the call returns none).
        """
        text = settings if isinstance(settings, str) or settings is None else json.dumps(settings)
        answer = self.request(
            "POST", "/hcn/call", {"Function": function, "Id": id, "Settings": text}
        )
        if answer.get("HResult"):
            result = answer.get("Result")
            body = json.loads(result) if isinstance(result, str) else {}
            err = error_from_body(body) if is_error_body(body) else error_for_hresult(
                int(answer["HResult"]))
            err.detail = self._last_detail or err.detail
            raise err
        properties = answer.get("Properties")
        return None if properties is None else json.loads(properties)

    # -- V1 (HNSCall paths) ----------------------------------------------------------

    def globals_version(self) -> dict[str, int]:
        """``GET /globals/version``: the HNS version of the host profile, ``{"Major", "Minor"}``."""
        version: dict[str, int] = self._v1("GET", "/globals/version")
        return version

    def list_networks(self) -> list[dict[str, Any]]:
        """``GET /networks/``: every network as its V1 object."""
        return list(self._v1("GET", "/networks/") or [])

    def get_network(self, id: str) -> dict[str, Any]:
        """``GET /networks/<id>``: one network (V1); NetworkNotFound if there is none."""
        network: dict[str, Any] = self._v1("GET", f"/networks/{id}")
        return network

    def create_network(self, network: JsonBody) -> dict[str, Any]:
        """``POST /networks/``: create a network from a V1 body; the created network (V1)."""
        created: dict[str, Any] = self._v1("POST", "/networks/", network)
        return created

    def modify_network(self, id: str, request: JsonBody) -> Any:
        """``POST /networks/<id>`` (switch extension toggles)."""
        return self._v1("POST", f"/networks/{id}", request)

    def delete_network(self, id: str) -> None:
        """``DELETE /networks/<id>``: delete a network (its endpoints must be gone first)."""
        self._v1("DELETE", f"/networks/{id}")

    def list_endpoints(self) -> list[dict[str, Any]]:
        """``GET /endpoints/``: every endpoint, local and remote, as V1 objects."""
        return list(self._v1("GET", "/endpoints/") or [])

    def get_endpoint(self, id: str) -> dict[str, Any]:
        """``GET /endpoints/<id>``: one endpoint (V1); EndpointNotFound if there is none."""
        endpoint: dict[str, Any] = self._v1("GET", f"/endpoints/{id}")
        return endpoint

    def create_endpoint(self, endpoint: JsonBody) -> dict[str, Any]:
        """``POST /endpoints/``: create an endpoint from a V1 body (``VirtualNetwork`` names its
        network); the created endpoint.
        """
        created: dict[str, Any] = self._v1("POST", "/endpoints/", endpoint)
        return created

    def update_endpoint(self, id: str, endpoint: JsonBody) -> Any:
        """``POST /endpoints/<id>``: replaces the endpoint with ``endpoint``."""
        return self._v1("POST", f"/endpoints/{id}", endpoint)

    def delete_endpoint(self, id: str) -> None:
        """``DELETE /endpoints/<id>``: delete an endpoint (its VFP port goes with it)."""
        self._v1("DELETE", f"/endpoints/{id}")

    def attach_endpoint(self, id: str, request: JsonBody) -> Any:
        """``POST /endpoints/<id>/attach``: attach the endpoint to a container or VM
        (``{"ContainerId": ...}``).
        """
        return self._v1("POST", f"/endpoints/{id}/attach", request)

    def detach_endpoint(self, id: str, request: JsonBody) -> Any:
        """``POST /endpoints/<id>/detach``: detach the endpoint from its container or VM."""
        return self._v1("POST", f"/endpoints/{id}/detach", request)

    def endpoint_stats(self, id: str) -> dict[str, Any]:
        """``GET /endpointstats/<id>``: the endpoint's packet and byte counters (from its VFP port).
        """
        stats: dict[str, Any] = self._v1("GET", f"/endpointstats/{id}")
        return stats

    def list_policy_lists(self) -> list[dict[str, Any]]:
        """``GET /policylists/``: every V1 policy list (ELB load balancers and ROUTE lists)."""
        return list(self._v1("GET", "/policylists/") or [])

    def get_policy_list(self, id: str) -> dict[str, Any]:
        """``GET /policylists/<id>``: one policy list."""
        policy_list: dict[str, Any] = self._v1("GET", f"/policylists/{id}")
        return policy_list

    def create_policy_list(self, policy_list: JsonBody) -> dict[str, Any]:
        """``POST /policylists/``: create a policy list (``{"References": [...], "Policies":
        [...]}``).
        """
        created: dict[str, Any] = self._v1("POST", "/policylists/", policy_list)
        return created

    def delete_policy_list(self, id: str) -> None:
        """``DELETE /policylists/<id>``: delete a policy list."""
        self._v1("DELETE", f"/policylists/{id}")

    def list_namespaces(self) -> list[dict[str, Any]]:
        """``GET /namespaces/``: every namespace (V1 compartments)."""
        return list(self._v1("GET", "/namespaces/") or [])

    def get_namespace(self, id: str) -> dict[str, Any]:
        """``GET /namespaces/<id>``: one namespace."""
        namespace: dict[str, Any] = self._v1("GET", f"/namespaces/{id}")
        return namespace

    def create_namespace(self, namespace: JsonBody = None) -> dict[str, Any]:
        """``POST /namespaces/``: create a namespace (an empty body makes a host namespace)."""
        created: dict[str, Any] = self._v1("POST", "/namespaces/", namespace or {})
        return created

    def delete_namespace(self, id: str) -> None:
        """``DELETE /namespaces/<id>``: delete a namespace."""
        self._v1("DELETE", f"/namespaces/{id}")

    def add_namespace_resource(self, id: str, resource: JsonBody) -> Any:
        """``POST /namespaces/<id>/addresource``: add an endpoint (``{"ResourceType": "Endpoint",
        "Data": {...}}``).
        """
        return self._v1("POST", f"/namespaces/{id}/addresource", resource)

    def remove_namespace_resource(self, id: str, resource: JsonBody) -> Any:
        """``POST /namespaces/<id>/removeresource``: remove an endpoint from the namespace."""
        return self._v1("POST", f"/namespaces/{id}/removeresource", resource)

    # -- V2 (HCN) --------------------------------------------------------------------

    def _enumerate(self, kind: str, query: dict[str, Any] | str | None) -> list[str]:
        ids = self.request("GET", f"/hcn/{kind}", params={"query": _query_text(query)})
        return [str(i) for i in ids or []]

    def _create(self, kind: str, settings: JsonBody) -> dict[str, Any]:
        created: dict[str, Any] = self.request("POST", f"/hcn/{kind}", settings)
        return created

    def _query(self, kind: str, id: str, query: dict[str, Any] | str | None) -> dict[str, Any]:
        props: dict[str, Any] = self.request(
            "GET", f"/hcn/{kind}/{id}", params={"query": _query_text(query)}
        )
        return props

    def _modify(self, kind: str, id: str, request: JsonBody) -> None:
        self.request("POST", f"/hcn/{kind}/{id}/modify", request)

    def _delete(self, kind: str, id: str) -> None:
        self.request("DELETE", f"/hcn/{kind}/{id}")

    def _open(self, kind: str, id: str) -> None:
        # There is no REST route for a bare open; the call mirror does it exactly.
        singular = {
            "networks": "Network",
            "endpoints": "Endpoint",
            "loadbalancers": "LoadBalancer",
            "namespaces": "Namespace",
            "sdnroutes": "SdnRoute",
        }[kind]
        self.hcn_call(f"HcnOpen{singular}", id)

    def hcn_open_network(self, id: str) -> None:
        """``HcnOpenNetwork``: returns quietly when the network exists, raises otherwise."""
        self._open("networks", id)

    def hcn_open_endpoint(self, id: str) -> None:
        """``HcnOpenEndpoint``: returns quietly when the endpoint exists, raises otherwise."""
        self._open("endpoints", id)

    def hcn_open_load_balancer(self, id: str) -> None:
        """``HcnOpenLoadBalancer``: returns quietly when the load balancer exists, raises otherwise.
        """
        self._open("loadbalancers", id)

    def hcn_open_namespace(self, id: str) -> None:
        """``HcnOpenNamespace``: returns quietly when the namespace exists, raises otherwise."""
        self._open("namespaces", id)

    def hcn_open_sdn_route(self, id: str) -> None:
        """``HcnOpenSdnRoute``: returns quietly when the sdn route exists, raises otherwise."""
        self._open("sdnroutes", id)

    def hcn_enumerate_networks(self, query: dict[str, Any] | str | None = None) -> list[str]:
        """``HcnEnumerateNetworks`` (``GET /hcn/networks``): the ids matching ``query`` (a
        HostComputeQuery; default: all).
        """
        return self._enumerate("networks", query)

    def hcn_create_network(self, settings: JsonBody) -> dict[str, Any]:
        """``HcnCreateNetwork`` (``POST /hcn/networks``): create from HostComputeNetwork settings
        (an ``ID`` in them is kept); the created properties.
        """
        return self._create("networks", settings)

    def hcn_query_network_properties(
        self, id: str, query: dict[str, Any] | str | None = None
    ) -> dict[str, Any]:
        """``HcnQueryNetworkProperties`` (``GET /hcn/networks/<id>``): the properties ``query``
        selects.
        """
        return self._query("networks", id, query)

    def hcn_modify_network(self, id: str, request: JsonBody) -> None:
        """``HcnModifyNetwork`` (``POST /hcn/networks/<id>/modify``): a ModifyRequest
        (``ResourceType``, ``RequestType``, ``Settings``).
        """
        self._modify("networks", id, request)

    def hcn_delete_network(self, id: str) -> None:
        """``HcnDeleteNetwork`` (``DELETE /hcn/networks/<id>``)."""
        self._delete("networks", id)

    def hcn_enumerate_endpoints(self, query: dict[str, Any] | str | None = None) -> list[str]:
        """``HcnEnumerateEndpoints`` (``GET /hcn/endpoints``): the ids matching ``query`` (a
        HostComputeQuery; default: all).
        """
        return self._enumerate("endpoints", query)

    def hcn_create_endpoint(self, settings: JsonBody) -> dict[str, Any]:
        """``HcnCreateEndpoint`` (``POST /hcn/endpoints``): create from HostComputeEndpoint settings
        (an ``ID`` in them is kept); the created properties.
        """
        return self._create("endpoints", settings)

    def hcn_query_endpoint_properties(
        self, id: str, query: dict[str, Any] | str | None = None
    ) -> dict[str, Any]:
        """``HcnQueryEndpointProperties`` (``GET /hcn/endpoints/<id>``): the properties ``query``
        selects.
        """
        return self._query("endpoints", id, query)

    def hcn_modify_endpoint(self, id: str, request: JsonBody) -> None:
        """``HcnModifyEndpoint`` (``POST /hcn/endpoints/<id>/modify``): a ModifyRequest
        (``ResourceType``, ``RequestType``, ``Settings``).
        """
        self._modify("endpoints", id, request)

    def hcn_delete_endpoint(self, id: str) -> None:
        """``HcnDeleteEndpoint`` (``DELETE /hcn/endpoints/<id>``)."""
        self._delete("endpoints", id)

    def hcn_enumerate_load_balancers(self, query: dict[str, Any] | str | None = None) -> list[str]:
        """``HcnEnumerateLoadBalancers`` (``GET /hcn/loadbalancers``): the ids matching ``query`` (a
        HostComputeQuery; default: all).
        """
        return self._enumerate("loadbalancers", query)

    def hcn_create_load_balancer(self, settings: JsonBody) -> dict[str, Any]:
        """``HcnCreateLoadBalancer`` (``POST /hcn/loadbalancers``): create from
        HostComputeLoadBalancer settings (an ``ID`` in them is kept); the created properties.
        """
        return self._create("loadbalancers", settings)

    def hcn_query_load_balancer_properties(
        self, id: str, query: dict[str, Any] | str | None = None
    ) -> dict[str, Any]:
        """``HcnQueryLoadBalancerProperties`` (``GET /hcn/loadbalancers/<id>``): the properties
        ``query`` selects.
        """
        return self._query("loadbalancers", id, query)

    def hcn_modify_load_balancer(self, id: str, request: JsonBody) -> None:
        """``HcnModifyLoadBalancer`` (``POST /hcn/loadbalancers/<id>/modify``): a ModifyRequest
        (``ResourceType``, ``RequestType``, ``Settings``).
        """
        self._modify("loadbalancers", id, request)

    def hcn_delete_load_balancer(self, id: str) -> None:
        """``HcnDeleteLoadBalancer`` (``DELETE /hcn/loadbalancers/<id>``)."""
        self._delete("loadbalancers", id)

    def hcn_enumerate_namespaces(self, query: dict[str, Any] | str | None = None) -> list[str]:
        """``HcnEnumerateNamespaces`` (``GET /hcn/namespaces``): the ids matching ``query`` (a
        HostComputeQuery; default: all).
        """
        return self._enumerate("namespaces", query)

    def hcn_create_namespace(self, settings: JsonBody) -> dict[str, Any]:
        """``HcnCreateNamespace`` (``POST /hcn/namespaces``): create from HostComputeNamespace
        settings (an ``ID`` in them is kept); the created properties.
        """
        return self._create("namespaces", settings)

    def hcn_query_namespace_properties(
        self, id: str, query: dict[str, Any] | str | None = None
    ) -> dict[str, Any]:
        """``HcnQueryNamespaceProperties`` (``GET /hcn/namespaces/<id>``): the properties ``query``
        selects.
        """
        return self._query("namespaces", id, query)

    def hcn_modify_namespace(self, id: str, request: JsonBody) -> None:
        """``HcnModifyNamespace`` (``POST /hcn/namespaces/<id>/modify``): a ModifyRequest
        (``ResourceType``, ``RequestType``, ``Settings``).
        """
        self._modify("namespaces", id, request)

    def hcn_delete_namespace(self, id: str) -> None:
        """``HcnDeleteNamespace`` (``DELETE /hcn/namespaces/<id>``)."""
        self._delete("namespaces", id)

    def hcn_enumerate_sdn_routes(self, query: dict[str, Any] | str | None = None) -> list[str]:
        """``HcnEnumerateSdnRoutes`` (``GET /hcn/sdnroutes``): the ids matching ``query`` (a
        HostComputeQuery; default: all).
        """
        return self._enumerate("sdnroutes", query)

    def hcn_create_sdn_route(self, settings: JsonBody) -> dict[str, Any]:
        """``HcnCreateSdnRoute`` (``POST /hcn/sdnroutes``): create from SDN route settings (an
        ``ID`` in them is kept); the created properties.
        """
        return self._create("sdnroutes", settings)

    def hcn_query_sdn_route_properties(
        self, id: str, query: dict[str, Any] | str | None = None
    ) -> dict[str, Any]:
        """``HcnQuerySdnRouteProperties`` (``GET /hcn/sdnroutes/<id>``): the properties ``query``
        selects.
        """
        return self._query("sdnroutes", id, query)

    def hcn_modify_sdn_route(self, id: str, request: JsonBody) -> None:
        """``HcnModifySdnRoute``: refused with RequestUnsupported (HNS has no modify for SDN
        routes).
        """
        self._modify("sdnroutes", id, request)

    def hcn_delete_sdn_route(self, id: str) -> None:
        """``HcnDeleteSdnRoute`` (``DELETE /hcn/sdnroutes/<id>``)."""
        self._delete("sdnroutes", id)

    # -- emulator control ------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``GET /_emulator/health``: ``{"Status": "ok", "Profile", "Version"}`` while the server
        answers.
        """
        health: dict[str, Any] = self.request("GET", "/_emulator/health")
        return health

    def reset(self) -> None:
        """``POST /_emulator/reset``: drop every object, fault rule and logged call; start the
        service if stopped.
        """
        self.request("POST", "/_emulator/reset")

    def dump_state(self) -> dict[str, Any]:
        """``GET /_emulator/state``: the whole state as a dump (``load_state`` takes it back)."""
        state: dict[str, Any] = self.request("GET", "/_emulator/state")
        return state

    def load_state(self, state: dict[str, Any] | str) -> None:
        """``PUT /_emulator/state``: replace the whole state with a dump (or a real-host capture
        shape).
        """
        self.request("PUT", "/_emulator/state", state)

    def import_capture(self, text: str) -> list[str]:
        """Load a real-host capture (V1 envelope, ConvertTo-Json output, ...); its ids."""
        answer = self.request("POST", "/_emulator/import", text, content_type="text/plain")
        return [str(i) for i in answer.get("IDs", [])]

    def import_capture_file(self, path: str | os.PathLike[str]) -> list[str]:
        """Load a capture file, or a collectlogs bundle (a directory or a zip), from this
        machine into the server (``hns.capture.read_capture`` reads it); its ids."""
        from hns.capture import read_capture

        return self.import_capture(read_capture(path))

    def get_profile(self) -> dict[str, Any]:
        """``GET /_emulator/profile``: ``{"Profile", "Version", "Profiles"}``."""
        profile: dict[str, Any] = self.request("GET", "/_emulator/profile")
        return profile

    def set_profile(self, name: str) -> dict[str, Any]:
        """``PUT /_emulator/profile``: switch the host profile (``ws2019``, ``ws2022``, ``ws2025``);
        the new profile document.
        """
        profile: dict[str, Any] = self.request("PUT", "/_emulator/profile", {"Profile": name})
        return profile

    def reboot(self) -> None:
        """``POST /_emulator/reboot``: an emulated host reboot (EnableNonPersistent networks
        and their endpoints go)."""
        self.request("POST", "/_emulator/reboot")

    # -- faults, service restarts, call log, replay (api/emulator.py) ---------------

    def add_fault(
        self,
        target: str,
        mode: str = "Fail",
        *,
        hresult: int | str | None = None,
        times: int | None = None,
        probability: float | None = None,
        seconds: float | None = None,
        fields: list[str] | None = None,
        seed: int | None = None,
    ) -> dict[str, Any]:
        """Add a fault rule (docs/faults.md); returns it, with its ``Id``."""
        doc: dict[str, Any] = {"Target": target, "Mode": mode}
        for key, value in (("HResult", hresult), ("Times", times),
                           ("Probability", probability), ("Seconds", seconds),
                           ("Fields", fields), ("Seed", seed)):
            if value is not None:
                doc[key] = value
        fault: dict[str, Any] = self.request("POST", "/_emulator/faults", doc)
        return fault

    def list_faults(self) -> list[dict[str, Any]]:
        """``GET /_emulator/faults``: the fault rules in force, with their ``Id`` and hit counts."""
        faults: list[dict[str, Any]] = self.request("GET", "/_emulator/faults")["Faults"]
        return faults

    def delete_fault(self, id: int) -> None:
        """``DELETE /_emulator/faults/<id>``: drop one fault rule."""
        self.request("DELETE", f"/_emulator/faults/{id}")

    def clear_faults(self) -> None:
        """Drop every fault rule; calls waiting in a Latency or Hang go on at once."""
        self.request("DELETE", "/_emulator/faults")

    def service_state(self) -> dict[str, Any]:
        """``GET /_emulator/service``: ``{"Running", "DownSecondsLeft", "HResult", "Restarts",
        "Waiting"}``.
        """
        state: dict[str, Any] = self.request("GET", "/_emulator/service")
        return state

    def restart_service(
        self, down_seconds: float = 0.0, *, hresult: int | None = None
    ) -> dict[str, Any]:
        """Restart the emulated HNS; calls fail for ``down_seconds``, then objects rehydrate."""
        doc: dict[str, Any] = {"Action": "restart", "DownSeconds": down_seconds}
        if hresult is not None:
            doc["HResult"] = hresult
        state: dict[str, Any] = self.request("POST", "/_emulator/service", doc)
        return state

    def stop_service(self, *, hresult: int | None = None) -> dict[str, Any]:
        """Stop HNS: every call fails with ``hresult`` (default EPT_S_NOT_REGISTERED) until
        ``start_service``; the service state."""
        doc: dict[str, Any] = {"Action": "stop"}
        if hresult is not None:
            doc["HResult"] = hresult
        state: dict[str, Any] = self.request("POST", "/_emulator/service", doc)
        return state

    def start_service(self) -> dict[str, Any]:
        """Start HNS again after ``stop_service``; the service state."""
        state: dict[str, Any] = self.request("POST", "/_emulator/service", {"Action": "start"})
        return state

    def calls(self, since: int = 0, *, state: bool = True) -> dict[str, Any]:
        """The call log as a recording (calls with ``Seq`` > ``since``); ``state=False``
        leaves out the state dumps (cheaper when polling for new calls)."""
        doc: dict[str, Any] = self.request(
            "GET", "/_emulator/calls",
            params={"since": str(since), "state": "true" if state else "false"},
        )
        return doc

    def clear_calls(self) -> None:
        """``DELETE /_emulator/calls``: forget the logged calls (the log starts from the state now).
        """
        self.request("DELETE", "/_emulator/calls")

    def replay(self, recording: dict[str, Any] | str, *, reset: bool = True) -> dict[str, Any]:
        """Replay a recording on the server (reset first unless ``reset=False``); the report."""
        report: dict[str, Any] = self.request(
            "POST", "/_emulator/replay", recording,
            params={"reset": "true" if reset else "false"},
        )
        return report


def raise_for_body(body: Any) -> None:
    """Raise the HnsError a failure document stands for (helper for other front ends)."""
    if is_error_body(body):
        raise error_from_body(body)
