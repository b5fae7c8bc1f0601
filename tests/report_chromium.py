#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tsrun --report pages rendered by headless Chromium (ctest report_chromium).

For a shipped model, a test model with a batch of 3, and a test model whose
node names are HTML/script injections, writes the report, lets Chromium run
the page's script (--dump-dom) and checks that the script finished
(<body data-rendered="ok">) and drew every chart with one bar per spike layer,
per spike layer and timestep, per node, and two per Conv/Gemm/MatMul, as
tsrun --profile --json says; that no injected element exists; and that a page
whose script throws is caught. Fails when Chromium is absent: scripts/install-deps.sh
installs it, and a test that vanishes with its tool can never fail.

usage: /usr/bin/python3 report_chromium.py TSRUN SOURCE_DIR WORK_DIR
"""
import html.parser
import json
import os
import shutil
import subprocess
import sys


class Dom(html.parser.HTMLParser):
    """Counts rect.bar per chart svg, notes <body data-rendered> and every tag."""

    def __init__(self):
        super().__init__()
        self.stack = []  # open svg ids
        self.bars = {}
        self.rendered = None
        self.tags = set()
        self.text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "body":
            self.rendered = a.get("data-rendered")
        if tag == "svg":
            self.stack.append(a.get("id", ""))
            self.bars.setdefault(a.get("id", ""), 0)
        if tag == "rect" and "bar" in (a.get("class") or "").split() and self.stack:
            self.bars[self.stack[-1]] += 1

    def handle_endtag(self, tag):
        if tag == "svg" and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def chromium_dom(chromium, page, work):
    profile_dir = os.path.join(work, "chromium-profile")
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", "--user-data-dir=" + profile_dir, "--dump-dom", "file://" + os.path.abspath(page)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        raise SystemExit(f"chromium failed ({r.returncode}) on {page}:\n{r.stderr[-2000:]}")
    dom = Dom()
    dom.feed(r.stdout)
    return dom


def check_page(chromium, tsrun, model, inputs, work, tag, hostile=()):
    page = os.path.join(work, tag + ".html")
    r = subprocess.run([tsrun, model, "--input", inputs, "--profile", "--json", "--report", page],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise SystemExit(f"tsrun failed on {model}: {r.stderr}")
    profile = json.loads(r.stdout)["profile"]
    nodes = [n for n in profile["nodes"] if not n["folded"]]
    spikes = [n for n in nodes if n["op"] == "TernarySpike"]
    layers = [n for n in nodes if "synapses" in n]
    expected = {
        "chart-density": len(spikes),
        "chart-density-time": len(spikes) * profile["timesteps"],
        "chart-time": len(nodes),
        "chart-energy": 2 * len(layers),
    }
    dom = chromium_dom(chromium, page, work)
    failures = []
    if dom.rendered != "ok":
        failures.append(f"body data-rendered={dom.rendered!r}: the script did not finish")
    for chart, count in expected.items():
        if dom.bars.get(chart) != count:
            failures.append(f"{chart}: {dom.bars.get(chart)} bars, expected {count}")
    if "img" in dom.tags:
        failures.append("an <img> element exists: a node name became markup")
    text = "".join(dom.text)
    for name in hostile:
        if name not in text:
            failures.append(f"node name {name!r} is not shown as text")
    for f in failures:
        print(f"{tag}: {f}", file=sys.stderr)
    if not failures:
        print(f"{tag}: rendered, bars {expected}")
    return page, failures


def main():
    tsrun, source, work = sys.argv[1:4]
    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if not chromium:
        print("FAILED: chromium is not installed (scripts/install-deps.sh installs it)")
        return 1
    os.makedirs(work, exist_ok=True)
    failures = []

    _, f = check_page(chromium, tsrun, os.path.join(source, "models/fashion_resnet.onnx"),
                      os.path.join(source, "models/samples/fashion_0_ankle_boot.png"), work, "fashion_resnet")
    failures += f
    data = os.path.join(source, "tests/data")
    _, f = check_page(chromium, tsrun, os.path.join(data, "residual_block.onnx"),
                      os.path.join(data, "residual_block.input1.npy"), work, "residual_block")
    failures += f

    # Node names that would run script or add elements if they became markup.
    import onnx
    model = onnx.load(os.path.join(data, "residual_block.onnx"))
    hostile = ["<img src=x onerror=\"document.body.setAttribute('data-rendered','injected')\">",
               "</script><script>document.body.setAttribute('data-rendered','injected')</script>"]
    spikes = [n for n in model.graph.node if n.op_type == "TernarySpike"]
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    spikes[0].name = hostile[0]
    convs[0].name = hostile[1]
    hostile_path = os.path.join(work, "hostile.onnx")
    onnx.save(model, hostile_path)
    page, f = check_page(chromium, tsrun, hostile_path, os.path.join(data, "residual_block.input1.npy"), work,
                         "hostile_names", hostile)
    failures += f

    # The check itself: a page whose script throws must not pass.
    with open(page, encoding="utf-8") as fh:
        broken = fh.read().replace('id="profile-data">{', 'id="profile-data">{broken', 1)
    broken_page = os.path.join(work, "broken.html")
    with open(broken_page, "w", encoding="utf-8") as fh:
        fh.write(broken)
    dom = chromium_dom(chromium, broken_page, work)
    if dom.rendered == "ok" or not (dom.rendered or "").startswith("error"):
        failures.append(f"a page whose script throws gave data-rendered={dom.rendered!r}")

    if failures:
        print(f"{len(failures)} failure(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
