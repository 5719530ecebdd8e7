"""The cyclic garbage collector's policy in a server process: no survivor is walked twice.

A full (generation 2) collection holds the GIL while it walks every object the collector
tracks that is not frozen, and so stops the event loop and the call threads for as long.
What a server builds and keeps (stored objects, compiled rules, shared VFP groups) is
almost all long-lived, and every load balancer created through HTTP adds thousands of
such objects; at kube-proxy scale one full collection walked the 5,000 load balancers'
objects for 100-250 ms (bench/scale.py with HNS_EMULATOR_DEBUG_STALLS, api/stalls.py),
which set both the worst health latency and the LB create p99.

So after every full collection the survivors are frozen (``gc.freeze()``): they have just
been proved reachable, and the next full collection walks only what was promoted since.
And a full collection may follow every second young one (threshold 1 instead of 10), so
what it walks stays small.  Measured in process (CPU time of the collecting thread, 5,000
LB creates on the full node): the worst full collection went from 172 ms (growing 38,
75, 130, 157, 172 as LBs accumulate) to 40 ms with the freeze, and to 22 ms once, then
3-7 ms, with the threshold; total full-collection CPU from 573 to 122 ms.

Young collections (generations 0 and 1) run as before and still free the short-lived
cycles a request leaves behind.  What frozen objects later drop is still freed by
reference counting; only a cycle among frozen objects waits for ``gc.unfreeze()`` (the
bulk operations already freeze their results the same way: api/app.py, api/cli.py).
Measured after bench/scale.py --quick's mixed load (about 5,000 creates, modifies and
deletes): ``gc.unfreeze(); gc.collect()`` found 2,145 such objects (785 without this
policy), so the cost in memory is small.

``install()`` is called once by the server (api/serving.py), not by ``create_app``: a
test process that builds apps keeps the interpreter's default behaviour.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator
from typing import Any, Final

__all__ = ["FULL_AFTER", "freeze_after_full", "install", "installed", "uninstall",
           "whole_state"]


def freeze_after_full(phase: str, info: dict[str, Any]) -> None:
    """``gc.callbacks`` hook: freeze the survivors of a full collection once it ends."""
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


#: A full collection may run after this many young (generation 1) ones (CPython: 10).
FULL_AFTER: Final = 1
_saved: list[tuple[int, int, int]] = []


def install() -> None:
    """Freeze the survivors of every full collection from now on, and collect fully more
    often (idempotent)."""
    if freeze_after_full not in gc.callbacks:
        gc.callbacks.append(freeze_after_full)
        young, middle, full = gc.get_threshold()
        _saved.append((young, middle, full))
        gc.set_threshold(young, middle, FULL_AFTER)


def uninstall() -> None:
    if freeze_after_full in gc.callbacks:
        gc.callbacks.remove(freeze_after_full)
        if _saved:
            gc.set_threshold(*_saved.pop())


def installed() -> bool:
    return freeze_after_full in gc.callbacks


_pause_lock = threading.Lock()
_pauses = [0, True]  # [operations running, whether the collector was enabled before]


@contextlib.contextmanager
def whole_state() -> Iterator[None]:
    """Around a whole-state operation (state load, reset, restart, import): no collection
    while it runs, and what it built is frozen *before* collection resumes.

    A full sync already pauses the collector (hns/compiler/fresh.py), but re-enabling it
    left the sync's hundreds of thousands of new objects in the youngest generation,
    whose count was far past its threshold: the next allocation started a collection of
    all of them (108 ms of CPU after a service restart at full size, stall log), before
    the caller could freeze them.  Nested and concurrent uses count; the last one out
    freezes and restores the collector as it found it."""
    with _pause_lock:
        if _pauses[0] == 0:
            _pauses[1] = gc.isenabled()
            gc.disable()
        _pauses[0] += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses[0] -= 1
            if _pauses[0] == 0:
                gc.freeze()  # also resets the youngest generation's count
                if _pauses[1]:
                    gc.enable()
