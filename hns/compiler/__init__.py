"""The HNS -> VFP policy compiler: keeps one VFP port per local HNS endpoint programmed with
the layers, groups and rules real HNS writes, incrementally, as HNS objects change.

Modules: `compiler` (the `Compiler`, its design essay, change tracking and rule diffing),
`layers` (the one table of layer/group names and priorities), `rules` (what each HNS
object contributes to a port), `actions` (VFP rule types HNS uses that vfp/ does not define
itself: `paroute`, encap rules carrying an MSS delta). See docs/compiler.md.
"""

from hns.compiler.compiler import Compiler

__all__ = ["Compiler"]
