"""hns.ipam against a plain oracle: whatever the sequence of allocations, caller-given
values and releases, the next value a pool gives is the lowest free one (in range, not
reserved, not used), and None exactly when there is none; subnet pools reserve the
network, broadcast (IPv4) and gateway addresses."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hns.ipam import Pool, subnet_pool

# Real pool bounds are large integers (10.0.0.100..10.0.0.115 here): arithmetic on them
# must not be confused with arithmetic on offsets.
# A small range, so that sequences fill it, wrap around and reuse values often.
FIRST, LAST = 0x0A000064, 0x0A00006B

ops = st.lists(st.one_of(
    st.tuples(st.just("alloc"), st.just(0)),
    st.tuples(st.just("alloc"), st.just(0)),
    st.tuples(st.just("give"), st.integers(FIRST - 2, LAST + 2)),
    st.tuples(st.just("release"), st.integers(FIRST - 2, LAST + 2)),
), max_size=60)


@settings(max_examples=200, deadline=None)
@given(reserved=st.frozensets(st.integers(FIRST, LAST), max_size=3), steps=ops)
def test_pool_always_gives_the_lowest_free_value(reserved: frozenset[int],
                                                 steps: list[tuple[str, int]]) -> None:
    pool = Pool(FIRST, LAST, reserved)
    used: set[int] = set()

    def lowest_free() -> int | None:
        free = [v for v in range(FIRST, LAST + 1) if v not in reserved and v not in used]
        return min(free, default=None)

    for op, value in steps:
        assert pool.peek(used.__contains__) == lowest_free(), (op, value, sorted(used))
        if op == "alloc":
            got = pool.peek(used.__contains__)
            if got is not None:
                used.add(got)
                pool.taken(got)
        elif op == "give" and value not in used and value not in reserved:
            used.add(value)  # the caller names an address (any, even outside the range)
            if pool.contains(value):
                pool.taken(value)
        elif op == "release" and value in used:
            used.discard(value)
            pool.release(value)
    assert pool.peek(used.__contains__) == lowest_free()


drop_ops = st.lists(st.one_of(
    st.tuples(st.just("alloc"), st.just(0)),
    st.tuples(st.just("alloc"), st.just(0)),
    st.tuples(st.just("alloc"), st.just(0)),
    st.tuples(st.just("give"), st.integers(FIRST, LAST)),
    st.tuples(st.just("drop"), st.integers(FIRST, LAST)),
), max_size=60)


@settings(max_examples=200, deadline=None)
@given(reserved=st.frozensets(st.integers(FIRST, LAST), max_size=3), steps=drop_ops)
def test_pool_finds_holes_it_was_never_told_about(reserved: frozenset[int],
                                                  steps: list[tuple[str, int]]) -> None:
    """The caller's index is the truth: a value can become free without release() (state
    reloaded, index rebuilt). The pool then still gives a free value, and None only when
    none is free."""
    pool = Pool(FIRST, LAST, reserved)
    used: set[int] = set()
    for op, value in steps:
        got = pool.peek(used.__contains__)
        free = {v for v in range(FIRST, LAST + 1) if v not in reserved and v not in used}
        assert (got is None) == (not free), (op, value, got, sorted(free))
        assert got is None or got in free
        if op == "alloc" and got is not None:
            used.add(got)
            pool.taken(got)
        elif op == "give" and value not in used and value not in reserved:
            used.add(value)
            pool.taken(value)
        elif op == "drop":
            used.discard(value)  # freed behind the pool's back: no release()


def test_pool_bounds_are_inclusive() -> None:
    pool = Pool(10, 12)
    assert [pool.contains(v) for v in (9, 10, 11, 12, 13)] == [False, True, True, True, False]
    used = {10, 11, 12}
    assert pool.peek(used.__contains__) is None
    used.discard(10)
    pool.release(10)
    assert pool.peek(used.__contains__) == 10


def _v(text: str) -> int:
    return int(ipaddress.ip_address(text))


@pytest.mark.parametrize(("prefix", "gateway", "first", "last", "reserved"), [
    ("10.0.0.0/24", "10.0.0.1", "10.0.0.0", "10.0.0.255",
     {"10.0.0.0", "10.0.0.255", "10.0.0.1"}),
    ("10.0.0.5/24", None, "10.0.0.0", "10.0.0.255", {"10.0.0.0", "10.0.0.255"}),
    ("10.0.0.0/31", None, "10.0.0.0", "10.0.0.1", set()),
    ("10.0.0.7/32", None, "10.0.0.7", "10.0.0.7", set()),
    ("fd00::/120", "fd00::1", "fd00::", "fd00::ff", {"fd00::", "fd00::1"}),
    ("10.0.0.0/30", "not an address", "10.0.0.0", "10.0.0.3", {"10.0.0.0", "10.0.0.3"}),
])
def test_subnet_pool_reserves_network_broadcast_and_gateway(
    prefix: str, gateway: str | None, first: str, last: str, reserved: set[str]
) -> None:
    pool = subnet_pool(prefix, gateway)
    assert pool is not None
    assert (pool.first, pool.last) == (_v(first), _v(last))
    assert pool.reserved == frozenset(_v(r) for r in reserved)


def test_subnet_pool_of_a_bad_prefix_is_none() -> None:
    assert subnet_pool("10.0.0.0/33", None) is None
