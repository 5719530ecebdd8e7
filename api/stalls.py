"""Opt-in stall diagnostics: who held the event loop (or the GIL) when it did not run.

``HNS_EMULATOR_DEBUG_STALLS=PATH`` (api/serving.py starts it when the server listens)
appends JSON lines to PATH for every time the event loop went more than
``HNS_EMULATOR_STALL_MS`` (20 by default) without running (``Late``: the loop's own
record; ``Stall``: the watchdog's, with stacks), and one summary line when the server
stops.  ``At`` is seconds since the server started listening.

- a heartbeat task on the loop wakes every 2 ms and records when it last ran, and how
  late each wake-up was (the loop's own lag, measured in the server, whatever the
  client's process suffers);
- a watchdog thread notices a heartbeat older than the threshold and takes
  ``sys._current_frames()`` of every thread (up to ``SAMPLES`` per stall), so the line
  says what the loop thread and the call threads were doing while the loop did not run;
- ``gc.callbacks`` time every cyclic collection (generation, wall and CPU ms, objects
  collected): a collection stops every thread, the loop included, and holds the GIL
  throughout, so the watchdog cannot sample it; the stall line lists the collections
  inside it;
- a heartbeat later than the threshold is also kept with the process CPU used meanwhile:
  on a shared machine a long lag with little CPU is the machine not running the server,
  a lag with CPU close to it is the server's own work (the summary's
  ``LoopLagWorstOnCpuMs`` caps each lag at that CPU).

Off by default: nothing here runs unless the variable is set.  The benchmark
(bench/scale.py) sets it and reports the summary next to its wall-clock figures.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import threading
import time
import traceback
from collections import Counter, deque
from typing import Any, Final, TextIO

__all__ = ["ENV", "StallMonitor", "start_from_env"]

ENV: Final = "HNS_EMULATOR_DEBUG_STALLS"
THRESHOLD_ENV: Final = "HNS_EMULATOR_STALL_MS"
#: Heartbeat period on the loop and watchdog period in its thread (seconds).
BEAT_S: Final = 0.002
#: Stack samples kept per stall, and frames kept per thread.
SAMPLES: Final = 3
FRAMES: Final = 14


def _stacks(skip: int) -> dict[str, list[str]]:
    names = {t.ident: t.name for t in threading.enumerate()}
    out: dict[str, list[str]] = {}
    for ident, frame in sys._current_frames().items():
        if ident == skip:
            continue
        summary = traceback.extract_stack(frame)[-FRAMES:]
        out[names.get(ident, str(ident))] = [
            f"{os.path.relpath(f.filename) if not f.filename.startswith('<') else f.filename}"
            f":{f.lineno} {f.name}" for f in summary]
    return out


class StallMonitor:
    """The heartbeat, the watchdog and the gc timer, writing to ``log``."""

    def __init__(self, log: TextIO, threshold_ms: float = 20.0) -> None:
        self._log = log
        self.owns_log = False  # start_from_env opened it: stop() closes it
        self._threshold = threshold_ms / 1000
        self._beat = self._started = time.perf_counter()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._gc_started = self._gc_cpu = 0.0
        # (end, gen, ms, collected); appended by the gc callback without a lock: a
        # collection can start inside any allocation, also one made under our own lock.
        self._gcs: deque[tuple[float, int, float, int]] = deque(maxlen=200)
        self.lags: list[float] = []  # ms late, every heartbeat over 5 ms late
        self.stalls: list[dict[str, Any]] = []
        # (seconds since start, ms late, process CPU ms meanwhile, [(generation, gc ms)]):
        # the heartbeats later than the threshold
        self.late: list[tuple[float, float, float, list[tuple[int, float]]]] = []
        self.gc_ms: dict[int, float] = {}
        self.gc_count: Counter[int] = Counter()
        self.gc_worst: dict[int, float] = {}
        self.gc_worst_cpu: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._task = loop.create_task(self._heartbeat())
        gc.callbacks.append(self._on_gc)
        self._thread = threading.Thread(target=self._watch, name="stall-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, Any]:
        """Stop everything and write (and return) the summary line."""
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        summary = self.summary()
        self._write({"Summary": summary})
        if self.owns_log:
            self._log.close()
        return summary

    def summary(self) -> dict[str, Any]:
        worst = sorted(self.stalls, key=lambda s: -s["Ms"])[:5]
        return {
            "LoopLagWorstMs": round(max(self.lags, default=0.0), 1),
            "LoopLagsOver20Ms": sum(1 for lag in self.lags if lag > 20),
            "LoopLagsOver50Ms": sum(1 for lag in self.lags if lag > 50),
            "Stalls": len(self.stalls),
            "GcMsByGeneration": {g: round(ms, 1) for g, ms in sorted(self.gc_ms.items())},
            "GcCountByGeneration": dict(sorted(self.gc_count.items())),
            "GcWorstMsByGeneration": {g: round(ms, 1) for g, ms in sorted(self.gc_worst.items())},
            "GcWorstCpuMsByGeneration": {g: round(ms, 1)
                                         for g, ms in sorted(self.gc_worst_cpu.items())},
            # the worst lag the process could have caused: each lag capped at the CPU the
            # process used meanwhile (a starved process uses none)
            "LoopLagWorstOnCpuMs": round(max((min(late, cpu) for _, late, cpu, _ in self.late),
                                             default=0.0), 1),
            "WorstLate": [{"At": at, "Ms": late, "CpuMs": cpu, "Gc": gcs} for at, late, cpu, gcs
                          in sorted(self.late, key=lambda x: -x[1])[:5]],
            "WorstStalls": [{"At": s["At"], "Ms": s["Ms"], "Gc": s["Gc"], "Where": s["Where"]}
                            for s in worst],
        }

    # -- on the loop -----------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            due = time.perf_counter() + BEAT_S
            cpu = time.process_time()
            await asyncio.sleep(BEAT_S)
            now = time.perf_counter()
            self._beat = now
            late = (now - due) * 1000
            if late > 5:
                self.lags.append(late)
            if late > self._threshold * 1000:
                # The loop's own record: it also sees the stalls the watchdog cannot
                # sample (a collection or a C call holding the GIL throughout).  The CPU
                # the process used meanwhile tells the server's own work (CPU close to
                # the lag) from a machine that did not run it (CPU far below the lag).
                used = (time.process_time() - cpu) * 1000
                gcs = [(g, round(ms, 1)) for end, g, ms, _ in list(self._gcs) if end >= due]
                entry = (round(now - self._started, 3), round(late, 1), round(used, 1), gcs)
                self.late.append(entry)
                self._write({"Late": {"At": entry[0], "Ms": entry[1], "CpuMs": entry[2],
                                      "Gc": gcs}})

    # -- in the watchdog thread ------------------------------------------------------

    def _watch(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(BEAT_S):
            began = self._beat
            if time.perf_counter() - began < self._threshold:
                continue
            samples: list[dict[str, list[str]]] = []
            while self._beat == began and not self._stop.is_set():
                if len(samples) < SAMPLES:
                    samples.append(_stacks(me))
                time.sleep(BEAT_S)
            self._record(began, self._beat, samples)

    def _record(self, began: float, ended: float, samples: list[dict[str, list[str]]]) -> None:
        gcs = [(g, round(ms, 1), n) for end, g, ms, n in list(self._gcs)
               if began <= end <= ended + 0.001]
        ms = round((ended - began) * 1000 - BEAT_S * 1000, 1)
        where = ""
        if samples:
            # The innermost frame of the busiest non-idle thread in the first sample.
            for name, frames in samples[0].items():
                if frames and not frames[-1].endswith((" wait", " select", " _worker",
                                                       " sleep", " _watch")):
                    where = f"{name}: {frames[-1]}"
                    break
        stall = {"At": round(began - self._started, 3), "Ms": ms, "Gc": gcs, "Where": where,
                 "Samples": samples}
        self.stalls.append({k: v for k, v in stall.items() if k != "Samples"})
        self._write({"Stall": stall})

    def _write(self, doc: dict[str, Any]) -> None:
        with self._lock:
            self._log.write(json.dumps(doc) + "\n")
            self._log.flush()

    # -- gc.callbacks (any thread, GIL held) -------------------------------------------

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._gc_started, self._gc_cpu = now, time.thread_time()
            return
        gen = int(info.get("generation", -1))
        ms = (now - self._gc_started) * 1000
        # CPU of the collecting thread: the collection's own cost, whatever the machine
        cpu = (time.thread_time() - self._gc_cpu) * 1000
        self.gc_worst_cpu[gen] = max(self.gc_worst_cpu.get(gen, 0.0), cpu)
        self.gc_ms[gen] = self.gc_ms.get(gen, 0.0) + ms
        self.gc_count[gen] += 1
        self.gc_worst[gen] = max(self.gc_worst.get(gen, 0.0), ms)
        if ms >= 1.0:
            self._gcs.append((now, gen, ms, int(info.get("collected", 0))))


def start_from_env(loop: asyncio.AbstractEventLoop) -> StallMonitor | None:
    """A running monitor when ``HNS_EMULATOR_DEBUG_STALLS`` names a file, else None."""
    path = os.environ.get(ENV)
    if not path:
        return None
    threshold = float(os.environ.get(THRESHOLD_ENV, "20"))
    log = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by the server's stop
    monitor = StallMonitor(log, threshold)
    monitor.owns_log = True
    monitor.start(loop)
    return monitor
