"""A raw HTTP/1.1 client for the robustness tests: requests sent in pieces, at our pace
(a uniquely named module: tests/ is on sys.path through tests/conftest.py)."""

from __future__ import annotations

import json
import select
import socket
from typing import Any


class RawRequest:
    """One request on its own connection: ``head`` then ``send`` body pieces, then
    ``response`` (status, headers, parsed JSON body or raw bytes)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)

    def head(self, method: str, path: str, length: int | None, *,
             extra: str = "") -> RawRequest:
        cl = "" if length is None else f"Content-Length: {length}\r\n"
        self.sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\n{cl}{extra}"
                          "Content-Type: application/json\r\n\r\n".encode())
        return self

    def send(self, data: bytes) -> RawRequest:
        self.sock.sendall(data)
        return self

    def response(self, timeout: float = 10.0) -> tuple[int, dict[str, str], Any]:
        self.sock.settimeout(timeout)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed before a response: {data!r}")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            body += chunk
        try:
            return status, headers, json.loads(body) if body else None
        except ValueError:
            return status, headers, body

    def closed_by_server(self, timeout: float) -> bool:
        """Whether the server closes the connection (reads until EOF) within ``timeout``."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
        except TimeoutError:
            return False
        except OSError:
            return True
        return True

    def readable(self, wait: float = 0.01) -> bool:
        """Whether the server has sent something (an early answer) within ``wait``."""
        return bool(select.select([self.sock], [], [], wait)[0])

    def close(self) -> None:
        self.sock.close()
