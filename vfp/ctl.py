"""vfpctrl: the text renderers and the command-line parser, run against an in-process
`Switch`.

`run(switch, argv) -> (exit_code, text)` accepts vfpctrl's switches in any order
(`/port P /layer L /list-rule` == `/list-rule /layer L /port P`). Text follows the real
tool (reference vfp.md section 2): CRLF line ends, the ` ITEM LIST` / `===========` header,
2/4/6/8/12-space indentation, `key : value` (but `Flow TTL:`), numeric flags followed by
their names, blank lines between blocks, `Command <verb> succeeded!` at the end, and
`ERROR: <message>` as the first line on failure. `/format 1` prints JSON instead. The
HTTP side and the `vfpctrl` console script live in api/ (a later issue).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Sequence

from vfp.addr import format_ip, format_mac, parse_ip, parse_mac
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
from vfp.pipeline import simulate, trace_json, trace_text
from vxlan import IPPROTO_TCP, TCP_ACK, TCP_SYN, Outer, build_packet, serialize

CRLF = "\r\n"
GATEWAY_MAC = 0x12345678ABCD  # inner MAC used when a tuple gives none (the host's side)
HEADER = [" ITEM LIST", "==========="]

USAGE = """\
vfpctrl.exe (hns-emulator) - list and simulate Virtual Filtering Platform policy

Usage: vfpctrl [selectors] <command> [/format 1]

Selectors (any order):
   /switch "[switch name]"
   /port "[port name]"          port GUID or friendly name
   /layer [layer_id]
   /group [group_id]
   /rule [rule_id]
   /space [space_id]

Commands:
   /list-vmswitch-port          list the ports of the switch
   /list-layer                  list the layers of a port
   /list-group                  list the groups of a layer
   /list-rule                   list the rules of a port, layer or group
   /get-rule-counter            list the rules with their counters
   /get-port-state              show the port state
   /get-port-counter            show the port's packet, byte and drop counters
   /list-space                  list the mapping spaces of a port
   /list-mapping                list the CA-PA mappings of a port
   /list-unified-flow           list the unified flow table of a port
   /process-tuples "[proto] [src_ip] [src_prt] [dest_ip] [dest_prt] [in|out] [flags]"
   /process-tuples "encap [encap_type] [[src_mac] [dst_mac]] [src_ip] [dest_ip] [tenant_id]
                    [inner_tuples] [in|out] [flags]"
        simulate a packet through all layers (no side effects)
        flags - 1:tcp syn 2: monitoring ping flag
   /h                           this help
"""

COMMANDS = (
    "list-vmswitch-port", "list-layer", "list-group", "list-rule", "get-rule-counter",
    "get-port-state", "get-port-counter", "list-space", "list-mapping", "list-unified-flow",
    "process-tuples",
)
_VALUED = ("switch", "port", "layer", "group", "rule", "space", "format", "process-tuples")


class CtlError(VfpError):
    """A vfpctrl command that cannot run; printed as `ERROR: <message>`."""


def _text(lines: Sequence[str]) -> str:
    return CRLF.join(lines) + CRLF


def _done(verb: str) -> str:
    return f"Command {verb} succeeded!"


# -- renderers ------------------------------------------------------------------------


def layer_flags_text(flags: int) -> str:
    names = flag_names(flags, LAYER_FLAG_NAMES)
    return f"0x{flags:x}" + (", " + " , ".join(names) if names else "")


def rule_flags_text(flags: int) -> str:
    names = flag_names(flags, RULE_FLAG_NAMES)
    return " ".join([str(flags), *names])


def render_layer(layer: Layer) -> list[str]:
    return [
        f"LAYER : {layer.id}",
        f"    Friendly name : {layer.name}",
        f"    Flags : {layer_flags_text(layer.flags)}",
        f"    Priority : {layer.priority}",
        "",
    ]


def _conditions(desc: list[tuple[str, str]], indent: int) -> list[str]:
    pad = " " * indent
    out = [f"{pad}Conditions:"]
    if not desc:
        out.append(f"{pad}    <none>")
    out.extend(f"{pad}    {label} : {value}" for label, value in desc)
    return out


def render_group(group: Group) -> list[str]:
    return [
        f"  GROUP : {group.id}",
        f"      Friendly name : {group.name}",
        f"      Priority : {group.priority}",
        f"      Direction : {group.direction}",
        f"      Type : IPv{group.version}",
        *_conditions(group.conditions.describe(group.version), 8),
        f"      Match type : {'Longest prefix match' if group.lpm else 'Priority-based match'}",
        "",
    ]


def render_rule(rule: Rule, version: int = 4, *, counters: bool = False,
                counts: list[int] | None = None) -> list[str]:
    """`counts`: the rule's [packets, bytes] on this port (`Group.counter_of`); a rule
    shared between ports counts per group."""
    lines = [
        f"    RULE : {rule.id}" if rule.id and not rule.anonymous else "    RULE :",
        f"        Friendly name : {rule.name}",
        f"        Priority : {rule.priority}",
        f"        Flags : {rule_flags_text(rule.flags)}",
        f"        Type : {rule.action.kind}",
        *_conditions(rule.conditions.describe(version), 8),
        f"        Flow TTL: {rule.ttl}",
        *(f"        {line}" for line in rule.action.data_lines()),
        "        FlagsEx : 0",
    ]
    if counters:
        lines += [
            "        RULE COUNTERS:",
            f"            Matched packets : {(counts or rule.counter)[0]}",
            f"            Matched bytes : {(counts or rule.counter)[1]}",
        ]
    return [*lines, ""]


def render_port(switch: Switch, port: Port, index: int) -> list[str]:
    port.fold_counters()
    out_p, out_b = port.counters[OUT]
    in_p, in_b = port.counters[IN]
    ingress = port.drops[OUT]
    egress = port.drops[IN]
    lines = [
        f"Port name : {port.id}",
        f"Port Friendly name : {port.name}",
        f"Switch name : {switch.name}",
        f"Switch Friendly name : {switch.friendly_name}",
        f"Port Id : {index}",
        "VMQ Weight : 100",
        "VMQ Usage : 0",
        "SR-IOV Weight : 0",
        "SR-IOV Usage : 0",
        "Port type : Synthetic",
        f"Port State : {'Enabled' if port.enabled else 'Disabled'}",
        "MAC Learning : Disabled",
        f"NIC name : {port.id}--{index}",
        f"NIC Friendly name : {port.vm_name or port.name}",
        "MTU : 1500",
        f"MAC address : {format_mac(port.mac)}",
        f"VM name : {port.vm_name}",
        f"VM ID : {port.id}",
        "NIC State : Connected",
        "VSC State : Connected",
        f"Bytes Sent : {out_b}",
        f"Bytes Received : {in_b}",
        f"Packets Sent : {out_p}",
        f"Packets Received : {in_p}",
        f"Ingress Packet Drops : {sum(ingress.values())}",
        f"Egress Packet Drops : {sum(egress.values())}",
        f"Ingress VFP Drops : {sum(ingress.values())}",
        f"Egress VFP Drops : {sum(egress.values())}",
    ]
    for reason in DropReason:
        if ingress[reason]:
            lines.append(f"Ingress packet drops : {reason.value} : {ingress[reason]}")
    for reason in DropReason:
        if egress[reason]:
            lines.append(f"Egress packet drops : {reason.value} : {egress[reason]}")
    return [*lines, ""]


def _rule_json(rule: Rule, version: int, counts: list[int]) -> dict[str, object]:
    return {
        "Id": rule.id, "FriendlyName": rule.name, "Priority": rule.priority,
        "Flags": rule.flags, "FlagNames": flag_names(rule.flags, RULE_FLAG_NAMES),
        "Type": rule.action.kind,
        "Conditions": dict(rule.conditions.describe(version)),
        "FlowTTL": rule.ttl, "Packets": counts[0], "Bytes": counts[1],
    }


def _group_json(g: Group, rules: bool) -> dict[str, object]:
    out: dict[str, object] = {
        "Id": g.id, "FriendlyName": g.name, "Priority": g.priority,
        "Direction": g.direction, "Type": f"IPv{g.version}",
        "Conditions": dict(g.conditions.describe(g.version)),
        "MatchType": "LPM" if g.lpm else "Priority-based match",
    }
    if rules:
        out["Rules"] = [_rule_json(r, g.version, g.counter_of(r)) for r in _rules_sorted(g)]
    return out


def _layer_json(layer: Layer) -> dict[str, object]:
    return {"Id": layer.id, "FriendlyName": layer.name, "Flags": layer.flags,
            "FlagNames": flag_names(layer.flags, LAYER_FLAG_NAMES),
            "Priority": layer.priority, "Stateful": layer.stateful}


def _rules_sorted(g: Group) -> list[Rule]:
    return sorted(g.rules.values(), key=lambda r: (r.priority, r.order))


# -- the command ------------------------------------------------------------------------


class _Args:
    def __init__(self, argv: Sequence[str]) -> None:
        self.values: dict[str, str] = {}
        self.command: str | None = None
        self.help = False
        i = 0
        while i < len(argv):
            tok = argv[i]
            if not tok.startswith("/") and not tok.startswith("-"):
                raise CtlError(f"Unexpected argument {tok}")
            name = tok[1:].lower()
            if name in ("h", "?", "help"):
                self.help = True
                i += 1
                continue
            if name in _VALUED:
                if i + 1 >= len(argv):
                    raise CtlError(f"Missing value for /{name}")
                self.values[name] = argv[i + 1]
                i += 2
            elif name in COMMANDS:
                i += 1
            else:
                raise CtlError(f"Unknown option /{name}")
            if name in COMMANDS:
                if self.command is not None:
                    raise CtlError(f"Only one command allowed: /{self.command} and /{name}")
                self.command = name


def run(switch: Switch, argv: Sequence[str] | str) -> tuple[int, str]:
    """Run one vfpctrl command line; returns (exit code, printed text with CRLF)."""
    if isinstance(argv, str):
        argv = shlex.split(argv)
    if argv and argv[0].lower().rsplit("\\", 1)[-1] in ("vfpctrl", "vfpctrl.exe"):
        argv = argv[1:]
    try:
        args = _Args(argv)
        if args.help or args.command is None:
            return 0, USAGE.replace("\n", CRLF)
        as_json = args.values.get("format", "0") == "1"
        handler = _HANDLERS[args.command]
        result = handler(switch, args, as_json)
        if as_json:
            return 0, json.dumps(result, indent=2) + CRLF
        assert isinstance(result, list)
        return 0, _text(result)
    except VfpError as exc:
        message = str(exc)
        message = message[:1].upper() + message[1:]
        return 1, f"ERROR: {message}{CRLF}"


def _port(switch: Switch, args: _Args) -> Port:
    ref = args.values.get("port")
    if ref is None:
        raise CtlError(f"/port is required for /{args.command}")
    return switch.get_port(ref)


def _list_ports(switch: Switch, args: _Args, as_json: bool) -> object:
    ports = list(switch.ports.values())
    if as_json:
        return {"Ports": [{"Id": p.id, "Name": p.id, "FriendlyName": p.name,
                           "MacAddress": format_mac(p.mac), "VmName": p.vm_name,
                           "Enabled": p.enabled, "Blocked": p.blocked} for p in ports]}
    lines = [*HEADER, ""]
    for i, p in enumerate(ports, start=1):
        lines += render_port(switch, p, i)
    return [*lines, _done("list-vmswitch-port")]


def _list_layers(switch: Switch, args: _Args, as_json: bool) -> object:
    port = _port(switch, args)
    layers = port.sorted_layers()
    if "layer" in args.values:
        layers = [port.get_layer(args.values["layer"])]
    if as_json:
        return {"Layers": [_layer_json(lay) for lay in layers]}
    lines = [*HEADER, ""]
    for layer in layers:
        lines += render_layer(layer)
    return [*lines, _done("list-layer")]


def _groups(port: Port, args: _Args, layer: Layer) -> list[Group]:
    if "group" in args.values:
        return [layer.get_group(args.values["group"])]
    return layer.sorted_groups()


def _list_groups(switch: Switch, args: _Args, as_json: bool) -> object:
    port = _port(switch, args)
    if "layer" not in args.values:
        raise CtlError("/layer is required for /list-group")
    layer = port.get_layer(args.values["layer"])
    groups = _groups(port, args, layer)
    if as_json:
        return {"Groups": [_group_json(g, False) for g in groups]}
    lines = [*HEADER, ""]
    for g in groups:
        lines += render_group(g)
    return [*lines, _done("list-group")]


def _list_rules_impl(switch: Switch, args: _Args, as_json: bool, counters: bool) -> object:
    port = _port(switch, args)
    port.fold_counters()
    verb = "get-rule-counter" if counters else "list-rule"
    whole_port = "layer" not in args.values
    layers = port.sorted_layers() if whole_port else [port.get_layer(args.values["layer"])]
    if as_json:
        return {"Layers": [
            {**_layer_json(lay), "Groups": [_group_json(g, True) for g in _groups(port, args, lay)]}
            for lay in layers
        ]}
    wanted = args.values.get("rule")
    if wanted is not None and not any(
        wanted in g.rules for lay in layers for g in _groups(port, args, lay)
    ):
        raise NotFound("rule", wanted)
    lines = [*HEADER, ""]
    for layer in layers:
        groups = _groups(port, args, layer)
        if wanted is not None:
            groups = [g for g in groups if wanted in g.rules]
            if not groups:
                continue
        if whole_port:
            lines += render_layer(layer)
        for g in groups:
            lines += render_group(g)
            rules = _rules_sorted(g) if wanted is None else [g.rules[wanted]]
            for r in rules:
                lines += render_rule(r, g.version, counters=counters, counts=g.counter_of(r))
    return [*lines, _done(verb)]


def _list_rules(switch: Switch, args: _Args, as_json: bool) -> object:
    return _list_rules_impl(switch, args, as_json, counters=False)


def _rule_counters(switch: Switch, args: _Args, as_json: bool) -> object:
    return _list_rules_impl(switch, args, as_json, counters=True)


def _port_state(switch: Switch, args: _Args, as_json: bool) -> object:
    port = _port(switch, args)
    state = {
        "Enabled": port.enabled, "Blocked": port.blocked,
        "BlockedOnRestore": port.blocked_on_restore, "BlockedLayerCreation": False,
        "Preserving Vlan": False, "VM Context Set": True,
    }
    if as_json:
        return state
    lines = [f"{k} : {'TRUE' if v else 'FALSE'}" for k, v in state.items()]
    return [*lines, _done("get-port-state")]


def _port_counters(switch: Switch, args: _Args, as_json: bool) -> object:
    port = _port(switch, args)
    port.fold_counters()
    items = []
    for direction in (OUT, IN):
        packets, octets = port.counters[direction]
        drops = port.drops[direction]
        items.append({"Direction": direction, "Packets": packets, "Bytes": octets,
                      "DroppedPackets": sum(drops.values()),
                      "DropReasons": {r.value: drops[r] for r in DropReason if drops[r]}})
    if as_json:
        return {"InformationArray": [{"PortCounters": items}]}
    lines: list[str] = []
    for item in items:
        lines += [f"Direction - {item['Direction']}",
                  f"    Packets : {item['Packets']}",
                  f"    Bytes : {item['Bytes']}",
                  f"    Dropped packets : {item['DroppedPackets']}"]
        reasons = item["DropReasons"]
        assert isinstance(reasons, dict)
        lines += [f"        {reason} : {count}" for reason, count in reasons.items()]
        lines.append("")
    return [*lines, _done("get-port-counter")]


def _list_spaces(switch: Switch, args: _Args, as_json: bool) -> object:
    port = _port(switch, args)
    if as_json:
        return {"Spaces": [{"Id": s.id, "FriendlyName": s.name, "Mappings": len(s.mappings)}
                           for s in port.spaces.values()]}
    lines = [*HEADER, ""]
    for s in port.spaces.values():
        lines += [f"  SPACE : {s.id}", f"      Friendly name : {s.name}",
                  f"      Mappings : {len(s.mappings)}", ""]
    return [*lines, _done("list-space")]


def _list_mappings(switch: Switch, args: _Args, as_json: bool) -> object:
    port = _port(switch, args)
    spaces = list(port.spaces.values())
    if "space" in args.values:
        spaces = [s for s in spaces if s.id == args.values["space"]]
    rows = [(s, m) for s in spaces for m in sorted(s.mappings.values(), key=lambda m: m.ca)]
    if as_json:
        return {"Mappings": [{"Space": s.id, "CA": format_ip(m.ca), "PA": format_ip(m.pa),
                              "MAC": format_mac(m.mac), "VNI": m.vni, "Flags": m.flags}
                             for s, m in rows]}
    lines = [*HEADER, ""]
    for s, m in rows:
        lines += [
            "  MAPPING :",
            f"      Space : {s.id}",
            f"      CA IP : {format_ip(m.ca)}",
            f"      PA IP : {format_ip(m.pa)}",
            f"      CA MAC : {format_mac(m.mac)}",
            f"      TNI : {m.vni}",
            f"      Flags : {m.flags}",
            "",
        ]
    return [*lines, _done("list-mapping")]


def _list_uft(switch: Switch, args: _Args, as_json: bool) -> object:
    port = _port(switch, args)
    now = switch.clock()
    items: list[dict[str, object]] = []
    lines = [*HEADER, ""]
    for direction in (OUT, IN):
        for entry in port.uft[direction].values():
            current = entry.generation == port.generation and now < entry.expires
            action = "allow" if entry.allowed else (
                f"drop ({entry.reason.value})" if entry.reason else "drop")
            items.append({"Direction": direction, "Flow": entry.summary, "Action": action,
                          "Transposition": entry.transposition.as_json(),
                          "Generation": entry.generation, "Current": current,
                          "IdleTimeout": entry.idle_ttl, "Packets": entry.packets,
                          "Bytes": entry.octets})
            lines += [
                f"  UNIFIED FLOW : {direction}",
                f"      Flow : {entry.summary}",
                f"      Action : {action}",
                "      Transposition :",
                *(f"          {t}" for t in entry.transposition.describe()),
                f"      Generation : {entry.generation}{'' if current else ' (stale)'}",
                f"      Idle timeout : {entry.idle_ttl:g}",
                f"      Packets : {entry.packets}",
                f"      Bytes : {entry.octets}",
                "",
            ]
    if as_json:
        return {"UnifiedFlows": items}
    return [*lines, _done("list-unified-flow")]


def _is_mac(tok: str) -> bool:
    return len(tok) == 17 and tok.count("-") + tok.count(":") == 5


def parse_tuples(text: str, port: Port) -> tuple[bytes, str]:
    """The frame and direction a /process-tuples string describes."""
    toks = text.split()
    outer: Outer | None = None
    try:
        if toks and toks[0].lower() == "encap":
            toks = toks[1:]
            encap_type = int(toks.pop(0))
            if encap_type != 4:
                raise CtlError(f"Encap type {encap_type} is not supported (4: VXLAN)")
            src_mac = dst_mac = 0
            if _is_mac(toks[0]):
                src_mac, dst_mac = parse_mac(toks.pop(0)), parse_mac(toks.pop(0))
            src_pa = parse_ip(toks.pop(0))[0]
            dst_pa = parse_ip(toks.pop(0))[0]
            vni = int(toks.pop(0))
            outer = Outer(src_mac, dst_mac, src_pa, dst_pa, 49152, vni,
                          dport=port.switch.vxlan_port)
        inner_src_mac, inner_dst_mac = GATEWAY_MAC, port.mac
        toks_had_macs = bool(toks) and _is_mac(toks[0])
        if toks_had_macs:
            inner_src_mac, inner_dst_mac = parse_mac(toks.pop(0)), parse_mac(toks.pop(0))
            if outer is not None and len(toks) > 7:
                toks = toks[2:]  # TNI and VLAN id of the inner tuple
        if len(toks) != 7:
            raise CtlError("Expected \"[proto] [src_ip] [src_prt] [dest_ip] [dest_prt] "
                           "[in|out] [flags]\"")
        proto = int(toks[0])
        src, ver = parse_ip(toks[1])
        dst, ver2 = parse_ip(toks[3])
        sport, dport = int(toks[2]), int(toks[4])
        direction = toks[5].upper()
        flags = int(toks[6])
    except (ValueError, IndexError) as exc:
        raise CtlError(f"Invalid tuple {text!r}: {exc}") from None
    if direction in ("1", "2"):
        direction = IN if direction == "1" else OUT
    if direction not in (IN, OUT):
        raise CtlError(f"Direction must be in or out, not {toks[5]}")
    if ver != ver2 or not (0 <= proto <= 255 and 0 <= sport <= 65535 and 0 <= dport <= 65535):
        raise CtlError(f"Invalid tuple {text!r}")
    if direction == OUT and not toks_had_macs:
        inner_src_mac, inner_dst_mac = port.mac, GATEWAY_MAC
    tcp_flags = TCP_SYN if flags & 1 else TCP_ACK
    p = build_packet(proto, src, sport, dst, dport, version=ver, src_mac=inner_src_mac,
                     dst_mac=inner_dst_mac, tcp_flags=tcp_flags if proto == IPPROTO_TCP else 0,
                     outer=outer)
    return serialize(p), direction


def _process_tuples(switch: Switch, args: _Args, as_json: bool) -> object:
    port = _port(switch, args)
    frame, direction = parse_tuples(args.values["process-tuples"], port)
    t = simulate(port, frame, direction, commit=False)
    if as_json:
        return trace_json(t)
    return [*trace_text(t).rstrip("\n").split("\n"), "", _done("process-tuples")]


_HANDLERS: dict[str, Callable[[Switch, _Args, bool], object]] = {
    "list-vmswitch-port": _list_ports,
    "list-layer": _list_layers,
    "list-group": _list_groups,
    "list-rule": _list_rules,
    "get-rule-counter": _rule_counters,
    "get-port-state": _port_state,
    "get-port-counter": _port_counters,
    "list-space": _list_spaces,
    "list-mapping": _list_mappings,
    "list-unified-flow": _list_uft,
    "process-tuples": _process_tuples,
}
