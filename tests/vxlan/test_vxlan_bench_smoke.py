"""bench/packets.py runs and ends with one JSON object carrying the agreed keys (its
figures are not asserted: benchmarks are never timing tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "packets.py"


def test_bench_packets_quick_prints_json_with_ratio_keys() -> None:
    result = subprocess.run([sys.executable, str(BENCH), "--quick", "--runs", "1"],
                            capture_output=True, text=True, timeout=120, check=True)
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("decap_key_vs_dpkt_parse", "encap_vs_dpkt_parse", "dpkt_parse_pps"):
        assert figures[key] > 0
    assert figures["frame_bytes"] == 168
