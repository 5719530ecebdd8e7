"""Reading real-host captures: the shapes people paste from Windows hosts (the service
adds what they hold with ``hns.service.importing``).

Accepted (fixtures/real/ and SOURCES.md there):
    * the V1 envelope ``{"Success":true,"Output":...}`` (one object or an array);
    * ``Get-HnsNetwork | ConvertTo-Json`` / ``Get-HNSEndpoint | ConvertTo-Json`` output
      (one object or an array, PowerShell spacing);
    * V2 objects (``HostComputeLoadBalancer`` as kube-proxy logs it, ...);
    * JSON embedded in a log line (hcsshim ``Network Response : [...]``), escaped inside a
      logrus ``msg="..."`` field, or broken across lines by a console that wrapped it;
    * several documents one after the other, each starting on its own line, with any text
      between them: ``hnsdiag list all -d`` (one object per line) and ``-df`` (indented);
    * a microsoft/SDN ``collectlogs.ps1`` bundle, a directory or a zip of one, through
      :func:`read_capture`: ``network.txt``, ``endpoint.txt``, ``namespaces.txt`` (each a
      ``Select`` table, then ``ConvertTo-Json``; older versions wrote the JSON alone),
      ``policy.txt`` (``Get-HnsPolicyList`` or, in newer versions, ``Get-HnsLoadBalancer
      -Version 1|2``, as ``ConvertTo-Json``), or ``hnsdiag.txt`` (``hnsdiag list all -d``)
      when those are missing; Windows PowerShell's ``>`` writes UTF-16 with a byte-order
      mark, which is read as such.

"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any, Final

from hns.errors import InvalidJson

Json = dict[str, Any]

__all__ = [
    "BUNDLE_FILES",
    "classify",
    "decode_capture",
    "extract_documents",
    "extract_json",
    "read_bundle",
    "read_capture",
]

#: The files of a collectlogs bundle that hold HNS objects, in import order; the fallback
#: ``hnsdiag.txt`` is read only when none of them is there.
BUNDLE_FILES: Final[tuple[str, ...]] = ("network.txt", "endpoint.txt", "namespaces.txt",
                                        "policy.txt")
_BUNDLE_FALLBACK: Final = "hnsdiag.txt"
#: Largest capture file or bundle member read (bytes).
MAX_CAPTURE: Final = 256 << 20
_LINE_START = re.compile(r"^[ \t]*[\[{]", re.MULTILINE)

_DECODER = json.JSONDecoder()


def extract_json(text: str) -> Any:
    """The first complete JSON object or array in ``text`` (see the module docstring)."""
    if not isinstance(text, str):
        raise InvalidJson(detail="capture is not text")
    text = text.lstrip("\ufeff")  # PowerShell's Out-File writes a byte-order mark
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    several = extract_documents(text)
    if several is not None and len(several) > 1:
        return several
    candidates = [text]
    joined = "".join(line.rstrip("\r") for line in text.split("\n"))
    candidates.append(joined)
    if '\\"' in text:
        candidates += [c.replace('\\"', '"').replace("\\\\", "\\") for c in list(candidates)]
    for candidate in candidates:
        try:
            return json.loads(candidate.strip())
        except (ValueError, RecursionError):
            pass
    for candidate in candidates:
        found = _scan(candidate)
        if found is not None:
            return found
    raise InvalidJson(detail="no complete JSON document in the capture")


def extract_documents(text: str) -> list[Json] | None:
    """Every HNS object in a text of JSON documents that each start on their own line
    (``hnsdiag list all -d`` / ``-df``, the JSON half of a collectlogs file), flattened
    (V1 envelopes opened, arrays spread).  None when a document there does not parse to
    its end (a truncated capture) or none is found."""
    found: list[Json] = []
    pos = 0
    while True:
        match = _LINE_START.search(text, pos)
        if match is None:
            break
        start = match.end() - 1
        try:
            value, end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            return None
        pos = end
        if isinstance(value, dict) and "Output" in value and "Success" in value:
            value = value["Output"]
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and _looks_like_hns(item):
                found.append(item)
    return found or None


def decode_capture(data: bytes) -> str:
    """Capture bytes as text: UTF-16 (with a byte-order mark, as Windows PowerShell's ``>``
    writes, or without one when every other byte is NUL), else UTF-8, else Latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if len(data) >= 4 and data[1:8:2].count(0) >= 3 and data[0] != 0:
        return data.decode("utf-16-le", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_bundle(files: dict[str, str]) -> list[Json]:
    """The HNS objects of a collectlogs bundle given as ``{file name: text}``: networks,
    endpoints, namespaces, then policy lists / load balancers (an ID seen twice is kept
    once)."""
    lower = {os.path.basename(name).lower(): text for name, text in files.items()}
    names = [n for n in BUNDLE_FILES if n in lower] or \
        ([_BUNDLE_FALLBACK] if _BUNDLE_FALLBACK in lower else [])
    if not names:
        raise InvalidJson(detail="no network.txt, endpoint.txt, namespaces.txt, policy.txt "
                                 "or hnsdiag.txt in the bundle")
    objects: list[Json] = []
    seen: set[str] = set()
    for name in names:
        text = lower[name]
        if not text.strip():
            continue
        docs = extract_documents(text)
        if docs is None:
            value = extract_json(text)
            if isinstance(value, dict) and "Output" in value and "Success" in value:
                value = value["Output"]
            docs = [v for v in (value if isinstance(value, list) else [value])
                    if isinstance(v, dict)]
        for obj in docs:
            key = str(obj.get("ID", "")).strip("{}").upper()
            if key and key in seen:
                continue
            seen.add(key)
            objects.append(obj)
    return objects


def read_capture(path: str | os.PathLike[str]) -> str:
    """What ``import_capture`` takes, from a capture file, a collectlogs directory or a zip
    of one: a file's text as it is (decoded, see :func:`decode_capture`); a bundle's objects
    as one JSON array.  InvalidJson when a bundle holds no HNS objects; OSError when the
    path cannot be read."""
    where = Path(path)
    if where.is_dir():
        files = {p.name: decode_capture(_read_limited(p)) for p in where.iterdir()
                 if p.is_file() and p.name.lower() in (*BUNDLE_FILES, _BUNDLE_FALLBACK)}
        return json.dumps(read_bundle(files))
    data = _read_limited(where)
    if zipfile.is_zipfile(io.BytesIO(data)):
        files = {}
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                base = os.path.basename(info.filename).lower()
                if info.is_dir() or base not in (*BUNDLE_FILES, _BUNDLE_FALLBACK):
                    continue
                if info.file_size > MAX_CAPTURE:
                    raise InvalidJson(detail=f"{info.filename} is too large")
                files[info.filename] = decode_capture(archive.read(info))
        return json.dumps(read_bundle(files))
    return decode_capture(data)


def _read_limited(path: Path) -> bytes:
    if path.stat().st_size > MAX_CAPTURE:
        raise InvalidJson(detail=f"{path} is larger than {MAX_CAPTURE} bytes")
    return path.read_bytes()


def _scan(text: str) -> Any:
    pos = 0
    attempts = 0
    while attempts < 10_000:
        starts = [i for i in (text.find("{", pos), text.find("[", pos)) if i >= 0]
        if not starts:
            return None
        start = min(starts)
        attempts += 1
        try:
            value, _end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            pos = start + 1
            continue
        if _looks_like_hns(value):
            return value
        pos = start + 1
    return None


_OBJECT_KEYS = frozenset({"Name", "VirtualNetwork", "PortMappings", "References",
                          "HostComputeEndpoints", "ResourceList", "IsRemoteEndpoint",
                          "IPAddress", "NamespaceId", "CompartmentId"})


def _looks_like_hns(value: Any) -> bool:
    """Whether a decoded fragment is HNS objects rather than a piece of one (an extension,
    a Health block) found inside a truncated capture."""
    if isinstance(value, dict) and "Output" in value and "Success" in value:
        value = value["Output"]
    items = value if isinstance(value, list) else [value]
    if not items:
        return False
    for item in items:
        if not isinstance(item, dict):
            return False
        if "ID" not in item or not (_OBJECT_KEYS & item.keys()) or "AddressPrefix" in item:
            return False
    return True


def classify(obj: Json) -> str:
    """network / endpoint / loadbalancer / route / namespace / policylist for a capture."""
    keys = obj.keys()
    if "References" in keys or _has_policy_type(obj, {"ELB", "ROUTE"}):
        return "policylist"
    if "PortMappings" in keys:
        return "loadbalancer"
    if {"Setting", "Routes"} & keys and "HostComputeEndpoints" in keys:
        return "route"
    if {"VirtualNetwork", "IPAddress", "IsRemoteEndpoint", "VirtualNetworkName",
            "HostComputeNetwork", "IpConfigurations"} & keys:
        return "endpoint"
    if {"ResourceList", "CompartmentId", "NamespaceId"} & keys:
        return "namespace"
    return "network"


def _has_policy_type(obj: Json, types: set[str]) -> bool:
    policies = obj.get("Policies")
    if not isinstance(policies, list):
        return False
    return any(isinstance(p, dict) and str(p.get("Type", "")).upper() in types
               for p in policies)
