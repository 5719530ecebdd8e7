"""The import graph of the emulator's packages has no circles (issue 10): the layering
contract (``lint-imports``) says which way packages import one another; this says that
inside them no two modules need each other either, so each module can be read, tested and
moved on its own.  The graph is grimp's, the one import-linter builds; imports under
``TYPE_CHECKING`` and inside functions count, because they are dependencies all the same."""

from __future__ import annotations

import grimp

PACKAGES = ("api", "hns", "vfp", "vxlan")

#: Circles known and owned by someone, each the sorted module set of one circle (none now;
#: an entry here must name who removes it and when).
KNOWN: frozenset[tuple[str, ...]] = frozenset()


def import_circles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[tuple[str, ...]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.find_modules_directly_imported_by(nxt)))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    members = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        members.append(member)
                        if member == node:
                            break
                    if len(members) > 1:
                        circles.append(tuple(sorted(members)))
    return sorted(circles)


def test_import_circles_finds_a_circle() -> None:
    graph = grimp.ImportGraph()
    for name in ("p.a", "p.b", "p.c", "p.d"):
        graph.add_module(name)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.c")
    graph.add_import(importer="p.c", imported="p.a")
    graph.add_import(importer="p.c", imported="p.d")
    assert import_circles(graph) == [("p.a", "p.b", "p.c")]


def test_no_import_circles() -> None:
    graph = grimp.build_graph(*PACKAGES)
    circles = set(import_circles(graph))
    assert circles - KNOWN == set(), "import circles (each a set of modules that need each other)"
    # A known circle that is gone must leave the list, so the list cannot go stale.
    assert KNOWN - circles == set(), "a known circle is fixed: remove it from KNOWN"
