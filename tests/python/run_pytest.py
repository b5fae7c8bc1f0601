#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Runs one pytest file of the tspike package tests (tests/python/package/)
for ctest: quiet, no cache folder in the source tree.

    run_pytest.py FILE [pytest options...]
"""
import sys

import pytest

# The guard matters: Dask's worker processes start by spawning, which
# imports the parent's main module again.
if __name__ == "__main__":
    sys.exit(pytest.main([sys.argv[1], "-q", "-p", "no:cacheprovider", "-rfE", *sys.argv[2:]]))
