"""pytest configuration for the peer comparisons (PyTorch 1.13, entmax) of the multimax CLI.

Run: /usr/bin/python3 -m pytest -q tests/peers   (CTest sets MMX_CLI to the built binary;
otherwise <repo>/build/multimax is used). Helpers live in peerlib.py.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import peerlib  # noqa: E402


@pytest.fixture(autouse=True)
def _peer_requirements():
    """Every peer test needs PyTorch and the CLI: a missing one is a failure, not a skip."""
    peerlib.require_torch()
    peerlib.require_cli()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A skipped peer test would be counted as passed by CTest: turn any skip into a failure."""
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and not hasattr(rep, "wasxfail"):
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.outcome = "failed"
        rep.longrepr = f"peer tests must not be skipped (a skip would count as a pass): {reason}"
