"""The pytest plugin users install (``pytest11`` entry point ``hns``).  It sits above
api/ because it hands users the HTTP client and the in-process app; the parts without
api/ (``EmulatorServer``, the hypothesis strategies) stay in ``hns.testing``."""
