"""Root of the test tree.  Two jobs:

1. In pytest's prepend import mode a conftest's folder goes on sys.path, so every test
   package can import the shared builders in tests/hcn_builders.py, whichever subset of
   the tree is run.
2. Hypothesis profiles, loaded before any test module is imported (a ``@settings``
   decorator inherits the profile active when its module is imported):

   - ``ci`` when the environment has CI set (.ci/run exports CI=true): derandomized, so a
     run explores the same examples every time and a red CI run is reproducible with the
     same command; no example database is read or written.
   - ``dev`` otherwise: random, with the local example database, so runs on a developer's
     machine keep exploring new inputs and replay the failures they found.

   - ``mutation``: as ``ci`` but without shrinking: bench/mutation.py only needs to know
     that a mutant fails, and shrinking a failure costs minutes on a loaded machine.

   HYPOTHESIS_PROFILE=<name> picks one explicitly.
3. httpcore imported before any test runs. A test with the ``pytester`` fixture gets
   ``sys.modules`` restored when it ends, which drops every module first imported during
   it, while modules imported earlier stay. httpx imports httpcore lazily and caches
   httpcore's exception classes on its first transport error; if both happened inside a
   pytester test (an EmulatorServer polling its start-up, a client in an in-process run),
   httpx kept the dropped copy's classes, and in whichever test ran next in that worker a
   refused connection came out of the client as a raw ``httpcore.ConnectError`` instead of
   httpx's (and so not as ServerUnavailable). Importing httpcore here puts it in every
   snapshot. tests/testing/test_pytester_isolation.py replays that order.
"""

from __future__ import annotations

import os

import httpcore  # noqa: F401  (job 3 above: imported before any pytester snapshot)
from hypothesis import Phase, settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("mutation", derandomize=True, database=None,
                          phases=[Phase.explicit, Phase.reuse, Phase.generate],
                          report_multiple_bugs=False)
settings.register_profile("dev")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE")
                      or ("ci" if os.environ.get("CI") else "dev"))
