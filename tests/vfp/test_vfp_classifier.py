"""The indexed classifier picks exactly the rule the linear oracle picks.

The generators cover the whole condition space, not only what the index holds: any
protocol number, MAC and VNI conditions (checked in full for an index candidate), tag
conditions and rules of more than MAX_ATOMS atoms (both in the unindexed residual list),
port ranges on both sides, and a tiny address space so that rules and packets collide."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from vfp.addr import prefix_range, range_to_prefixes
from vfp.classifier import IndexedClassifier, LinearClassifier, Lookup
from vfp.conditions import Conditions


@dataclass(eq=False)
class R:
    priority: int
    order: int
    conditions: Conditions


# A tiny address space (10.0.0.0/28 as ints 0..15 offsets) so rules and packets collide.
BASE = 0x0A000000


def _prefix() -> st.SearchStrategy[tuple[int, int]]:
    return st.integers(24, 32).flatmap(
        lambda n: st.integers(0, 255).map(lambda a: prefix_range(BASE + a, n, 32))
    )


def _range() -> st.SearchStrategy[tuple[int, int]]:
    return st.tuples(st.integers(0, 255), st.integers(0, 40)).map(
        lambda t: (BASE + t[0], BASE + min(255, t[0] + t[1]))
    )


_ips = st.lists(st.one_of(_prefix(), _range()), max_size=3).map(tuple)
# Many scattered single addresses: more atoms than MAX_ATOMS, so the rule is unindexed.
_scattered = st.lists(st.integers(0, 255), min_size=9, max_size=20, unique=True).map(
    lambda offs: tuple((BASE + o, BASE + o) for o in offs))
MACS = (0x00155D000001, 0x00155D000002, 0x00155D000003)
TAGS = ("pods", "nodes")
_ports = st.lists(
    st.tuples(st.integers(0, 20), st.integers(0, 10)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=2,
).map(tuple)

def _maybe(values: st.SearchStrategy[tuple[Any, ...]]) -> st.SearchStrategy[tuple[Any, ...]]:
    """Half the time no condition at all: rules must match often enough for the
    interesting cases (a tagged or unindexed rule beating an indexed one) to occur."""
    return st.one_of(st.just(()), values)


_protocols = st.lists(st.one_of(st.sampled_from([1, 6, 17]), st.integers(0, 255)),
                      min_size=1, max_size=3, unique=True).map(tuple)
_macs = st.lists(st.sampled_from(MACS), min_size=1, max_size=2, unique=True).map(tuple)
_tags = st.lists(st.sampled_from(TAGS), min_size=1, max_size=2, unique=True).map(tuple)
conditions_st = st.builds(
    Conditions,
    protocols=_maybe(_protocols),
    src_ips=st.one_of(_ips, _scattered),
    dst_ips=st.one_of(_ips, _scattered),
    src_ports=_maybe(_ports),
    dst_ports=_maybe(_ports),
    src_macs=_maybe(_macs),
    dst_macs=_maybe(_macs),
    vnis=_maybe(st.lists(st.sampled_from([4096, 4097]), min_size=1, max_size=1).map(tuple)),
    src_tags=_maybe(_tags),
    dst_tags=_maybe(_tags),
    tcp_syn=st.sampled_from([0, 0, 1, 2]),
)

# Real groups mix narrow rules with broad ones (a prefix only, or nothing: a catch-all),
# and most rules are plain 5-tuples, which the index answers without a full check.
five_tuple_st = st.builds(Conditions, protocols=_maybe(_protocols), src_ips=_ips,
                          dst_ips=_ips, dst_ports=_maybe(_ports))
any_conditions_st = st.one_of(conditions_st, five_tuple_st, five_tuple_st,
                              st.builds(Conditions, dst_ips=_ips), st.just(Conditions()))

rules_st = st.lists(
    st.tuples(st.integers(0, 5), any_conditions_st), max_size=25
).map(lambda rs: [R(p, i, c) for i, (p, c) in enumerate(rs)])

lookup_st = st.builds(
    Lookup,
    proto=st.one_of(st.sampled_from([1, 6, 17]), st.integers(0, 255)),
    src_mac=st.sampled_from((0, *MACS)),
    dst_mac=st.sampled_from((0, *MACS)),
    src_ip=st.integers(BASE, BASE + 255),
    dst_ip=st.integers(BASE, BASE + 255),
    sport=st.integers(0, 32),
    dport=st.integers(0, 32),
    vni=st.sampled_from([None, 4096, 4097]),
    tcp_flags=st.sampled_from([0x02, 0x10, 0x12]),
)


# Large IP sets, so that a packet's address is often in one and tagged rules often match.
tags_st = st.fixed_dictionaries({
    t: st.frozensets(st.integers(BASE, BASE + 255), min_size=64, max_size=250) for t in TAGS})


def _pick(data: st.DataObject, ranges: tuple[tuple[int, int], ...], other: int) -> int:
    if not ranges:
        return other
    lo, hi = data.draw(st.sampled_from(ranges))
    return data.draw(st.integers(lo, hi))


def aimed_lookup(data: st.DataObject, rules: list[R]) -> Lookup:
    """A packet built to satisfy one rule's conditions (its addresses, ports, protocol,
    MACs, VNI, SYN flag), so that several rules, indexed and residual, match at once;
    random packets alone rarely match more than one rule."""
    k = data.draw(lookup_st)
    if not rules:
        return k
    c = data.draw(st.sampled_from(rules)).conditions
    syn = {0: k.tcp_flags, 1: 0x02, 2: 0x10}[c.tcp_syn]
    return Lookup(
        proto=data.draw(st.sampled_from(c.protocols)) if c.protocols else k.proto,
        src_ip=_pick(data, c.src_ips, k.src_ip), dst_ip=_pick(data, c.dst_ips, k.dst_ip),
        sport=_pick(data, c.src_ports, k.sport), dport=_pick(data, c.dst_ports, k.dport),
        src_mac=data.draw(st.sampled_from(c.src_macs)) if c.src_macs else k.src_mac,
        dst_mac=data.draw(st.sampled_from(c.dst_macs)) if c.dst_macs else k.dst_mac,
        vni=data.draw(st.sampled_from(c.vnis)) if c.vnis else k.vni,
        tcp_flags=syn,
    )


def _packets(data: st.DataObject, rules: list[R]) -> list[Lookup]:
    return [aimed_lookup(data, rules) if data.draw(st.booleans()) else data.draw(lookup_st)
            for _ in range(data.draw(st.integers(1, 12)))]


@settings(max_examples=100, deadline=None)
@given(rules=rules_st, data=st.data(), flat_max=st.sampled_from([0, 3, 12, 1000]),
       tags=tags_st)
def test_indexed_classifier_matches_linear_oracle_priority_based(
    rules: list[R], data: st.DataObject, flat_max: int, tags: dict[str, frozenset[int]]
) -> None:
    indexed = IndexedClassifier(rules, flat_max=flat_max)
    linear = LinearClassifier(rules)
    for k in _packets(data, rules):
        assert indexed.classify(k, tags) is linear.classify(k, tags)


@settings(max_examples=80, deadline=None)
@given(rules=rules_st, data=st.data(), flat_max=st.sampled_from([0, 3, 12, 1000]),
       tags=tags_st)
def test_indexed_classifier_matches_linear_oracle_lpm(
    rules: list[R], data: st.DataObject, flat_max: int, tags: dict[str, frozenset[int]]
) -> None:
    indexed = IndexedClassifier(rules, lpm=True, flat_max=flat_max)
    linear = LinearClassifier(rules, lpm=True)
    for k in _packets(data, rules):
        assert indexed.classify(k, tags) is linear.classify(k, tags)


def test_classifier_ties_go_to_the_first_added_rule() -> None:
    c = Conditions(dst_ips=((BASE, BASE + 255),))
    rules = [R(5, 0, Conditions()), R(3, 1, c), R(3, 2, c), R(3, 3, Conditions())]
    k = Lookup(6, BASE, BASE + 1, 1, 2)
    assert IndexedClassifier(rules).classify(k) is rules[1]
    assert LinearClassifier(rules).classify(k) is rules[1]


def test_classifier_lpm_prefers_longest_prefix_over_priority() -> None:
    wide = R(1, 0, Conditions(dst_ips=(prefix_range(BASE, 8, 32),)))
    narrow = R(9, 1, Conditions(dst_ips=(prefix_range(BASE, 24, 32),)))
    k = Lookup(6, 1, BASE + 7, 1, 2)
    assert IndexedClassifier([wide, narrow], lpm=True).classify(k) is narrow
    assert IndexedClassifier([wide, narrow]).classify(k) is wide


def test_classifier_rule_with_many_values_uses_residual_and_still_matches() -> None:
    many = Conditions(
        src_ips=tuple((BASE + i, BASE + i) for i in range(0, 40, 2)),
        dst_ips=tuple((BASE + i, BASE + i) for i in range(1, 40, 2)),
    )
    rules = [R(1, 0, many), R(2, 1, Conditions())]
    k = Lookup(6, BASE + 4, BASE + 7, 1, 2)
    assert IndexedClassifier(rules).classify(k) is rules[0]
    assert IndexedClassifier(rules).classify(Lookup(6, BASE + 5, BASE + 7, 1, 2)) is rules[1]


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**16))
def test_range_to_prefixes_covers_range_exactly(lo: int, span: int) -> None:
    hi = min(2**32 - 1, lo + span)
    pieces = range_to_prefixes(lo, hi, 32)
    covered = [prefix_range(net, n, 32) for net, n in pieces]
    assert covered[0][0] == lo
    assert covered[-1][1] == hi
    for (a_lo, a_hi), (b_lo, _) in itertools.pairwise(covered):
        assert a_hi + 1 == b_lo
        assert a_lo <= a_hi
