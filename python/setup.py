"""pip install ./python (from the repository root): builds libmultimax.so with CMake from the
parent directory and bundles it in the package. Needs cmake, a C compiler and
libopenblas-openmp-dev (scripts/deps.sh build installs them). The package itself is pure Python
(ctypes); set MULTIMAX_LIB at run time to use another build of the library."""
import os
import shutil
import subprocess
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


class BuildWithLibrary(build_py):
    """build_py, plus: cmake the library (shared target only) and copy it into the package."""

    def run(self):
        super().run()
        if not (REPO / "CMakeLists.txt").is_file() or not (REPO / "include" / "multimax.h").is_file():
            raise RuntimeError(f"multimax: the C sources are not at {REPO}; install from the "
                               "repository checkout (pip install ./python)")
        build = Path(os.path.abspath(os.path.join("build", "cmake-lib")))
        jobs = os.environ.get("MULTIMAX_BUILD_JOBS", str(min(os.cpu_count() or 1, 4)))
        subprocess.check_call(["cmake", "-S", str(REPO), "-B", str(build),
                               "-DCMAKE_BUILD_TYPE=Release", "-DMMX_PEER_TESTS=OFF"])
        subprocess.check_call(["cmake", "--build", str(build), "--target", "multimax_shared",
                               "-j", jobs])
        dest = Path(self.build_lib) / "multimax"
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(build / "libmultimax.so", dest / "libmultimax.so")


class BinaryDistribution(Distribution):
    def has_ext_modules(self):  # a platform wheel: it carries libmultimax.so
        return True


setup(
    name="multimax",
    version="0.1.0",
    description="MultiMax and sparse attention normalizers (entmax drop-in) over libmultimax",
    license="MIT",
    packages=["multimax"],
    python_requires=">=3.8",
    install_requires=["numpy"],
    extras_require={"torch": ["torch"]},
    cmdclass={"build_py": BuildWithLibrary},
    distclass=BinaryDistribution,
    zip_safe=False,
)
