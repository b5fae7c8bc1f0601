# SPDX-License-Identifier: Apache-2.0
"""What every Python benchmark prints about the machine: the CPU (lscpu's
model name and count) and the load average, which on a shared machine says
how much of it the run had."""

import os
import subprocess


def cpu():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next((l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("Model name")), "?")
    except OSError:
        model = "?"
    return f"{model}, {os.cpu_count()} CPUs"


def load():
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"
