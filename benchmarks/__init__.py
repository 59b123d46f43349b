"""The ziggy-migrate benchmark (not part of the test suite): see ``benchmarks/README.md``.

Run it with ``PYTHONPATH=src python benchmarks/run.py --quick`` from the repository root.
"""
