"""Front ends: the HTTP API (FastAPI), the Python HTTP client and the command-line tools
(`hns-emulator`, `hnsdiag`, `vfpctrl`)."""
