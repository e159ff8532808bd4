"""Manual check that `pip install ./python` works (not part of the pytest run: building the
library takes about a minute). Creates a throwaway venv that sees the system torch, installs the
package from the repository, and runs the binding tests against the installed copy (its bundled
libmultimax.so, with MULTIMAX_LIB unset). Nothing is installed outside the temporary venv.

    /usr/bin/python3 tests/python/check_pip_install.py
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def main():
    with tempfile.TemporaryDirectory(prefix="mmx-venv-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.check_call([sys.executable, "-m", "venv", "--system-site-packages", str(venv)])
        py = str(venv / "bin" / "python")
        subprocess.check_call([py, "-m", "pip", "install", "-q", "--no-deps", str(REPO / "python")])
        env = {k: v for k, v in os.environ.items() if k not in ("MULTIMAX_LIB", "PYTHONPATH")}
        probe = ("import multimax, torch; p = multimax.library_path; print(p); "
                 "assert 'site-packages' in p, p; "
                 "print(multimax.entmax15(torch.tensor([1.0, 2.0, 3.0])))")
        subprocess.check_call([py, "-c", probe], cwd=tmp, env=env)
        env["MMX_TEST_INSTALLED"] = "1"
        subprocess.check_call([py, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               str(REPO / "tests" / "python")], cwd=tmp, env=env)
    print("pip install ./python: OK")


if __name__ == "__main__":
    main()
