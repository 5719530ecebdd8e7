"""``HnsError``, the base of every HNS error, and the categories the api layer maps to
HTTP statuses (hns itself knows nothing of HTTP)."""

from __future__ import annotations


class HnsError(Exception):
    """An HNS failure: an HRESULT plus the exact message Windows gives for it."""

    hresult: int = 0x80004005
    default_message: str = "Unspecified error."
    category: str = "invalid"
    name: str = "E_FAIL"

    def __init__(self, message: str | None = None, *, detail: str | None = None) -> None:
        self.message: str = message if message is not None else self.default_message
        #: Why the emulator refused (not part of the Windows message; for logs and tests).
        self.detail: str | None = detail
        super().__init__(self.message)

    @property
    def hresult_unsigned(self) -> int:
        return self.hresult & 0xFFFFFFFF

    def __str__(self) -> str:
        text = f"{self.message} (0x{self.hresult:08x})"
        return f"{text}: {self.detail}" if self.detail else text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(hresult=0x{self.hresult:08X}, message={self.message!r})"


NOT_FOUND = "not_found"
CONFLICT = "conflict"
INVALID = "invalid"
UNSUPPORTED = "unsupported"
UNAVAILABLE = "unavailable"
