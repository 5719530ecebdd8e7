"""The indexed classifier picks exactly the rule the linear oracle picks."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

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
_ports = st.lists(
    st.tuples(st.integers(0, 20), st.integers(0, 10)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=2,
).map(tuple)

conditions_st = st.builds(
    Conditions,
    protocols=st.lists(st.sampled_from([1, 6, 17]), max_size=2, unique=True).map(tuple),
    src_ips=_ips,
    dst_ips=_ips,
    src_ports=_ports,
    dst_ports=_ports,
    vnis=st.lists(st.sampled_from([4096, 4097]), max_size=1).map(tuple),
    tcp_syn=st.sampled_from([0, 0, 1, 2]),
)

rules_st = st.lists(
    st.tuples(st.integers(0, 5), conditions_st), max_size=25
).map(lambda rs: [R(p, i, c) for i, (p, c) in enumerate(rs)])

lookup_st = st.builds(
    Lookup,
    proto=st.sampled_from([1, 6, 17]),
    src_ip=st.integers(BASE, BASE + 255),
    dst_ip=st.integers(BASE, BASE + 255),
    sport=st.integers(0, 32),
    dport=st.integers(0, 32),
    vni=st.sampled_from([None, 4096, 4097]),
    tcp_flags=st.sampled_from([0x02, 0x10, 0x12]),
)


@settings(max_examples=150, deadline=None)
@given(rules=rules_st, packets=st.lists(lookup_st, min_size=1, max_size=20),
       flat_max=st.sampled_from([0, 3, 12, 1000]))
def test_indexed_classifier_matches_linear_oracle_priority_based(
    rules: list[R], packets: list[Lookup], flat_max: int
) -> None:
    indexed = IndexedClassifier(rules, flat_max=flat_max)
    linear = LinearClassifier(rules)
    for k in packets:
        assert indexed.classify(k) is linear.classify(k)


@settings(max_examples=100, deadline=None)
@given(rules=rules_st, packets=st.lists(lookup_st, min_size=1, max_size=20),
       flat_max=st.sampled_from([0, 3, 12, 1000]))
def test_indexed_classifier_matches_linear_oracle_lpm(
    rules: list[R], packets: list[Lookup], flat_max: int
) -> None:
    indexed = IndexedClassifier(rules, lpm=True, flat_max=flat_max)
    linear = LinearClassifier(rules, lpm=True)
    for k in packets:
        assert indexed.classify(k) is linear.classify(k)


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
