"""api/bigjson.py: big documents are decoded and encoded in pieces (the loop runs between
them), with exactly json.loads's and json.dumps's results.

A single ``json.loads`` of a node's state held the GIL for 150-250 ms (issue 11): a
worker thread doing it stopped the event loop as long.  These tests count the bytes each
C call handles; none of them times anything.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from fastapi.responses import JSONResponse
from hypothesis import given, settings
from hypothesis import strategies as st

from api import bigjson, routing

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                 max_size=4),
    max_leaves=30)


def _state(endpoints: int) -> dict[str, Any]:
    """Shaped as ``GET /_emulator/state``: Objects -> kind -> list of objects."""
    return {"Format": "hns-emulator-state", "FormatVersion": 1, "Objects": {
        "Endpoints": [{"ID": f"{n:08x}-0000-0000-0000-000000000000", "Name": f"ep{n}",
                       "IpConfigurations": [{"IpAddress": f"10.{n >> 16 & 255}.{n >> 8 & 255}."
                                                         f"{n & 255}", "PrefixLength": 24}],
                       "Policies": [{"Type": "OutBoundNAT", "Settings": {"Exceptions": []}}]}
                      for n in range(endpoints)],
        "Networks": [{"ID": "n1", "Name": "flannel.4096"}]}}


class _Counting:
    """Stands in for bigjson's C decoder: counts what each call parses."""

    def __init__(self) -> None:
        self.spans: list[int] = []

    def raw_decode(self, text: str, at: int) -> tuple[Any, int]:
        value, end = json.JSONDecoder().raw_decode(text, at)
        self.spans.append(end - at)
        return value, end


@pytest.fixture
def split_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bigjson, "SMALL", 0)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_pieces_decode_and_encode_as_the_c_codec_does(value: Any) -> None:
    old = bigjson.SMALL
    bigjson.SMALL = 0  # type: ignore[misc]
    try:
        for text in (json.dumps(value), json.dumps(value, indent=2),
                     json.dumps(value, separators=(",", ":"))):
            assert bigjson.loads(text) == json.loads(text)
        for opts in ({}, {"ensure_ascii": False, "separators": (",", ":")}):
            assert bigjson.dumps(value, **opts) == json.dumps(value, **opts)
    finally:
        bigjson.SMALL = old  # type: ignore[misc]


@pytest.mark.parametrize("text", [
    "", " ", "{", "[", "[1,", "[1 2]", '{"a" 1}', '{"a":1,}', "[1,]", '{"a":1}x', "{1:2}",
    '{"a":[1,{"b":}]}', '["\x01"]', "\ufeff{}", "[NaN, Infinity]", '{"a":1, "a":2}',
    " [ 1 , [ 2 , { \"x\" : [ ] } ] ] ",
])
def test_bad_and_odd_text_fails_or_parses_as_json_loads(text: str,
                                                          split_everything: None) -> None:
    try:
        expected: Any = json.loads(text)
    except json.JSONDecodeError:
        with pytest.raises(json.JSONDecodeError):
            bigjson.loads(text)
        return
    got = bigjson.loads(text)
    assert json.dumps(got) == json.dumps(expected) or (
        isinstance(got, list) and all(math.isnan(x) or math.isinf(x) for x in got))


def test_a_state_body_is_parsed_in_small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = _state(5000)
    body = json.dumps(doc).encode()
    assert len(body) > 1_000_000
    counting = _Counting()
    monkeypatch.setattr(bigjson, "_DECODER", counting)
    assert routing.json_object(body) == doc  # what PUT /_emulator/state parses with
    assert len(counting.spans) >= 5000
    assert max(counting.spans) < 4096  # one endpoint at a time, never the whole body


def test_a_state_answer_is_the_same_bytes_rendered_in_pieces(
        monkeypatch: pytest.MonkeyPatch) -> None:
    doc = _state(3000)
    sizes: list[int] = []
    real = json.dumps

    def counting_dumps(value: Any, **kw: Any) -> str:
        out = real(value, **kw)
        sizes.append(len(out))
        return out

    monkeypatch.setattr(bigjson.json, "dumps", counting_dumps)
    got = bigjson.BigJSONResponse(doc).body
    monkeypatch.setattr(bigjson.json, "dumps", real)
    assert got == JSONResponse(doc).body
    assert len(got) > 500_000
    assert max(sizes) < 4096
