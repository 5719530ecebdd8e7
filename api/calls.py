"""How the HTTP front end runs a backend call without ever blocking its event loop.

The service (hns/service/) is synchronous: one lock per operation, SQLite writes, the
compiler's listeners.  Run inline on the event loop, one slow call (a big LB create, a
restart re-reading the store, a call waiting on the lock) held up every other request,
health checks and the request that would clear a hang included.  So every object call
goes to a small thread pool of its own, and the one wait that could be long, a Latency or
Hang fault rule, happens *here*, on the loop, before the call is handed to a thread:

- the faults of the call are decided once its body is fully read (a rule added while the
  body is still arriving applies to it, as it would on a real HNS that has not yet seen
  the call), then awaited with ``FaultSet.wait_async`` (one future per waiter, woken all
  at once when the rules are cleared or the service stops, cancelled with the task);
- the decision travels to the service through ``hns.faults.decided``, so the service
  neither rolls the rules again nor sleeps in a worker thread; no thread is ever held by
  a fault wait, so fifty hung calls take no thread and stall nothing.

A backend without ``faults`` (the wire tests' fake) simply has its calls run in the pool.

The loop shares the GIL with those threads, and the cyclic garbage collector stops them all:
at kube-proxy scale a full collection walks millions of compiled objects for seconds.  So
what a whole-state operation (startup, state load, service restart) built is moved out of
the collector's reach with ``gc.freeze()`` (api/cli.py; api/collector.py's
``whole_state`` for the routes), and the server freezes the survivors of every full
collection (api/collector.py); frozen objects are still freed by reference counting.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

from hns.faults import Decision, decided, v1_call_name, v2_call_name

__all__ = ["CALL_THREADS", "CallRunner"]

#: Worker threads for object calls.  The service serialises them under its lock, so more
#: threads would only queue on it and compete with the event loop for the GIL; two let one
#: call's parsing overlap another's work under the lock.
CALL_THREADS: Final = 2


class CallRunner:
    """``await runner(fn, *args)``: ``fn(*args)`` in the pool, with the fault waits of an
    ``hns_call``/``hcn_call`` done on the loop first."""

    def __init__(self, service: Any, *, threads: int = CALL_THREADS) -> None:
        self._service = service
        self._faults = getattr(service, "faults", None)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="hns-call")

    async def __call__(self, fn: Callable[..., Any], *args: Any) -> Any:
        decision = None
        name = self._call_name(fn, args)
        if name is not None:
            decision = await self._decide(name)
        loop = asyncio.get_running_loop()
        # the request's context goes along (strict mode is a context variable: hns/strict.py)
        context = contextvars.copy_context()
        return await loop.run_in_executor(self._pool, context.run, _run, decision, fn, args)

    def close(self) -> None:
        """Stop taking calls (a call already running finishes in its thread)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _call_name(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> str | None:
        if self._faults is None:
            return None
        if fn == getattr(self._service, "hns_call", None) and len(args) >= 2:
            return v1_call_name(args[0], args[1])
        if fn == getattr(self._service, "hcn_call", None) and args:
            return v2_call_name(args[0], args[1] if len(args) > 1 else None)
        return None

    async def _decide(self, name: str) -> Decision:
        service = self._service
        if not service.running:
            # A stopped HNS answers "down" at once; no rule is used up by the call.
            return Decision(waited=True)
        assert self._faults is not None
        decision: Decision = self._faults.decide(name)
        decision.generation = service.calls.generation
        if decision.waits:
            decision.ended = await self._faults.wait_async(decision)
        decision.waited = True
        return decision


def _run(decision: Decision | None, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    token = decided.set(decision)
    try:
        return fn(*args)
    finally:
        decided.reset(token)
