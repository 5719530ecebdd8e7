"""Issue 11 (stalls): logging a call never encodes its whole request in one C call.

A ``load`` event's request is the whole state; checking it was JSON with one
``json.dumps`` held the GIL for ~120 ms at kube-proxy scale and stopped the server's
event loop as long.  The check is now a walk in Python; these tests count encoder
calls and check the walk agrees with json.dumps on what is and is not JSON.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from hns.service import calllog as calllog_module
from hns.service.calllog import CallLog


def _state(n: int) -> dict[str, Any]:
    return {"Objects": {"Endpoints": [{"ID": str(i), "Policies": [{"Type": "OutBoundNAT"}]}
                                      for i in range(n)]}}


def test_a_whole_state_request_is_logged_without_encoding_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    encoded: list[Any] = []
    real = json.dumps
    monkeypatch.setattr(calllog_module.json, "dumps",
                        lambda value, *a, **kw: encoded.append(value) or real(value, *a, **kw))
    log = CallLog()
    state = _state(2000)
    call = log.record(api="Emulator", operation="load", request=state)
    assert call is not None
    assert call.request is state  # kept as the object, as before
    assert encoded == []


@pytest.mark.parametrize("value", [
    {"a": [1, 2.5, None, True, "x"]}, [{"k": {"n": []}}], {1: "int key", None: 0},
    {"s": {1, 2}}, [object()], {("t",): 1}, {"b": b"bytes"},
])
def test_the_walk_agrees_with_json_dumps(value: Any) -> None:
    try:
        json.dumps(value)
        expected: Any = value
    except (TypeError, ValueError):
        expected = repr(value)
    assert calllog_module._loggable(value) == expected


def test_a_cycle_or_a_very_deep_value_is_logged_as_text() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    assert calllog_module._loggable(cycle) == repr(cycle)
    deep: list[Any] = []
    for _ in range(300):
        deep = [deep]
    assert isinstance(calllog_module._loggable(deep), str)
