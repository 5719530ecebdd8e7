"""The HNS -> VFP policy compiler: keeps one VFP port per local HNS endpoint programmed with
the layers, groups and rules real HNS writes, incrementally, as HNS objects change.

Modules: `compiler` (the `Compiler`, its design essay, change tracking and rule diffing),
`view` (its mirror of HNS state: the typed objects of hns/model/read.py and their indexes),
`rules` (what each HNS object contributes to a port), `shared` (contributions computed once
per network and shared between ports), `program` (a compiled port's state, and writing items
to it), `layers` (the one table of layer/group names and priorities), `actions` (VFP rule
types HNS uses that vfp/ does not define itself: `paroute`, encap rules carrying an MSS
delta), `hostport` and `hostrules` (each network's host vNIC port and its load balancer
rules), `owners`, `fresh`. See docs/compiler.md.
"""

from hns.compiler.compiler import Compiler

__all__ = ["Compiler"]
