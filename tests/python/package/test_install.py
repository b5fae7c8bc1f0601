# SPDX-License-Identifier: Apache-2.0
"""cmake --install puts the package into the interpreter's site directory
for the prefix, where it imports and runs without the build tree."""

import os
import subprocess
import sys
import sysconfig

import pytest

from conftest import BOOT, DEMO, ROOT

BUILD = os.environ.get("TSPIKE_BUILD_DIR") or os.path.join(ROOT, "build")


def cache_value(name):
    with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split("=", 1)[1].strip()
    raise KeyError(name)


def test_the_install_dir_is_the_interpreters_site_dir_for_the_prefix():
    rel = cache_value("TSPIKE_PYTHON_INSTALL_DIR")
    prefix = cache_value("CMAKE_INSTALL_PREFIX")
    site = os.path.join(prefix, rel)
    if sysconfig.get_default_scheme() == "posix_local" and prefix == "/usr/local":
        # Debian: /usr/local/lib/python3.X/dist-packages is on the default path.
        assert site in sys.path, (site, sys.path)
    assert rel.startswith("lib/python3")


def test_installed_package_imports_and_classifies(tmp_path):
    prefix = tmp_path / "prefix"
    subprocess.run(["cmake", "--install", BUILD, "--prefix", str(prefix)], check=True, capture_output=True)
    site = prefix / cache_value("TSPIKE_PYTHON_INSTALL_DIR")
    assert (site / "tspike" / "__init__.py").is_file()
    assert (site / "tspike" / "torch" / "exporter.py").is_file()
    assert (site / "tspike" / "_tspike.pyi").is_file()
    script = (
        "import tspike, sys\n"
        "m = tspike.Model.load(sys.argv[1])\n"
        "y = tspike.Session(m).run(tspike.load_image(sys.argv[2], m))\n"
        "print(tspike.__file__)\n"
        "print(m.labels[int(y.argmax())])\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LD_LIBRARY_PATH")}
    env["PYTHONPATH"] = str(site)
    r = subprocess.run([sys.executable, "-c", script, DEMO, BOOT], capture_output=True, text=True, env=env,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    where, label = r.stdout.split("\n")[:2]
    assert where.startswith(str(site)), where  # not the build tree
    assert label == "Ankle boot"
