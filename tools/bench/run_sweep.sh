#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs tsbench (with PyTorch and ONNX Runtime) on every benchmark model of a
# directory, threads 1 and 2, batch 1 (and BATCHES="1 16" for more), one JSON
# per run in DIR/results, then prints the markdown table (docs/benchmarks.md).
#   tools/bench/run_sweep.sh DIR TSBENCH [extra tsbench options]
set -euo pipefail
dir=$1 tsbench=$2
shift 2
here=$(dirname "$0")
mkdir -p "$dir/results"
for model in "$dir"/*.tspike.onnx; do
  name=$(basename "$model" .tspike.onnx)
  for batch in ${BATCHES:-1}; do
    for threads in ${THREADS:-1 2}; do
      out="$dir/results/${name}_b${batch}_t${threads}.json"
      echo "== $name batch $batch threads $threads" >&2
      "$tsbench" "$model" --torch --ort --threads "$threads" --batch "$batch" --json "$@" > "$out"
    done
  done
done
/usr/bin/python3 "$here/table.py" "$dir"/results/*.json
