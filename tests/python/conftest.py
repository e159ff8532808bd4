"""pytest configuration for the Python binding tests (python/multimax against the entmax
package and the official MultiMax formula in PyTorch).

Run from the repository root:
    PYTHONPATH=python MULTIMAX_LIB=build/libmultimax.so /usr/bin/python3 -m pytest -q tests/python
(CTest's `python_binding` sets both; without MULTIMAX_LIB the package falls back to
<repo>/build/libmultimax.so). Only /usr/bin/python3 sees Debian's torch. A missing peer is a
failure, never a skip: a skipped comparison would be counted as a pass by CTest.
"""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# the package from the source tree, unless an installed one was asked for explicitly
if os.environ.get("MMX_TEST_INSTALLED") != "1":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "python"))


def pytest_configure(config):
    missing = []
    for mod, how in (("torch", "apt-get install python3-torch (then use /usr/bin/python3)"),
                     ("entmax", "/usr/bin/python3 -m pip install --no-deps "
                                "--break-system-packages entmax")):
        try:
            __import__(mod)
        except Exception as exc:  # pragma: no cover - the message is the point
            missing.append(f"{mod} ({type(exc).__name__}: {exc}); install: {how}")
    if missing:
        raise pytest.UsageError(f"the binding tests need {', '.join(missing)}; run them with "
                                f"/usr/bin/python3 (this is {sys.executable})")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A skipped comparison would be counted as passed by CTest: turn any skip into a failure."""
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and not hasattr(rep, "wasxfail"):
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.outcome = "failed"
        rep.longrepr = f"binding tests must not be skipped (a skip would count as a pass): {reason}"
