// SPDX-License-Identifier: Apache-2.0
// Runs a benchmark model's unrolled standard-ONNX graph (NAME.unrolled.onnx,
// from make_bench_models.py) with ONNX Runtime (npm onnxruntime-node, CPU),
// all graph optimizations on, intraOpNumThreads = N.
//
//   node tools/bench/ort_bench.mjs DIR/NAME.json [--batch B] [--threads N]
//        [--iters K] [--warmup W] [--input X.npy] [--serve]
//
// Prints the same JSON as torch_eager.py (times_ms, peak_rss_mb, base_rss_mb,
// logits); --serve speaks the same line protocol ("run", "done").
// Install: scripts/install-bench-deps.sh.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import ort from 'onnxruntime-node';

function parseArgs(argv) {
  const a = { batch: 1, threads: 1, iters: 10, warmup: 2, serve: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--serve') a.serve = true;
    else if (k.startsWith('--')) {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      a[k.slice(2)] = argv[++i];
    } else a.meta = k;
  }
  if (!a.meta) throw new Error('usage: ort_bench.mjs NAME.json [--batch B] [--threads N] ...');
  for (const k of ['batch', 'threads', 'iters', 'warmup']) a[k] = Number(a[k]);
  return a;
}

// A little-endian float32 C-order .npy file: { shape, data }.
function loadNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + hlen);
  if (!header.includes("'<f4'") || header.includes("'fortran_order': True")) {
    throw new Error(`${file}: want little-endian float32 in C order`);
  }
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  const off = start + hlen;
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + buf.length));
  return { shape, data };
}

// VmRSS (now) or VmHWM (peak) in MB. Not resourceUsage().maxRSS: Linux
// carries ru_maxrss over from the parent across exec (tsbench's own peak).
function statusMb(field) {
  const m = fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const base = statusMb('VmRSS');
  const meta = JSON.parse(fs.readFileSync(a.meta, 'utf8'));
  const stem = a.meta.replace(/\.json$/, '');
  if (a.timesteps && Number(a.timesteps) !== meta.timesteps) {
    throw new Error(`the unrolled graph has T = ${meta.timesteps}; make another for T = ${a.timesteps}`);
  }
  const x = loadNpy(a.input || path.join(path.dirname(a.meta), meta.input));
  const per = x.shape.slice(1).reduce((p, v) => p * v, 1);
  const data = new Float32Array(a.batch * per);
  for (let n = 0; n < a.batch; n++) data.set(x.data.subarray((n % x.shape[0]) * per, (n % x.shape[0] + 1) * per), n * per);
  const input = new ort.Tensor('float32', data, [a.batch, ...x.shape.slice(1)]);

  const session = await ort.InferenceSession.create(stem + '.unrolled.onnx', {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    executionProviders: ['cpu'],
  });
  const feeds = { [session.inputNames[0]]: input };
  let out;
  const once = async () => {
    const t0 = process.hrtime.bigint();
    const r = await session.run(feeds);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    out = r[session.outputNames[0]];
    return ms;
  };
  for (let i = 0; i < a.warmup; i++) await once();
  const times = [];
  if (a.serve) {
    console.log(JSON.stringify({ ready: true }));
    const rl = readline.createInterface({ input: process.stdin });
    for await (const line of rl) {
      const cmd = line.trim();
      if (cmd === 'run') console.log(JSON.stringify({ ms: (times.push(await once()), times.at(-1)) }));
      else if (cmd === 'done') break;
    }
    rl.close();
  } else {
    for (let i = 0; i < a.iters; i++) times.push(await once());
  }
  if (!out) await once();
  console.log(JSON.stringify({
    runner: 'onnxruntime', version: ort.env.versions.node, threads: a.threads, batch: a.batch,
    timesteps: meta.timesteps, times_ms: times, peak_rss_mb: statusMb('VmHWM'), base_rss_mb: base,
    logits_shape: out.dims, logits: Array.from(out.data),
  }));
  process.exit(0);
}

main().catch((e) => { console.error(`ort_bench: ${e.message}`); process.exit(1); });
