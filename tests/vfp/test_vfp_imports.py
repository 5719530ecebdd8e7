"""The packet side (vfp/, vxlan/) has no import circles, counting imports made only for
type checking (a circle there still ties two modules' designs together)."""

from __future__ import annotations

import grimp


def test_no_import_circles_in_vfp_and_vxlan() -> None:
    graph = grimp.build_graph("vfp", "vxlan")
    circles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                circles.append(" -> ".join((importer, *back)))
    assert circles == []
