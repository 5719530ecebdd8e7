"""The ``/vfp/`` routes: the host's VFP switch over HTTP (read, simulate, inject, vfpctrl).

Division of labour: ``vfp`` owns the switch, the pipeline and the vfpctrl text;
``hns.hosts.Host`` owns which port belongs to which endpoint and where an injected frame
goes; this module only reads them under the service lock (the compiler writes the switch
from inside the service's change listeners, and a background pump may be moving frames)
and turns them into JSON. Routes (``{port}`` is a port GUID, case-insensitive, or its
friendly name)::

    GET  /vfp/ports                                   every port, with its endpoint
    GET  /vfp/ports/{port}                            one port: state, generation, counts
    GET  /vfp/ports/{port}/layers                     layers by priority
    GET  /vfp/ports/{port}/layers/{layer}/groups      groups of one layer
    GET  /vfp/ports/{port}/layers/{layer}/flows       that layer's flow table
    GET  /vfp/ports/{port}/rules[?layer=&group=]      layers > groups > rules, counters
    GET  /vfp/ports/{port}/counters                   per-direction packets, bytes, drops
    GET  /vfp/ports/{port}/flows                      the unified flow table
    POST /vfp/ports/{port}/process-tuples             {"Tuples": "6 10.0.0.4 1234 ..."}
    POST /vfp/ports/{port}/inject                     {"Frame"|"FrameBase64", "Direction"}
    GET  /vfp/ports/{port}/received                   frames delivered to its container
    GET  /vfp/host                                    the vSwitch's counters (drops ...)
    POST /vfp/vfpctrl                                 {"Args": [...]} -> vfpctrl's text

Failures are HNS-shaped like every other route (``{"Success":false,"Error","ErrorCode"}``)
plus ``"Detail"``, the VFP reason (``"port 1234 not found"``): an unknown port is 404
HCN_E_PORT_NOT_FOUND, an unknown layer 404 HCN_E_LAYER_NOT_FOUND, an unknown group or
rule 404 ERROR_NOT_FOUND, bad input 400 E_INVALIDARG.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final, Protocol

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response

from api.limits import read_body
from hns.errors import ElementNotFound, HnsError, InvalidArg, LayerNotFound, PortNotFound
from vfp import ctl
from vfp.addr import format_ip, format_mac
from vfp.errors import DropReason, NotFound, VfpError
from vfp.model import (
    IN,
    LAYER_FLAG_NAMES,
    OUT,
    RULE_FLAG_NAMES,
    Group,
    Layer,
    Port,
    Rule,
    Switch,
    flag_names,
)
from vfp.pipeline import Result, Trace, simulate, trace_json

__all__ = ["BareHost", "VfpHost", "hns_error_of", "inject_json", "register"]

#: Largest /vfp request body: a frame (jumbo at most, hex-encoded) plus a few keys.
MAX_VFP_BODY: Final[int] = 64 << 10


class VfpHost(Protocol):
    """What the routes need of ``hns.hosts.Host`` (contract item 2)."""

    @property
    def switch(self) -> Switch: ...

    def inject(
        self, ep_or_port_id: str, frame: bytes, direction: str, *, trace: bool = False
    ) -> Any: ...


def hns_error_of(exc: VfpError) -> HnsError:
    """The HNS error a VFP failure is answered with (the VFP text kept as ``detail``)."""
    detail = str(exc)
    if isinstance(exc, NotFound):
        if exc.kind == "port":
            return PortNotFound(detail=detail)
        if exc.kind == "layer":
            return LayerNotFound(detail=detail)
        return ElementNotFound(detail=detail)
    return InvalidArg(detail=detail)


@contextmanager
def _locked(host: Any) -> Iterator[None]:
    """Hold the service lock (if the host has one) and turn VFP failures into HNS ones."""
    service = getattr(host, "service", None)
    lock = getattr(service, "lock", None)
    try:
        if lock is None:
            yield
        else:
            with lock:
                yield
    except VfpError as exc:
        raise hns_error_of(exc) from None


# -- JSON of VFP objects --------------------------------------------------------------


def _get_port(host: Any, switch: Switch, ref: str) -> Port:
    """A port by its GUID (EndpointPortGuid) or friendly name, or by the ID of the endpoint
    it belongs to: the port has a GUID of its own, and users hold endpoint ids."""
    try:
        return switch.get_port(ref)
    except NotFound:
        compiler = getattr(host, "compiler", None)
        port = compiler.port_of(ref) if compiler is not None else None
        if port is None:
            raise
        return port  # type: ignore[no-any-return]


def _endpoint_of(host: Any, port: Port) -> str | None:
    compiler = getattr(host, "compiler", None)
    if compiler is None:
        return None
    found = compiler.endpoint_of(port.id)
    return None if found is None else str(found)


def port_json(host: Any, port: Port) -> dict[str, Any]:
    return {
        "Id": port.id,
        "FriendlyName": port.name,
        "Endpoint": _endpoint_of(host, port),
        "MacAddress": format_mac(port.mac),
        "VmName": port.vm_name,
        "Enabled": port.enabled,
        "Blocked": port.blocked,
        "Generation": port.generation,
        "Layers": len(port.layers),
    }


def layer_json(layer: Layer) -> dict[str, Any]:
    return {
        "Id": layer.id,
        "FriendlyName": layer.name,
        "Priority": layer.priority,
        "Flags": layer.flags,
        "FlagNames": flag_names(layer.flags, LAYER_FLAG_NAMES),
        "Stateful": layer.stateful,
        "Groups": len(layer.groups),
        "Flows": len(layer.flows),
        "Packets": layer.counter[0],
        "Bytes": layer.counter[1],
    }


def rule_json(rule: Rule, version: int, counts: list[int] | None = None) -> dict[str, Any]:
    counts = rule.counter if counts is None else counts  # per port for a shared rule
    return {
        "Id": rule.id,
        "FriendlyName": rule.name,
        "Priority": rule.priority,
        "Flags": rule.flags,
        "FlagNames": flag_names(rule.flags, RULE_FLAG_NAMES),
        "Type": rule.action.kind,
        "Conditions": dict(rule.conditions.describe(version)),
        "Data": rule.action.data_lines(),
        "FlowTTL": rule.ttl,
        "Packets": counts[0],
        "Bytes": counts[1],
    }


def group_json(group: Group, *, rules: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Id": group.id,
        "FriendlyName": group.name,
        "Priority": group.priority,
        "Direction": group.direction,
        "Type": f"IPv{group.version}",
        "Conditions": dict(group.conditions.describe(group.version)),
        "MatchType": "Longest prefix match" if group.lpm else "Priority-based match",
        "Rules": len(group.rules),
    }
    if rules:
        ordered = sorted(group.rules.values(), key=lambda r: (r.priority, r.order))
        out["Rules"] = [rule_json(r, group.version, group.counter_of(r)) for r in ordered]
    return out


def counters_json(port: Port) -> dict[str, Any]:
    port.fold_counters()
    out: dict[str, Any] = {}
    for direction in (OUT, IN):
        packets, octets = port.counters[direction]
        drops = port.drops[direction]
        out[direction] = {
            "Packets": packets,
            "Bytes": octets,
            "DroppedPackets": sum(drops.values()),
            "DropReasons": {r.value: drops[r] for r in DropReason if drops[r]},
        }
    return out


def unified_flows_json(port: Port) -> list[dict[str, Any]]:
    now = port.switch.clock()
    items: list[dict[str, Any]] = []
    for direction in (OUT, IN):
        for entry in port.uft[direction].values():
            items.append(
                {
                    "Direction": direction,
                    "Flow": entry.summary,
                    "Allowed": entry.allowed,
                    "DropReason": None if entry.reason is None else entry.reason.value,
                    "Transposition": entry.transposition.as_json(),
                    "Generation": entry.generation,
                    "Current": entry.generation == port.generation and now < entry.expires,
                    "IdleTimeout": entry.idle_ttl,
                    "Packets": entry.packets,
                    "Bytes": entry.octets,
                }
            )
    return items


_LAYER_KEY = struct.Struct("!cBHH")


def _layer_key_json(key: bytes) -> dict[str, Any]:
    """A layer flow key (vfp.flows.layer_key: direction, proto, ports, addresses)."""
    head, rest = key[: _LAYER_KEY.size], key[_LAYER_KEY.size :]
    direction, proto, sport, dport = _LAYER_KEY.unpack(head)
    width = len(rest) // 2
    version = 4 if width == 4 else 6
    return {
        "Direction": IN if direction == b"I" else OUT,
        "Protocol": proto,
        "SourceIP": format_ip(int.from_bytes(rest[:width], "big"), version),
        "SourcePort": sport,
        "DestinationIP": format_ip(int.from_bytes(rest[width:], "big"), version),
        "DestinationPort": dport,
    }


def layer_flows_json(port: Port, layer: Layer) -> list[dict[str, Any]]:
    now = port.switch.clock()
    return [
        {
            **_layer_key_json(key),
            "Rule": flow.rule.id or flow.rule.name,
            "Initiator": flow.initiator,
            "Transposition": flow.transposition.as_json(),
            "TcpState": None if flow.tcp is None else str(flow.tcp.state),
            "ExpiresIn": max(0.0, flow.expires - now),
            "Current": flow.generation == port.generation and now < flow.expires,
        }
        for key, flow in layer.flows.items()
    ]


def result_json(result: Result) -> dict[str, Any]:
    return {
        "Verdict": "allow" if result.allowed else "drop",
        "DropReason": None if result.reason is None else result.reason.value,
        "OutputHex": None if result.output is None else result.output.hex(),
        "FastPath": result.fast,
    }


def _hop_json(hop: Any) -> dict[str, Any]:
    result = getattr(hop, "result", None)
    trace = getattr(hop, "trace", None)
    return {
        "Port": getattr(hop, "port_id", None),
        "Endpoint": getattr(hop, "endpoint_id", None),
        "Direction": getattr(hop, "direction", None),
        **(result_json(result) if isinstance(result, Result) else {}),
        "Trace": trace_json(trace) if isinstance(trace, Trace) else None,
    }


def inject_json(value: Any) -> dict[str, Any]:
    """What ``inject`` returned, as JSON.

    A ``hns.hosts.InjectResult`` (``hops`` + ``delivery``) gives the first port's verdict
    at the top, its ``Trace`` (when asked for), every ``Hops`` entry and the
    ``Delivery`` (``Where``: endpoint, underlay, external, arp, dropped). A bare vfp
    ``Result`` or ``Trace`` (a ``BareHost``) gives the first three only.
    """
    if isinstance(value, Trace):
        return {
            **result_json(Result(value.allowed, value.output, value.reason)),
            "Trace": trace_json(value),
        }
    if isinstance(value, Result):
        return {**result_json(value), "Trace": None}
    hops = [_hop_json(h) for h in getattr(value, "hops", [])]
    doc: dict[str, Any] = {
        "Verdict": "drop",
        "DropReason": None,
        "OutputHex": None,
        "FastPath": False,
        "Trace": None,
    }
    if hops:
        doc.update({k: hops[0][k] for k in ("Verdict", "DropReason", "OutputHex", "FastPath")})
        doc["Trace"] = hops[0]["Trace"]
    doc["Hops"] = hops
    delivery = getattr(value, "delivery", None)
    if delivery is not None:
        frame = getattr(delivery, "frame", None)
        doc["Delivery"] = {
            "Where": getattr(delivery, "where", ""),
            "Target": getattr(delivery, "target", ""),
            "Reason": getattr(delivery, "reason", ""),
            "FrameHex": frame.hex() if isinstance(frame, bytes) else None,
        }
    return doc


# -- request bodies ---------------------------------------------------------------------


async def _json_object(request: Request) -> dict[str, Any]:
    body = await read_body(request, MAX_VFP_BODY)  # refused before it is buffered
    try:
        value = json.loads(body.decode("utf-8-sig")) if body.strip() else None
    except (ValueError, RecursionError):
        raise InvalidArg(detail="body is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidArg(detail="body must be a JSON object")
    return value


def _direction(value: Any) -> str:
    if not isinstance(value, str) or value.upper() not in (IN, OUT):
        raise InvalidArg(detail="Direction must be IN or OUT")
    return value.upper()


def _frame(doc: dict[str, Any]) -> bytes:
    if isinstance(doc.get("Frame"), str):
        try:
            return bytes.fromhex(doc["Frame"])
        except ValueError:
            raise InvalidArg(detail="Frame must be hex") from None
    if isinstance(doc.get("FrameBase64"), str):
        try:
            return base64.b64decode(doc["FrameBase64"], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidArg(detail="FrameBase64 must be base64") from None
    raise InvalidArg(detail="give the frame as Frame (hex) or FrameBase64")


# -- routes -----------------------------------------------------------------------------

_ERROR: Final[dict[str, Any]] = {
    "description": "HNS error (plus Detail)",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["Success", "Error", "ErrorCode"],
                "properties": {
                    "Success": {"type": "boolean"},
                    "Error": {"type": "string"},
                    "ErrorCode": {"type": "integer"},
                    "Detail": {"type": "string"},
                },
            }
        }
    },
}
_OBJ: Final[dict[str, Any]] = {"type": "object"}

_INJECT_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["Direction"],
    "properties": {
        "Frame": {"type": "string", "description": "the frame as hex"},
        "FrameBase64": {"type": "string", "description": "the frame as base64"},
        "Direction": {"type": "string", "enum": [OUT, IN]},
        "Trace": {"type": "boolean"},
    },
}
_TUPLES_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["Tuples"],
    "properties": {
        "Tuples": {
            "type": "string",
            "description": 'vfpctrl /process-tuples text, e.g. "6 10.0.0.4 1234 8.8.8.8 443 out 1"',
        }
    },
}
_VFPCTRL_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["Args"],
    "properties": {"Args": {"type": "array", "items": {"type": "string"}}},
}
_VFPCTRL_ANSWER: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["ExitCode", "Output"],
    "properties": {"ExitCode": {"type": "integer"}, "Output": {"type": "string"}},
}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}
    }


def register(app: FastAPI, host: VfpHost) -> None:
    """Add the /vfp routes over ``host`` to ``app``."""
    switch = host.switch

    def add(
        method: str,
        path: str,
        handler: Callable[..., Any],
        name: str,
        summary: str,
        *,
        body: dict[str, Any] | None = None,
        ok: dict[str, Any] | None = None,
    ) -> None:
        app.add_api_route(
            path,
            handler,
            methods=[method],
            tags=["vfp"],
            summary=summary,
            operation_id=f"vfp_{name}",
            responses={
                200: {
                    "description": "Success",
                    "content": {"application/json": {"schema": ok or _OBJ}},
                },
                400: _ERROR,
                404: _ERROR,
            },
            openapi_extra=None if body is None else _body(body),
        )

    async def list_ports(request: Request) -> Response:
        with _locked(host):
            ports = [port_json(host, p) for p in switch.ports.values()]
        return JSONResponse({"Ports": ports})

    async def get_port(request: Request, port: str) -> Response:
        with _locked(host):
            p = _get_port(host, switch, port)
            doc = {**port_json(host, p), "Counters": counters_json(p)}
        return JSONResponse(doc)

    async def list_layers(request: Request, port: str) -> Response:
        with _locked(host):
            p = _get_port(host, switch, port)
            p.fold_counters()
            layers = [layer_json(layer) for layer in p.sorted_layers()]
        return JSONResponse({"Port": p.id, "Layers": layers})

    async def list_groups(request: Request, port: str, layer: str) -> Response:
        with _locked(host):
            p = _get_port(host, switch, port)
            lay = p.get_layer(layer)
            groups = [group_json(g) for g in lay.sorted_groups()]
        return JSONResponse({"Port": p.id, "Layer": lay.id, "Groups": groups})

    async def layer_flows(request: Request, port: str, layer: str) -> Response:
        with _locked(host):
            p = _get_port(host, switch, port)
            lay = p.get_layer(layer)
            flows = layer_flows_json(p, lay)
        return JSONResponse({"Port": p.id, "Layer": lay.id, "Flows": flows})

    async def list_rules(
        request: Request,
        port: str,
        layer: str | None = Query(None, description="only this layer"),
        group: str | None = Query(None, description="only this group (needs layer)"),
    ) -> Response:
        with _locked(host):
            p = _get_port(host, switch, port)
            p.fold_counters()
            if group is not None and layer is None:
                raise InvalidArg(detail="group needs layer")
            layers = p.sorted_layers() if layer is None else [p.get_layer(layer)]
            doc = []
            for lay in layers:
                groups = lay.sorted_groups() if group is None else [lay.get_group(group)]
                entry = layer_json(lay)
                entry["Groups"] = [group_json(g, rules=True) for g in groups]
                doc.append(entry)
        return JSONResponse({"Port": p.id, "Layers": doc})

    async def counters(request: Request, port: str) -> Response:
        with _locked(host):
            p = _get_port(host, switch, port)
            doc = counters_json(p)
        return JSONResponse({"Port": p.id, **doc})

    async def unified_flows(request: Request, port: str) -> Response:
        with _locked(host):
            p = _get_port(host, switch, port)
            p.fold_counters()
            flows = unified_flows_json(p)
        return JSONResponse({"Port": p.id, "UnifiedFlows": flows})

    async def process_tuples(request: Request, port: str) -> Response:
        doc = await _json_object(request)
        tuples = doc.get("Tuples")
        if not isinstance(tuples, str):
            raise InvalidArg(detail="Tuples must be a string")
        with _locked(host):
            p = _get_port(host, switch, port)
            frame, direction = ctl.parse_tuples(tuples, p)
            t = simulate(p, frame, direction, commit=False)
            answer = trace_json(t)
        return JSONResponse(answer)

    async def inject(request: Request, port: str) -> Response:
        doc = await _json_object(request)
        direction = _direction(doc.get("Direction"))
        frame = _frame(doc)
        want_trace = doc.get("Trace", False)
        if not isinstance(want_trace, bool):
            raise InvalidArg(detail="Trace must be true or false")
        with _locked(host):
            p = _get_port(host, switch, port)  # 404 before the host sees it
            try:
                result = host.inject(p.id, frame, direction, trace=want_trace)
            except KeyError as exc:  # a port no endpoint owns (e.g. a host vNIC)
                raise ElementNotFound(detail=str(exc.args[0] if exc.args else exc)) from None
            except ValueError as exc:
                raise InvalidArg(detail=str(exc)) from None
            answer = inject_json(result)
        return JSONResponse({"Port": p.id, "Direction": direction, **answer})

    async def received(request: Request, port: str) -> Response:
        capture = getattr(host, "received", None)
        with _locked(host):
            p = _get_port(host, switch, port)
            if capture is None:
                raise ElementNotFound(detail="this host keeps no per-endpoint capture")
            try:
                frames = [bytes(f).hex() for f in capture(p.id)]
            except KeyError as exc:
                raise ElementNotFound(detail=str(exc.args[0] if exc.args else exc)) from None
        return JSONResponse({"Port": p.id, "FramesHex": frames})

    async def host_counters(request: Request) -> Response:
        counters = getattr(host, "counters", None)
        with _locked(host):
            doc = counters() if counters is not None else {}
            doc["Ports"] = len(switch.ports)
        return JSONResponse(doc)

    async def vfpctrl(request: Request) -> Response:
        doc = await _json_object(request)
        args = doc.get("Args")
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise InvalidArg(detail="Args must be a list of strings")
        with _locked(host):
            code, text = ctl.run(switch, args)
        return JSONResponse({"ExitCode": code, "Output": text})

    base = "/vfp/ports/{port}"
    add("GET", "/vfp/ports", list_ports, "list_ports", "Every VFP port, with its endpoint")
    add("GET", base, get_port, "get_port", "One VFP port")
    add("GET", base + "/layers", list_layers, "list_layers", "The layers of a port")
    add("GET", base + "/layers/{layer}/groups", list_groups, "list_groups", "Groups of a layer")
    add("GET", base + "/layers/{layer}/flows", layer_flows, "layer_flows", "A layer's flows")
    add("GET", base + "/rules", list_rules, "list_rules", "Rules with counters")
    add("GET", base + "/counters", counters, "port_counters", "Port counters")
    add("GET", base + "/flows", unified_flows, "unified_flows", "The unified flow table")
    add(
        "GET",
        base + "/received",
        received,
        "received",
        "Frames delivered to the port's container (hex, oldest first)",
    )
    add("GET", "/vfp/host", host_counters, "host_counters", "The vSwitch's counters")
    add(
        "POST",
        base + "/process-tuples",
        process_tuples,
        "process_tuples",
        "Simulate a tuple through every layer (no side effects)",
        body=_TUPLES_SCHEMA,
    )
    add(
        "POST",
        base + "/inject",
        inject,
        "inject",
        "Send one frame through the port and the vSwitch",
        body=_INJECT_SCHEMA,
    )
    add(
        "POST",
        "/vfp/vfpctrl",
        vfpctrl,
        "vfpctrl",
        "Run one vfpctrl command line; its exit code and printed text",
        body=_VFPCTRL_SCHEMA,
        ok=_VFPCTRL_ANSWER,
    )


class BareHost:
    """A switch with no compiler: the /vfp routes' host when the app serves a backend
    that is not an ``HnsService`` (the wire tests' fake) or ``hns.hosts`` is unavailable.
    It has no ports unless a caller adds them; ``inject`` runs the port's pipeline only."""

    def __init__(self, service: Any = None, switch: Switch | None = None) -> None:
        self.service = service
        self.switch = switch or Switch()
        self.compiler = None

    def inject(
        self, ep_or_port_id: str, frame: bytes, direction: str, *, trace: bool = False
    ) -> Any:
        from vfp.pipeline import process

        port = self.switch.get_port(ep_or_port_id)
        if trace:
            return simulate(port, frame, direction, commit=True)
        return process(port, frame, direction)
