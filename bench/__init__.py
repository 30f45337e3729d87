"""Benchmarks of the SPARQL service against its peers, on the same data in the same run (issue 3).

Run with ``.venv/bin/python -m bench`` (see bench/README.md). Not part of the test suite: numbers depend
on the machine, so they are printed as a markdown table, never asserted.
"""
