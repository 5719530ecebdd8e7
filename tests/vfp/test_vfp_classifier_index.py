"""What the oracle test of test_vfp_classifier.py cannot see, since the linear oracle
shares it or never looks at it: `lpm_length` (used by both classifiers for LPM groups)
against Python's ipaddress (the length of the prefix of a range's exact cover,
ipaddress.summarize_address_range, that holds the address; the longest over a rule's
ranges; 0 when none holds it), and the index's `shapes` diagnostic (distinct
(destination length, source length) tables)."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from vfp.classifier import MAX_ATOMS, IndexedClassifier, LinearClassifier, Lookup, lpm_length
from vfp.conditions import Conditions

BASE = 0x0A000000


def _cover_length(addr: int, lo: int, hi: int, version: int) -> int:
    make = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    for net in ipaddress.summarize_address_range(make(lo), make(hi)):
        if make(addr) in net:
            return net.prefixlen
    return 0


ranges = st.lists(st.tuples(st.integers(0, 255), st.integers(0, 80)).map(
    lambda t: (BASE + t[0], BASE + t[0] + t[1])), max_size=3)


@settings(max_examples=200, deadline=None)
@given(ranges, st.integers(0, 340))
def test_lpm_length_is_the_longest_cover_prefix_holding_the_address(
        rs: list[tuple[int, int]], offset: int) -> None:
    addr = BASE + offset
    want = max((_cover_length(addr, lo, hi, 4) for lo, hi in rs), default=0)
    assert lpm_length(addr, rs, 32) == want


def test_lpm_length_examples() -> None:
    r = [(BASE + 1, BASE + 6)]  # 10.0.0.1/32, .2/31, .4/31, .6/32
    assert [lpm_length(BASE + i, r, 32) for i in range(8)] == [0, 32, 31, 31, 31, 31, 32, 0]
    whole = [(BASE, BASE + 255), (BASE + 16, BASE + 31)]  # a /24 and a /28 inside it
    assert lpm_length(BASE + 20, whole, 32) == 28
    assert lpm_length(BASE + 40, whole, 32) == 24
    v6 = 0xFD00 << 112
    assert lpm_length(v6 + 5, [(v6, v6 + 7)], 128) == 125
    assert lpm_length(v6 + 9, [(v6, v6 + 7)], 128) == 0


class _Rule:
    def __init__(self, order: int, conditions: Conditions) -> None:
        self.priority, self.order, self.conditions = 1, order, conditions


def test_shapes_counts_distinct_destination_and_source_lengths() -> None:
    net24 = (BASE, BASE + 255)
    net16 = (BASE, BASE + 0xFFFF)
    host = (BASE + 7, BASE + 7)
    rules = [
        _Rule(0, Conditions(dst_ips=(net24,), src_ips=(host,))),  # (24, 32)
        _Rule(1, Conditions(dst_ips=(net24,), src_ips=(net16,))),  # (24, 16)
        _Rule(2, Conditions(dst_ips=(host,))),  # (32, 0)
        _Rule(3, Conditions(dst_ips=(net24,), src_ips=(host,))),  # (24, 32) again
        _Rule(4, Conditions(src_tags=("pods",))),  # unindexed: no shape
    ]
    assert IndexedClassifier(rules, flat_max=0).shapes == 3
    # a destination entry of at most flat_max atoms is one flat list: no source tables
    assert IndexedClassifier(rules, flat_max=3).shapes == 0  # the /24 entry holds 3
    assert IndexedClassifier(rules, flat_max=2).shapes == 2
    assert IndexedClassifier([], flat_max=0).shapes == 0


def test_a_tag_condition_is_checked_wherever_the_rule_is_kept() -> None:
    tagged = _Rule(0, Conditions(src_tags=("pods",), dst_ips=((BASE, BASE + 255),)))
    tagged.priority = 1
    catch_all = _Rule(1, Conditions())
    catch_all.priority = 5
    tags = {"pods": frozenset({BASE + 1})}
    for flat_max in (0, 12):
        for linear in (False, True):
            c = (LinearClassifier([tagged, catch_all]) if linear
                 else IndexedClassifier([tagged, catch_all], flat_max=flat_max))
            assert c.classify(Lookup(6, BASE + 1, BASE + 9, 1, 2), tags) is tagged
            assert c.classify(Lookup(6, BASE + 2, BASE + 9, 1, 2), tags) is catch_all


def test_rules_of_more_than_max_atoms_atoms_are_left_out_of_the_index() -> None:
    def scattered(n: int) -> _Rule:  # n single addresses, two apart: n /32 atoms
        return _Rule(0, Conditions(dst_ips=tuple((BASE + 2 * i, BASE + 2 * i)
                                                 for i in range(n))))

    assert IndexedClassifier([scattered(MAX_ATOMS)], flat_max=0).shapes == 1  # (32, 0)
    assert IndexedClassifier([scattered(MAX_ATOMS + 1)], flat_max=0).shapes == 0
    k = Lookup(6, 1, BASE + 2 * MAX_ATOMS, 1, 2)  # the 65th address
    rule = scattered(MAX_ATOMS + 1)
    assert IndexedClassifier([rule]).classify(k) is rule


# One condition the index does not hold (it is checked in full for an index candidate),
# a packet that meets it and one that does not.
UNINDEXED = {
    "src_ports": (Conditions(src_ports=((1000, 1000),)), {"sport": 1000}, {"sport": 1001}),
    "src_macs": (Conditions(src_macs=(0x00155D000001,)), {"src_mac": 0x00155D000001},
                 {"src_mac": 0x00155D000002}),
    "dst_macs": (Conditions(dst_macs=(0x00155D000002,)), {"dst_mac": 0x00155D000002},
                 {"dst_mac": 0x00155D000001}),
    "vnis": (Conditions(vnis=(4096,)), {"vni": 4096}, {"vni": 4097}),
    "tcp_syn": (Conditions(tcp_syn=1), {"tcp_flags": 0x02}, {"tcp_flags": 0x10}),
}


def test_each_condition_outside_the_index_is_still_checked() -> None:
    for name, (cond, meets, misses) in UNINDEXED.items():
        rule = _Rule(0, cond)
        catch_all = _Rule(1, Conditions())
        catch_all.priority = 2
        for c in (IndexedClassifier([rule, catch_all], flat_max=0),
                  IndexedClassifier([rule, catch_all]), LinearClassifier([rule, catch_all])):
            base = {"proto": 6, "src_ip": BASE + 1, "dst_ip": BASE + 2, "sport": 5,
                    "dport": 6}
            assert c.classify(Lookup(**{**base, **meets})) is rule, name
            assert c.classify(Lookup(**{**base, **misses})) is catch_all, name


def test_range_ends_are_inside_and_their_neighbours_outside() -> None:
    src, dst, ports = (BASE + 4, BASE + 7), (BASE + 16, BASE + 31), (80, 90)
    rule = _Rule(0, Conditions(protocols=(6,), src_ips=(src,), dst_ips=(dst,),
                               dst_ports=(ports,)))
    other = _Rule(1, Conditions(dst_ips=((BASE + 8, BASE + 8),)))  # keeps the index busy
    for lpm in (False, True):
        for flat_max in (0, 1000):
            c = IndexedClassifier([rule, other], lpm=lpm, flat_max=flat_max)
            for s in (src[0] - 1, src[0], src[1], src[1] + 1):
                for d in (dst[0] - 1, dst[0], dst[1], dst[1] + 1):
                    for port in (ports[0] - 1, ports[0], ports[1], ports[1] + 1):
                        for proto in (6, 17):
                            inside = (src[0] <= s <= src[1] and dst[0] <= d <= dst[1]
                                      and ports[0] <= port <= ports[1] and proto == 6)
                            got = c.classify(Lookup(proto, s, d, 1, port))
                            assert (got is rule) == inside, (lpm, flat_max, s, d, port, proto)


def test_protocol_0_is_a_protocol_not_any() -> None:
    """Protocol 0 (HOPOPT) is a value like any other; "any protocol" is no condition."""
    hopopt = _Rule(0, Conditions(protocols=(0,), dst_ips=((BASE, BASE + 255),)))
    for flat_max in (0, 1000):
        for lpm in (False, True):
            c = IndexedClassifier([hopopt], flat_max=flat_max, lpm=lpm)
            assert c.classify(Lookup(0, BASE, BASE + 1, 0, 0)) is hopopt
            assert c.classify(Lookup(6, BASE, BASE + 1, 0, 0)) is None
