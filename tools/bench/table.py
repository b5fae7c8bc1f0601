#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Markdown table of tsbench --json results (one file per run).

    python3 tools/bench/table.py RESULTS/*.json
"""

import json
import sys


def col(run, name):
    for c in run["columns"]:
        if c["name"] == name:
            return c
    return None


def fmt_ratio(run, name):
    c = col(run, name)
    return f"{c['event_speedup']:.2f}" if c else "-"


def main():
    runs = [json.load(open(p)) for p in sys.argv[1:]]
    print("| model | batch | threads | load avg | mean firing | event ms (p10-p90) | dense / event | "
          "PyTorch / event | ORT / event | event MB | dense MB | PyTorch MB | ORT MB | weights MB | "
          "SOP/s (run) | of add peak | SOP/s (spike layers) | of add peak | logits equal |")
    print("|" + "---|" * 19)
    for r in runs:
        ev = col(r, "tspike event")
        mem = {n: (f"{col(r, n)['memory_mb']:.0f}" if col(r, n) else "-")
               for n in ("tspike event", "tspike dense", "pytorch eager", "onnxruntime")}
        same = all(c["max_rel_diff_to_event"] <= 1e-5 and c["argmax_equal_to_event"] == r["batch"]
                   for c in r["columns"])
        sop = r["sop"]
        # The bar: one thread's measured add peak times the threads (older
        # files divided by the N-thread measurement).
        bar = r["peak_add"]["per_thread_per_s"] * r["threads"]
        print(f"| {r['model'].replace('.tspike.onnx', '')} | {r['batch']} | {r['threads']} | "
              f"{r['load_average'][0]} | {r['mean_firing_rate']:.3f} | "
              f"{ev['median_ms']:.1f} ({ev['p10_ms']:.1f}-{ev['p90_ms']:.1f}) | "
              f"{fmt_ratio(r, 'tspike dense')} | {fmt_ratio(r, 'pytorch eager')} | {fmt_ratio(r, 'onnxruntime')} | "
              f"{mem['tspike event']} | {mem['tspike dense']} | {mem['pytorch eager']} | {mem['onnxruntime']} | "
              f"{r['weights_mb']:.0f} | {sop['sop_per_s'] / 1e9:.1f} G | {100 * sop['sop_per_s'] / bar:.0f}% | "
              f"{(sop['event_layers_sop_per_s'] or 0) / 1e9:.1f} G | {100 * (sop['event_layers_sop_per_s'] or 0) / bar:.0f}% | "
              f"{'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
