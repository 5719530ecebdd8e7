"""The per-group rule classifier: which rule of a group wins for a packet.

What?
-----
A group holds rules, each a priority, an insertion order and `Conditions`. For a packet
the group's winner is the matching rule with the smallest sort key:

* priority-based groups (VFP "Priority-based match"): key = (priority, order). The lowest
  priority number wins; between equal priorities the rule added first wins.
* LPM groups (vfpctrl match type `lpm`): key = (-L, priority, order), where L is the
  length of the longest destination prefix of the rule that contains the packet's
  destination (a range counts as the exact prefix cover of that range; a rule without a
  destination condition has L = 0). Longest prefix first, then as above.

The naive design
----------------
`LinearClassifier` tests every rule in key order and stops at the first match. It costs
about 100 ns per rule in CPython (see packets.md), i.e. 10 ms per packet at 100,000
rules. It is kept as the oracle: the tests check the indexed classifier against it on
random rule sets and packets, ties included.

The real design: tuple-space search, nested by prefix length
------------------------------------------------------------
Real policies use few distinct shapes (a handful of prefix lengths, a few protocols,
single ports or ranges). `IndexedClassifier` expands each rule into *atoms*: one per
(source prefix, destination prefix, protocol, destination port range) in the cross
product of its values (IP ranges are first cut into their exact prefix cover). Atoms are
stored in two nested levels of hash tables:

    destination prefix length -> {dst >> (W - len): {source prefix length ->
                                    {src >> (W - len): bucket}}}

where a bucket is a list of atoms sorted by key. A lookup probes one dict per distinct
destination length, and for each hit one dict per distinct source length under it, then
scans the (small, sorted) bucket, checking protocol and port range inline and the rest of
the rule's conditions (source ports, MACs, VNI) only for a candidate. The first match in a
bucket is the best of that bucket, so the scan stops there. Levels remember the smallest
key they hold and are skipped when that key cannot beat the best match found so far
(priority pruning). Cost grows with the number of distinct shapes and bucket sizes, not
with the number of rules.

A destination entry holding at most `FLAT_MAX` atoms skips the source level: its atoms
sit in one list sorted by key and are scanned with inline range checks, which costs less
than probing one dict per source length.

Rules the index cannot hold cheaply (tag conditions, or more than `MAX_ATOMS` atoms) live
in a small residual list searched linearly with the same key.

Invariants the caller must keep
-------------------------------
Rules are immutable once added. A group rebuilds its classifier after any change to its
rule set (lazily, on the next lookup); the classifier itself is never mutated.

Thread safety: none; the switch is single-threaded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from vfp.addr import range_to_prefixes
from vfp.conditions import Conditions

MAX_ATOMS = 64
SortKey = tuple[int, ...]


class Classifiable(Protocol):
    """What the classifier needs from a rule."""

    @property
    def priority(self) -> int: ...

    @property
    def order(self) -> int: ...

    @property
    def conditions(self) -> Conditions: ...


@dataclass(frozen=True, slots=True)
class Lookup:
    """The header fields a classifier reads."""

    proto: int
    src_ip: int
    dst_ip: int
    sport: int
    dport: int
    src_mac: int = 0
    dst_mac: int = 0
    vni: int | None = None
    tcp_flags: int = 0


def _matches(rule: Classifiable, k: Lookup, tags: Mapping[str, frozenset[int]] | None) -> bool:
    return rule.conditions.matches(
        k.proto, k.src_ip, k.dst_ip, k.sport, k.dport, k.src_mac, k.dst_mac, k.vni, tags,
        k.tcp_flags,
    )


def lpm_length(dst_ip: int, ranges: Sequence[tuple[int, int]], width: int) -> int:
    """Length of the longest prefix (of the ranges' exact covers) containing dst_ip."""
    best = 0
    for lo, hi in ranges:
        if lo <= dst_ip <= hi:
            for net, length in range_to_prefixes(lo, hi, width):
                host = width - length
                if net >> host == dst_ip >> host:
                    best = max(best, length)
                    break
    return best


class LinearClassifier:
    """The oracle: test every rule, keep the smallest key."""

    def __init__(self, rules: Sequence[Classifiable], *, lpm: bool = False, width: int = 32):
        self._rules = list(rules)
        self._lpm = lpm
        self._width = width

    def classify(
        self, k: Lookup, tags: Mapping[str, frozenset[int]] | None = None
    ) -> Classifiable | None:
        best: Classifiable | None = None
        best_key: SortKey | None = None
        for rule in self._rules:
            if not _matches(rule, k, tags):
                continue
            key: SortKey = (rule.priority, rule.order)
            if self._lpm:
                length = lpm_length(k.dst_ip, rule.conditions.dst_ips, self._width)
                key = (-length, *key)
            if best_key is None or key < best_key:
                best, best_key = rule, key
        return best


# An atom: (key, proto or -1, dport lo, dport hi, needs full check, rule)
_Atom = tuple[SortKey, int, int, int, bool, Classifiable]
_SrcLevel = tuple[int, SortKey, dict[int, list[_Atom]]]  # (shift, min key, table)
# A flat entry: (key, src lo, src hi, proto or -1, dport lo, dport hi, full check, rule)
_Flat = tuple[SortKey, int, int, int, int, int, bool, Classifiable]
_DstEntry = tuple[SortKey, list[_SrcLevel], list[_Flat] | None]
FLAT_MAX = 12  # a destination entry with at most this many atoms is scanned, not probed
_DstLevel = tuple[int, SortKey, dict[int, _DstEntry]]


class IndexedClassifier:
    """Tuple-space search over (dst prefix length, src prefix length); see module essay."""

    def __init__(
        self, rules: Sequence[Classifiable], *, lpm: bool = False, width: int = 32,
        flat_max: int = FLAT_MAX,
    ):
        self._lpm = lpm
        self._width = width
        residual: list[tuple[SortKey, Classifiable]] = []
        # dst_len -> dst_net -> src_len -> src_net -> atoms
        tree: dict[int, dict[int, dict[int, dict[int, list[_Atom]]]]] = {}
        for rule in rules:
            atoms = self._atoms(rule)
            if atoms is None:
                residual.append(((rule.priority, rule.order), rule))
                continue
            for dlen, dnet, slen, snet, atom in atoms:
                (
                    tree.setdefault(dlen, {})
                    .setdefault(dnet, {})
                    .setdefault(slen, {})
                    .setdefault(snet, [])
                    .append(atom)
                )
        residual.sort(key=lambda item: item[0])
        self._residual = residual
        levels: list[_DstLevel] = []
        for dlen, by_dnet in tree.items():
            dtable: dict[int, _DstEntry] = {}
            dmin: SortKey | None = None
            for dnet, by_slen in by_dnet.items():
                count = sum(len(b) for t in by_slen.values() for b in t.values())
                if count <= flat_max:
                    flat: list[_Flat] = []
                    for slen, by_snet in by_slen.items():
                        for sval, bucket in by_snet.items():
                            slo = sval << (width - slen)
                            shi = slo | ((1 << (width - slen)) - 1)
                            for key, ap, lo, hi, full, rule in bucket:
                                flat.append((key, slo, shi, ap, lo, hi, full, rule))
                    flat.sort(key=lambda a: a[0])
                    dtable[dnet] = (flat[0][0], [], flat)
                    if dmin is None or flat[0][0] < dmin:
                        dmin = flat[0][0]
                    continue
                slevels: list[_SrcLevel] = []
                emin: SortKey | None = None
                for slen, by_snet in by_slen.items():
                    smin: SortKey | None = None
                    for bucket in by_snet.values():
                        bucket.sort(key=lambda a: a[0])
                        if smin is None or bucket[0][0] < smin:
                            smin = bucket[0][0]
                    assert smin is not None
                    slevels.append((width - slen, smin, by_snet))
                    if emin is None or smin < emin:
                        emin = smin
                slevels.sort(key=lambda s: s[1])
                assert emin is not None
                dtable[dnet] = (emin, slevels, None)
                if dmin is None or emin < dmin:
                    dmin = emin
            assert dmin is not None
            levels.append((width - dlen, dmin, dtable))
        levels.sort(key=lambda lv: lv[1])
        self._levels = levels

    @property
    def shapes(self) -> int:
        """Number of distinct (dst length, src length) tables, for diagnostics."""
        seen: set[tuple[int, int]] = set()
        for dshift, _, dtable in self._levels:
            for _, slevels, _ in dtable.values():
                for sshift, _, _ in slevels:
                    seen.add((dshift, sshift))
        return len(seen)

    def _atoms(
        self, rule: Classifiable
    ) -> list[tuple[int, int, int, int, _Atom]] | None:
        c = rule.conditions
        if c.src_tags or c.dst_tags:
            return None
        w = self._width
        srcs = [p for lo, hi in c.src_ips for p in range_to_prefixes(lo, hi, w)] or [(0, 0)]
        dsts = [p for lo, hi in c.dst_ips for p in range_to_prefixes(lo, hi, w)] or [(0, 0)]
        protos = list(c.protocols) or [-1]
        dports = list(c.dst_ports) or [(0, 65535)]
        if len(srcs) * len(dsts) * len(protos) * len(dports) > MAX_ATOMS:
            return None
        full = bool(c.src_ports or c.src_macs or c.dst_macs or c.vnis or c.tcp_syn)
        out: list[tuple[int, int, int, int, _Atom]] = []
        for dnet, dlen in dsts:
            key: SortKey = (rule.priority, rule.order)
            if self._lpm:
                key = (-dlen, *key)
            for snet, slen in srcs:
                for proto in protos:
                    for lo, hi in dports:
                        atom: _Atom = (key, proto, lo, hi, full, rule)
                        out.append(
                            (dlen, dnet >> (w - dlen), slen, snet >> (w - slen), atom)
                        )
        return out

    def classify(
        self, k: Lookup, tags: Mapping[str, frozenset[int]] | None = None
    ) -> Classifiable | None:
        best: Classifiable | None = None
        best_key: SortKey | None = None
        dst, src, proto, dport = k.dst_ip, k.src_ip, k.proto, k.dport
        for dshift, dmin, dtable in self._levels:
            if best_key is not None and dmin >= best_key:
                break
            entry = dtable.get(dst >> dshift)
            if entry is None or (best_key is not None and entry[0] >= best_key):
                continue
            flat = entry[2]
            if flat is not None:
                for key, slo, shi, aproto, lo, hi, full, rule in flat:
                    if best_key is not None and key >= best_key:
                        break
                    if slo <= src <= shi and (aproto < 0 or aproto == proto) and (
                        lo <= dport <= hi) and (not full or _matches(rule, k, None)):
                        best, best_key = rule, key
                        break
                continue
            for sshift, smin, stable in entry[1]:
                if best_key is not None and smin >= best_key:
                    break
                bucket = stable.get(src >> sshift)
                if bucket is None:
                    continue
                for key, aproto, lo, hi, full, rule in bucket:
                    if best_key is not None and key >= best_key:
                        break
                    if (aproto < 0 or aproto == proto) and lo <= dport <= hi and (
                        not full or _matches(rule, k, None)
                    ):
                        best, best_key = rule, key
                        break
        for key, rule in self._residual:
            if best_key is not None and key >= best_key and not self._lpm:
                break
            if not _matches(rule, k, tags):
                continue
            if self._lpm:
                length = lpm_length(k.dst_ip, rule.conditions.dst_ips, self._width)
                key = (-length, *key)
            if best_key is None or key < best_key:
                best, best_key = rule, key
        return best
