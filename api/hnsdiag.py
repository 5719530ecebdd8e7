"""``hnsdiag``: the Windows diagnostic tool, against the emulator over HTTP.

Commands (hns-api.md section 3.1)::

    hnsdiag list networks|endpoints|loadbalancers|namespaces|all [-d|-df]
    hnsdiag delete networks|endpoints|loadbalancers|namespaces <id>
    hnsdiag reset networks

Output, copied from the real samples in fixtures/api/ (from shared/fixtures/real/):

- table (no flag): one section per object type, ``<Type>:`` then a header row and rows;
  a blank line between sections. Names are left-aligned in 16 columns plus a space and
  never cut, so a long name pushes its row out of line. Network ids print upper case;
  endpoint, namespace and load balancer ids lower case. Namespaces and load balancers
  use ``|`` columns.
- ``-d``: each object as one line of compact JSON, keys sorted.
- ``-df``: each object as pretty JSON the way Windows' serializer writes it: 4-space
  indent, ``"Key":value`` with no space after the colon, keys sorted, and an empty object
  or array opened and closed on lines of their own with one empty line between.

Networks and endpoints are read through V1 (the objects hnsdiag shows are HNS's own
V1-style records); namespaces and load balancers through V2 (their V1 forms are
policy lists and compartments, which hnsdiag does not list).

The server comes from ``--url`` or ``HNS_EMULATOR_URL``; the token from
``HNS_EMULATOR_TOKEN``. An unreachable server is one line on stderr and exit status 1.
A flag it does not know (``-x``), or ``--url`` without a value, is one line naming it and
exit status 2; ``--version`` prints the version.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, Final, TextIO

import httpx

from api.client import HnsClient
from api.tooling import version_line
from hns.errors import HnsError

__all__ = ["main", "pretty_json", "render_table", "snapshot"]

TYPES: Final[tuple[str, ...]] = ("networks", "endpoints", "namespaces", "loadbalancers")
TITLES: Final[dict[str, str]] = {
    "networks": "Networks",
    "endpoints": "Endpoints",
    "namespaces": "Namespaces",
    "loadbalancers": "LoadBalancers",
}
NAME_WIDTH: Final[int] = 16
ID_WIDTH: Final[int] = 36
VIP_WIDTH: Final[int] = 16

USAGE: Final[str] = """\
Usage:
    hnsdiag list networks|endpoints|loadbalancers|namespaces|all [-d|-df]
    hnsdiag delete networks|endpoints|loadbalancers|namespaces <id>
    hnsdiag reset networks

Options:
    --url URL    the emulator (default: $HNS_EMULATOR_URL or http://127.0.0.1:5588)
    -d           detailed: each object as one line of JSON
    -df          detailed and formatted: each object as indented JSON
    --version    print the version
"""

Snapshot = dict[str, list[dict[str, Any]]]


# -- rendering (pure) ----------------------------------------------------------------


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _network_rows(networks: list[dict[str, Any]]) -> list[str]:
    rows = [f"{'Name':<{NAME_WIDTH}} ID"]
    rows += [f"{_s(n.get('Name')):<{NAME_WIDTH}} {_s(n.get('ID')).upper()}" for n in networks]
    return rows


def _endpoint_rows(endpoints: list[dict[str, Any]], networks: list[dict[str, Any]]) -> list[str]:
    names = {_s(n.get("ID")).lower(): _s(n.get("Name")) for n in networks}
    rows = [f"{'Name':<{NAME_WIDTH}} {'ID':<{ID_WIDTH}} Virtual Network Name"]
    for ep in endpoints:
        network = _s(ep.get("VirtualNetworkName")) or names.get(
            _s(ep.get("VirtualNetwork") or ep.get("HostComputeNetwork")).lower(), ""
        )
        rows.append(f"{_s(ep.get('Name')):<{NAME_WIDTH}} {_s(ep.get('ID')).lower()} {network}")
    return rows


def _namespace_endpoint_ids(namespace: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    for resource in namespace.get("Resources") or namespace.get("ResourceList") or []:
        if not isinstance(resource, dict) or resource.get("Type") != "Endpoint":
            continue
        data = resource.get("Data") or {}
        if isinstance(data, dict):
            ids.append(_s(data.get("ID", data.get("Id"))).lower())
    return ids


def _namespace_rows(namespaces: list[dict[str, Any]]) -> list[str]:
    rows = [f"{'ID':<{ID_WIDTH}} | Endpoint IDs"]
    for ns in namespaces:
        ids = " ".join(_namespace_endpoint_ids(ns))
        rows.append(f"{_s(ns.get('ID')).lower():<{ID_WIDTH}} | {ids}".rstrip())
    return rows


def _load_balancer_rows(load_balancers: list[dict[str, Any]]) -> list[str]:
    rows = [f"{'ID':<{ID_WIDTH}} | {'Virtual IPs':<{VIP_WIDTH}} | Direct IP IDs"]
    for lb in load_balancers:
        vips = "".join(f" {v}" for v in lb.get("FrontendVIPs") or [])
        dips = " ".join(_s(e).lower() for e in lb.get("HostComputeEndpoints") or [])
        rows.append(f"{_s(lb.get('ID')).lower():<{ID_WIDTH}} | {vips:<{VIP_WIDTH}} | {dips}")
    return rows


def render_table(snap: Snapshot, types: Sequence[str]) -> str:
    """The table output of ``hnsdiag list`` for ``types`` (in the real section order)."""
    lines: list[str] = []
    for kind in TYPES:
        if kind not in types:
            continue
        objects = snap.get(kind, [])
        if lines:
            lines.append("")  # a blank line between sections, none after the last
        lines.append(f"{TITLES[kind]}:")
        if kind == "networks":
            lines += _network_rows(objects)
        elif kind == "endpoints":
            lines += _endpoint_rows(objects, snap.get("networks", []))
        elif kind == "namespaces":
            lines += _namespace_rows(objects)
        else:
            lines += _load_balancer_rows(objects)
    return "\n".join(lines) + "\n"


def _pretty(value: Any, level: int, out: list[str]) -> None:
    pad = "    " * (level + 1)
    end = "    " * level
    if isinstance(value, dict):
        if not value:
            out.append("{\n\n" + end + "}")
            return
        out.append("{\n")
        for i, key in enumerate(sorted(value)):
            out.append(pad + json.dumps(str(key)) + ":")
            _pretty(value[key], level + 1, out)
            out.append(",\n" if i < len(value) - 1 else "\n")
        out.append(end + "}")
    elif isinstance(value, list):
        if not value:
            out.append("[\n\n" + end + "]")
            return
        out.append("[\n")
        for i, item in enumerate(value):
            out.append(pad)
            _pretty(item, level + 1, out)
            out.append(",\n" if i < len(value) - 1 else "\n")
        out.append(end + "]")
    else:
        out.append(json.dumps(value))


def pretty_json(value: Any) -> str:
    """``-df`` form of one object (see the module docstring)."""
    out: list[str] = []
    _pretty(value, 0, out)
    return "".join(out)


def compact_json(value: Any) -> str:
    """``-d`` form of one object: one line, keys sorted, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# -- reading the server --------------------------------------------------------------


def _v2_objects(client: HnsClient, kind: str) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    enumerate_ = {
        "namespaces": client.hcn_enumerate_namespaces,
        "loadbalancers": client.hcn_enumerate_load_balancers,
    }[kind]
    query = {
        "namespaces": client.hcn_query_namespace_properties,
        "loadbalancers": client.hcn_query_load_balancer_properties,
    }[kind]
    for id in enumerate_():
        try:
            objects.append(query(id))
        except HnsError:
            continue  # deleted between the enumerate and the query
    return objects


def snapshot(client: HnsClient, types: Sequence[str]) -> Snapshot:
    """The objects ``hnsdiag list`` shows for ``types``."""
    snap: Snapshot = {}
    if "networks" in types or "endpoints" in types:
        snap["networks"] = client.list_networks()
    if "endpoints" in types:
        snap["endpoints"] = client.list_endpoints()
    for kind in ("namespaces", "loadbalancers"):
        if kind in types:
            snap[kind] = _v2_objects(client, kind)
    return snap


# -- commands ------------------------------------------------------------------------


def _list(client: HnsClient, what: str, detail: str | None, out: TextIO) -> None:
    types = list(TYPES) if what == "all" else [what]
    snap = snapshot(client, types)
    if detail is None:
        out.write(render_table(snap, types))
        return
    dump: Callable[[Any], str] = pretty_json if detail == "-df" else compact_json
    for kind in TYPES:
        if kind in types:
            for obj in snap.get(kind, []):
                out.write(dump(obj) + "\n")


def _delete(client: HnsClient, what: str, id: str) -> None:
    {
        "networks": client.delete_network,
        "endpoints": client.delete_endpoint,
        "loadbalancers": client.hcn_delete_load_balancer,
        "namespaces": client.hcn_delete_namespace,
    }[what](id)


def _reset_networks(client: HnsClient) -> None:
    """Delete every network, after what would keep one alive (load balancers, endpoints)."""
    for id in client.hcn_enumerate_load_balancers():
        client.hcn_delete_load_balancer(id)
    for ep in client.list_endpoints():
        client.delete_endpoint(str(ep["ID"]))
    for network in client.list_networks():
        client.delete_network(str(network["ID"]))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hnsdiag", add_help=False, usage=USAGE)
    parser.add_argument("--url", default=None)
    parser.add_argument("-h", "--help", action="store_true")
    parser.add_argument("words", nargs="*")
    return parser


def _bad_flag(args: Sequence[str]) -> str | None:
    """What is wrong with the flags in ``args`` (after -d/-df are taken out), or None."""
    for i, arg in enumerate(args):
        if arg == "--url" and (i + 1 >= len(args) or args[i + 1].startswith("-")):
            return "--url needs a value (the emulator's URL)"
        if arg == "--url=":
            return "--url needs a value (the emulator's URL)"
        if arg.startswith("-") and arg not in ("--url", "-h", "--help") \
                and not arg.startswith("--url=") and not (i > 0 and args[i - 1] == "--url"):
            return f"unknown option {arg!r} (known: -d, -df, --url URL, --version, --help)"
    return None


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Entry point of the ``hnsdiag`` console script; returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = list(sys.argv[1:] if argv is None else argv)
    detail: str | None = None
    for flag in ("-df", "-dfl", "-d"):
        if flag in args:
            args.remove(flag)
            detail = "-df" if flag.startswith("-df") else "-d"
    if "--version" in args:
        out.write(version_line("hnsdiag") + "\n")
        return 0
    bad = _bad_flag(args)
    if bad is not None:
        err.write(f"hnsdiag: error: {bad} (see hnsdiag --help)\n")
        return 2
    ns, rest = _parser().parse_known_args(args)
    words: list[str] = list(ns.words) + rest
    valid = (
        (len(words) == 2 and words[0] == "list" and words[1] in (*TYPES, "all"))
        or (len(words) == 3 and words[0] == "delete" and words[1] in TYPES)
        or (words == ["reset", "networks"] and detail is None)
    )
    if ns.help or not valid:
        # Real hnsdiag prints its usage text for a command it does not know.
        (out if ns.help else err).write(USAGE)
        return 0 if ns.help else 1

    client = HnsClient(ns.url)
    try:
        if words[0] == "list":
            _list(client, words[1], detail, out)
        elif words[0] == "delete":
            _delete(client, words[1], words[2])
        else:
            _reset_networks(client)
    except httpx.TransportError as exc:
        cause = type(exc.__cause__ or exc).__name__
        err.write(f"hnsdiag: cannot reach the HNS emulator at {client.url}: {cause}\n")
        return 1
    except HnsError as exc:
        err.write(f"{exc.message} (0x{exc.hresult & 0xFFFFFFFF:08x})\n")
        return 1
    finally:
        client.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
