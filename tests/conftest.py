"""Root of the test tree.  Its only job: in pytest's prepend import mode a conftest's folder
goes on sys.path, so every test package can import the shared builders in
tests/hcn_builders.py, whichever subset of the tree is run."""
