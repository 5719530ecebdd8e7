"""Hygiene (issue 11): owner-only state files, the bearer scheme in any case, and a token
that need not sit on the command line (``--token-file``), on real server processes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
from loopback import served_url

from hns.testing.server import EmulatorServer

NAT = {"Name": "nat", "Type": "NAT", "SchemaVersion": {"Major": 2, "Minor": 0},
       "Ipams": [{"Type": "Static", "Subnets": [{"IpAddressPrefix": "172.20.0.0/24"}]}]}


def test_state_files_and_their_wal_and_shm_are_owner_only(tmp_path: Path) -> None:
    state = tmp_path / "hns.sqlite"
    old = os.umask(0o022)  # the common default, under which the old code made them 0644
    try:
        with EmulatorServer(state=state) as srv:
            r = httpx.post(srv.url + "/hcn/networks", json=NAT, timeout=10.0)
            assert r.status_code == 201, r.text
            files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    finally:
        os.umask(old)
    assert {"hns.sqlite", "hns.sqlite-wal", "hns.sqlite-shm"} <= set(files)
    assert all(mode == 0o600 for mode in files.values()), {k: oct(v) for k, v in files.items()}


def test_the_bearer_scheme_is_case_insensitive(tmp_path: Path) -> None:
    with EmulatorServer(token="s3cret") as srv:
        for scheme in ("Bearer", "bearer", "BEARER", "bEaReR"):
            r = httpx.get(srv.url + "/hcn/networks", timeout=10.0,
                          headers={"Authorization": f"{scheme} s3cret"})
            assert r.status_code == 200, (scheme, r.text)
        for given in ("Bearer wrong", "Basic s3cret", "s3cret", "Bearer", ""):
            r = httpx.get(srv.url + "/hcn/networks", timeout=10.0,
                          headers={"Authorization": given})
            assert r.status_code == 401, given
            assert r.json()["ErrorCode"] == 0x80070005


def test_token_file_keeps_the_token_off_the_command_line(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("t0ken-from-file\n")
    env = {k: v for k, v in os.environ.items() if k != "HNS_EMULATOR_TOKEN"}
    # --port 0 and the banner: a port picked here could be another test's server by the
    # time a slow child binds it, and a 30 s poll was a clock a loaded machine can overrun.
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", "0",
                             "--state", ":memory:", "--token-file", str(token_file)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        auth = {"Authorization": "Bearer t0ken-from-file"}
        url = served_url(proc)
        assert b"t0ken-from-file" not in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        ok = httpx.get(url + "/hcn/networks", headers=auth, timeout=10.0)
        assert ok.status_code == 200
        assert json.loads(ok.text) == []
        assert httpx.get(url + "/hcn/networks", timeout=10.0).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


def test_help_names_token_file() -> None:
    out = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "--token-file PATH" in out
    assert "command line" in out
