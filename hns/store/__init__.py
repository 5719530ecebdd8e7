"""Where HNS objects live: ``sqlite`` (the SQLite state file, one transaction per
operation) and ``state`` (the objects in memory with their indexes, written store first)."""
