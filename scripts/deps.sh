#!/usr/bin/env bash
# Installs what the build (`deps.sh build`) or the build plus the test suite (`deps.sh test`,
# the default) need, if missing. Idempotent and quick when everything is present. Debian 12:
# build tools; for the tests PyTorch 1.13 (Debian's python3-torch, seen only by
# /usr/bin/python3) and the entmax package from PyPI (--no-deps so pip does not pull a second
# torch), and safetensors (PyPI) to read our checkpoints in the PyTorch tests.
set -euo pipefail

mode=${1:-test}
APT_PKGS=(build-essential cmake libopenblas-openmp-dev zlib1g-dev libpng-dev dataset-fashion-mnist)
if [ "$mode" = test ]; then
  APT_PKGS+=(python3 python3-pip python3-numpy python3-torch python3-pytest)
fi

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

for pkg in entmax safetensors; do
  if [ "$mode" = test ] && ! /usr/bin/python3 -c "import $pkg" 2>/dev/null; then
    echo "deps: installing the $pkg package (PyPI) for /usr/bin/python3"
    $SUDO /usr/bin/python3 -m pip install -q --no-deps --break-system-packages "$pkg"
  fi
done
