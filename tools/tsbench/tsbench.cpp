// SPDX-License-Identifier: Apache-2.0
// tsbench: one model, side by side in one run: tspike's event and dense
// engines, and optionally PyTorch eager and ONNX Runtime as subprocesses
// (docs/benchmarks.md). Repetitions are interleaved (round-robin, the order
// rotating every round) so that the machine's load falls on every column,
// with a pause before each run (--settle-ms) so that threads that spin after
// their work (OpenMP's in PyTorch, ONNX Runtime's) do not take the cores of
// the column that runs next.
#include <fmt/format.h>
#include <malloc.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tools/cli_common.hpp"
#include "tools/tsbench/child.hpp"
#include "tools/tsbench/peak_add.hpp"
#include "tspike/tspike.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace tspike::bench {
namespace {

struct Options {
  std::string model;
  int threads = 1, batch = 1, timesteps = 0, iters = 10, warmup = 2, settle_ms = 50;
  bool json = false, quiet = false, torch = false, ort = false, layer_major = false, timestep_major = false;
  std::string input, python = "/usr/bin/python3", node = "node", bench_dir = TSPIKE_BENCH_DIR;
};

struct Column {
  std::string name;
  std::vector<double> ms;
  double memory_mb = 0;
  std::string memory_kind;
  std::vector<float> logits;
  // tspike only
  std::shared_ptr<const Model> model;
  std::unique_ptr<Session> session;
  std::vector<Tensor> outputs;
  // subprocesses only
  std::unique_ptr<Child> child;
};

// VmRSS (now) or VmHWM (peak) of this process in MB.
double status_mb(const std::string& field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.starts_with(field + ":")) return std::stod(line.substr(field.size() + 1)) / 1024;
  }
  return NAN;
}

// Live memory: the bytes the heap has handed out and not taken back
// (mallinfo2: small blocks + mmapped ones). RSS growth is no measure of
// one model's memory inside a process that loaded others: freed pages that
// the heap keeps (fragmentation) are counted for whoever frees them, or
// reused by whoever comes next.
double heap_live_mb() {
  const struct mallinfo2 mi = mallinfo2();
  return static_cast<double>(mi.uordblks + mi.hblkhd) / (1 << 20);
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  double pos = p * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

// The benchmark input: the first `batch` samples of `x`, repeated beyond its length.
Tensor tile_batch(const Tensor& x, int batch) {
  Shape shape = x.shape;
  const int64_t per = element_count(shape) / shape[0];
  const int64_t have = shape[0];
  shape[0] = batch;
  Tensor t(shape);
  for (int n = 0; n < batch; ++n) {
    std::copy_n(x.data.begin() + (n % have) * per, per, t.data.begin() + n * per);
  }
  return t;
}

void add_tspike(std::vector<Column>& cols, const Options& o, Engine engine, const Tensor& input) {
  Column c;
  c.name = std::string("tspike ") + to_string(engine);
  const double before = heap_live_mb();
  LoadOptions lo;
  lo.engine = engine;
  c.model = Model::load(o.model, lo);
  SessionOptions so;
  so.threads = o.threads;
  so.timesteps = o.timesteps;
  so.layer_major = o.layer_major;
  so.timestep_major = o.timestep_major;
  c.session = std::make_unique<Session>(c.model, so);
  for (int i = 0; i < std::max(1, o.warmup); ++i) c.session->run(input, c.outputs);
  c.memory_mb = heap_live_mb() - before;
  c.memory_kind = "live heap after load + warm-up (model + session)";
  cols.push_back(std::move(c));
}

struct Sop {
  double ac = 0, mac = 0;
  double event_ms = 0;  // the spike-fed layers' time, best per layer over the profiled runs
  json layers = json::array();
};

// Synaptic operations from the library's profile (docs/profiling.md: exact
// fan-out), on a separate profiled Session so that the timed runs do no
// counting. Each spike-fed layer's time is its best over a few runs: on a
// shared machine a layer of a few ms is often preempted, and the peak it is
// compared with is a best-of figure too.
Sop synaptic_ops(const std::shared_ptr<const Model>& model, const Options& o, const Tensor& input) {
  SessionOptions so;
  so.threads = o.threads;
  so.timesteps = o.timesteps;
  so.profile = true;
  so.layer_major = o.layer_major;  // the timed columns' order (a profile follows it)
  so.timestep_major = o.timestep_major;
  Session s(model, so);
  std::vector<Tensor> outputs;
  std::vector<Profile> runs;
  for (int i = 0; i < std::max(3, std::min(o.iters, 9)); ++i) {
    s.run(input, outputs);
    runs.push_back(s.profile());
  }
  Sop r;
  r.ac = static_cast<double>(runs[0].ac);
  r.mac = static_cast<double>(runs[0].mac);
  for (size_t n = 0; n < runs[0].nodes.size(); ++n) {
    const NodeProfile& node = runs[0].nodes[n];
    if (node.synapses != SynapseKind::kAccumulate || node.ac == 0) continue;
    std::vector<double> ms;
    for (const auto& p : runs) ms.push_back(p.nodes[n].total_time_ms);
    const double best = *std::min_element(ms.begin(), ms.end());
    r.event_ms += best;
    r.layers.push_back({{"node", node.name},
                        {"ac", node.ac},
                        {"ms", best},
                        {"sop_per_s", static_cast<double>(node.ac) / (best * 1e-3)}});
  }
  return r;
}

json read_json_line(Child& child) {
  for (;;) {
    std::string line = child.read_line();
    auto j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object()) return j;  // other lines are library chatter
  }
}

void add_runner(std::vector<Column>& cols, const Options& o, const std::string& name,
                std::vector<std::string> argv, const std::string& meta, const std::string& input,
                std::vector<std::string>& notes) {
  argv.insert(argv.end(),
              {meta, "--serve", "--batch", std::to_string(o.batch), "--threads", std::to_string(o.threads),
               "--warmup", std::to_string(o.warmup), "--input", input});
  if (o.timesteps > 0) argv.insert(argv.end(), {"--timesteps", std::to_string(o.timesteps)});
  try {
    Column c;
    c.name = name;
    c.child = std::make_unique<Child>(name, argv);
    if (!read_json_line(*c.child).value("ready", false)) throw std::runtime_error(name + ": not ready");
    cols.push_back(std::move(c));
  } catch (const std::exception& e) {
    notes.push_back(fmt::format("{} left out: {}", name, e.what()));
  }
}

double run_once(Column& c, const Tensor& input) {
  if (c.child) {
    c.child->send("run");
    return read_json_line(*c.child).at("ms").get<double>();
  }
  auto t0 = std::chrono::steady_clock::now();
  c.session->run(input, c.outputs);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void finish(Column& c) {
  if (c.child) {
    c.child->send("done");
    json j = read_json_line(*c.child);
    c.child->wait();
    c.logits = j.at("logits").get<std::vector<float>>();
    c.memory_mb = j.at("peak_rss_mb").get<double>() - j.at("base_rss_mb").get<double>();
    c.memory_kind = fmt::format("peak RSS {:.0f} MB - {:.0f} MB after the runtime's import",
                                j.at("peak_rss_mb").get<double>(), j.at("base_rss_mb").get<double>());
  } else {
    c.logits = c.outputs.at(0).data;
  }
}

int argmax_agree(const std::vector<float>& a, const std::vector<float>& b, int batch) {
  if (a.size() != b.size() || a.empty()) return -1;
  const size_t k = a.size() / batch;
  int same = 0;
  for (int n = 0; n < batch; ++n) {
    auto ia = std::max_element(a.begin() + n * k, a.begin() + (n + 1) * k) - a.begin();
    auto ib = std::max_element(b.begin() + n * k, b.begin() + (n + 1) * k) - b.begin();
    same += ia == ib;
  }
  return same;
}

double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || a.empty()) return NAN;
  double scale = 0, diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    scale = std::max(scale, static_cast<double>(std::fabs(a[i])));
    diff = std::max(diff, static_cast<double>(std::fabs(a[i] - b[i])));
  }
  return diff / std::max(scale, 1e-30);
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a;
  f >> a;
  return a;
}

int run(const Options& o) {
  const std::string model_name = fs::path(o.model).filename().string();
  std::string stem = o.model;
  for (const char* ext : {".tspike.onnx", ".onnx"}) {
    if (stem.size() > std::string(ext).size() && stem.ends_with(ext)) {
      stem.resize(stem.size() - std::string(ext).size());
      break;
    }
  }
  const std::string meta_path = stem + ".json";
  json meta;
  if (fs::exists(meta_path)) meta = json::parse(std::ifstream(meta_path), nullptr, false);
  std::vector<std::string> notes;

  const std::string load_avg_before = load_average();
  const double rss_start = status_mb("VmRSS");
  const PeakAdd peak = measure_peak_add(o.threads);

  // The input: --input, else the model's NAME.input.npy, else seeded normal noise.
  std::string input_path = o.input;
  if (input_path.empty() && fs::exists(stem + ".input.npy")) input_path = stem + ".input.npy";
  Tensor base;
  if (!input_path.empty()) {
    base = load_npy(input_path);
  } else {
    Shape s = Model::load(o.model)->info().input.shape;
    for (auto& d : s) d = d < 0 ? 1 : d;
    base = Tensor(s);
    std::mt19937 rng(0);
    std::normal_distribution<float> nd;
    for (auto& v : base.data) v = nd(rng);
  }
  if (base.shape.empty() || base.shape[0] < 1) throw Error(ErrorCode::kBadInput, "input has no batch axis");
  const Tensor input = tile_batch(base, o.batch);

  // The first model run in a process pays one-time costs (about 9 MB, the
  // same for either engine: the column loaded first showed it); a throwaway
  // run keeps them out of the columns' live memory.
  {
    std::vector<Tensor> outputs;
    SessionOptions so;
    so.threads = o.threads;
    so.timesteps = o.timesteps;
    Session(Model::load(o.model), so).run(input, outputs);
  }
  std::vector<Column> cols;
  add_tspike(cols, o, Engine::kEvent, input);
  add_tspike(cols, o, Engine::kDense, input);
  if ((o.torch || o.ort) && (meta.is_discarded() || meta.empty() || input_path.empty())) {
    notes.push_back("PyTorch / ONNX Runtime need the files of make_bench_models.py beside the model");
  } else {
    if (o.torch) {
      add_runner(cols, o, "pytorch eager", {o.python, o.bench_dir + "/torch_eager.py"}, meta_path, input_path,
                 notes);
    }
    if (o.ort) {
      if (!fs::exists(o.bench_dir + "/node_modules/onnxruntime-node")) {
        notes.push_back("onnxruntime left out: not installed (scripts/install-bench-deps.sh)");
      } else {
        add_runner(cols, o, "onnxruntime", {o.node, o.bench_dir + "/ort_bench.mjs"}, meta_path, input_path,
                   notes);
      }
    }
  }

  for (int it = 0; it < o.iters; ++it) {
    for (size_t k = 0; k < cols.size(); ++k) {
      Column& c = cols[(it + k) % cols.size()];
      std::this_thread::sleep_for(std::chrono::milliseconds(o.settle_ms));
      c.ms.push_back(run_once(c, input));
    }
  }
  for (auto& c : cols) finish(c);

  const RunStats stats = cols[0].session->stats();
  const double event_ms = percentile(cols[0].ms, 0.5);
  const Sop sop = synaptic_ops(cols[0].model, o, input);
  const double sops = sop.ac / (event_ms * 1e-3);

  json out;
  out["model"] = model_name;
  out["batch"] = o.batch;
  out["timesteps"] = cols[0].session->timesteps();
  out["threads"] = o.threads;
  out["iters"] = o.iters;
  out["warmup"] = o.warmup;
  out["settle_ms"] = o.settle_ms;
  out["layer_major"] = o.layer_major;
  out["timestep_major"] = o.timestep_major;
  out["load_average"] = {load_avg_before, load_average()};
  out["weights_mb"] = static_cast<double>(fs::file_size(o.model)) / (1 << 20);
  // Both tspike models are loaded at once, so this bounds either engine's peak from above.
  out["tspike_process_peak_growth_mb"] = status_mb("VmHWM") - rss_start;
  out["mean_firing_rate"] = stats.mean_firing_rate;
  out["firing_rates"] = json::object();
  for (const auto& [name, rate] : stats.firing_rates) out["firing_rates"][name] = rate;
  out["columns"] = json::array();
  for (const auto& c : cols) {
    const double med = percentile(c.ms, 0.5);
    json j = {{"name", c.name},
              {"median_ms", med},
              {"p10_ms", percentile(c.ms, 0.1)},
              {"p90_ms", percentile(c.ms, 0.9)},
              {"times_ms", c.ms},
              {"inferences_per_s", o.batch * 1e3 / med},
              {"event_speedup", med / event_ms},
              {"memory_mb", c.memory_mb},
              {"memory_kind", c.memory_kind},
              {"max_rel_diff_to_event", max_rel_diff(cols[0].logits, c.logits)},
              {"argmax_equal_to_event", argmax_agree(cols[0].logits, c.logits, o.batch)}};
    out["columns"].push_back(j);
  }
  out["peak_add"] = {{"isa", peak.isa},
                     {"per_thread_per_s", peak.per_thread},
                     {"threads_per_s", peak.all_threads},
                     {"rows_from_l1_per_s", peak.rows_from_l1},
                     {"rows_from_l2_per_s", peak.rows_from_l2},
                     {"l1_buffer_bytes", peak.l1_bytes},
                     {"l2_buffer_bytes", peak.l2_bytes}};
  // The bar: the one-thread peak times the threads (ideal scaling). The
  // N-thread measurement is reported too, but on a busy machine it falls
  // short of N times, which would flatter the fraction.
  const double bar = peak.per_thread * o.threads;
  // The spike-fed layers' rate, and the most it could be with their rows in the L2.
  const double event_sops = sop.ac / (sop.event_ms * 1e-3), l2_bar = peak.rows_from_l2 * o.threads;
  out["sop"] = {{"ac_per_run", sop.ac},
                {"mac_per_run", sop.mac},
                {"sop_per_s", sops},
                {"fraction_of_peak_add", sops / bar},
                {"event_layers_ms", sop.event_ms},
                {"event_layers_sop_per_s", event_sops},
                {"event_layers_fraction_of_peak_add", event_sops / bar},
                {"event_layers_fraction_of_rows_from_l2", event_sops / l2_bar},
                {"layers", sop.layers}};
  for (auto& l : out["sop"]["layers"]) {
    l["fraction_of_peak_add"] = l["sop_per_s"].get<double>() / bar;
  }
  out["notes"] = notes;

  if (o.json) {
    fmt::print("{}\n", out.dump());
    return cli::kExitOk;
  }
  if (!o.quiet)
    fmt::print("{}  batch {}  T {}  threads {}  {} interleaved iterations (load average {} -> {})\n",
               model_name, o.batch, out["timesteps"].get<int>(), o.threads, o.iters, load_avg_before,
               load_average());
  fmt::print("{:<15} {:>10} {:>19} {:>9} {:>13} {:>10} {:>11}\n", "", "median ms", "p10-p90 ms", "inf/s",
             "event faster", "memory MB", "logits diff");
  for (const auto& j : out["columns"]) {
    fmt::print("{:<15} {:>10.3f} {:>9.3f}-{:<9.3f} {:>9.1f} {:>12.2f}x {:>10.1f} {:>11.1e}\n",
               j["name"].get<std::string>(), j["median_ms"].get<double>(), j["p10_ms"].get<double>(),
               j["p90_ms"].get<double>(), j["inferences_per_s"].get<double>(),
               j["event_speedup"].get<double>(), j["memory_mb"].get<double>(),
               j["max_rel_diff_to_event"].get<double>());
  }
  if (o.quiet) return cli::kExitOk;
  fmt::print(
      "weights {:.1f} MB (model file); tspike memory: live heap of model + session after warm-up, "
      "process peak RSS {:.1f} MB over the start with both models loaded; "
      "subprocesses: peak RSS minus RSS after importing the runtime\n",
      out["weights_mb"].get<double>(), out["tspike_process_peak_growth_mb"].get<double>());
  fmt::print("mean firing rate {:.4f}\n", stats.mean_firing_rate);
  fmt::print(
      "peak vector add ({}): {:.1f} G/s per thread (the bar: x {} threads), measured {:.1f} G/s on {} "
      "threads at once\n",
      peak.isa, peak.per_thread * 1e-9, o.threads, peak.all_threads * 1e-9, o.threads);
  fmt::print(
      "  each add loading its row (random rows, one thread): {:.1f} G/s = {:.1f}% of the peak from the L1 "
      "({} KB of rows), {:.1f} G/s = {:.1f}% from the L2 ({} KB): the most an event layer reaches with its "
      "rows in that cache\n",
      peak.rows_from_l1 * 1e-9, 100 * peak.rows_from_l1 / peak.per_thread, peak.l1_bytes >> 10,
      peak.rows_from_l2 * 1e-9, 100 * peak.rows_from_l2 / peak.per_thread, peak.l2_bytes >> 10);
  if (sop.ac > 0) {
    fmt::print(
        "synaptic ops: {:.2f} M AC (+ {:.2f} M MAC) per run; over the whole event run {:.2f} G SOP/s "
        "= {:.1f}% of the add peak;\n  in the spike-fed layers alone ({:.3f} ms, profiled, best per layer) "
        "{:.2f} G SOP/s = {:.1f}% (of the rate with rows from the L2: {:.1f}%)\n",
        sop.ac * 1e-6, sop.mac * 1e-6, sops * 1e-9, 100 * sops / bar, sop.event_ms, event_sops * 1e-9,
        100 * event_sops / bar, 100 * event_sops / l2_bar);
  } else {
    fmt::print("synaptic ops: no layer fed by pure spikes ({:.2f} M MAC per run)\n", sop.mac * 1e-6);
  }
  for (const auto& n : notes) fmt::print("note: {}\n", n);
  return cli::kExitOk;
}

}  // namespace

// An installed tsbench (bin/) finds the runner scripts in share/tspike/bench;
// a build tree's, in the source tree.
std::string default_bench_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed = exe.parent_path().parent_path() / "share" / "tspike" / "bench";
    if (fs::exists(installed / "torch_eager.py", ec)) return installed.string();
  }
  return TSPIKE_BENCH_DIR;
}

}  // namespace tspike::bench

int main(int argc, char** argv) {
  tspike::bench::Options o;
  o.bench_dir = tspike::bench::default_bench_dir();
  CLI::App app{
      "Benchmark a tspike model: the event and dense engines, and optionally PyTorch eager and ONNX "
      "Runtime, side by side in one interleaved run",
      "tsbench"};
  app.add_option("model", o.model, "tspike model (NAME.tspike.onnx from tools/bench/make_bench_models.py)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--threads", o.threads, "threads for every column")->check(CLI::Range(1, 256));
  app.add_option("--batch", o.batch, "batch size")->check(CLI::Range(1, 4096));
  app.add_option("--timesteps", o.timesteps, "T (0: the model's)")
      ->check(CLI::Range(0, tspike::Limits{}.max_timesteps));
  app.add_option("--iters", o.iters, "timed runs per column")->check(CLI::Range(1, 100000));
  app.add_option("--warmup", o.warmup, "untimed runs per column")->check(CLI::Range(0, 100000));
  app.add_option("--settle-ms", o.settle_ms,
                 "pause before each timed run, so that the previous runtime's spinning threads go to sleep "
                 "(default 50)")
      ->check(CLI::Range(0, 10000));
  app.add_option("--input", o.input, "float32 .npy [S, ...]: the first --batch samples (repeated)")
      ->check(CLI::ExistingFile);
  app.add_flag("--layer-major", o.layer_major,
               "tspike columns run layer by layer (SessionOptions::layer_major)");
  app.add_flag(
      "--timestep-major", o.timestep_major,
      "tspike columns run timestep by timestep (SessionOptions::timestep_major; default: layer by layer "
      "where it pays and fits)");
  app.add_flag("--torch", o.torch, "also PyTorch eager (tools/bench/torch_eager.py)");
  app.add_flag("--ort", o.ort, "also ONNX Runtime on NAME.unrolled.onnx (tools/bench/ort_bench.mjs)");
  app.add_option("--python", o.python, "Python with torch 1.13");
  app.add_option("--node", o.node, "Node.js");
  app.add_option("--bench-dir", o.bench_dir, "where torch_eager.py, ort_bench.mjs and node_modules are");
  app.add_flag("--json", o.json, "one JSON object");
  app.add_flag("-q,--quiet", o.quiet, "print only the table of columns");
  app.footer(
      "Examples:\n"
      "  tsbench resnet19.tspike.onnx --threads 2 --batch 16\n"
      "  tsbench resnet19.tspike.onnx --torch --ort --json\n"
      "  tsbench model.onnx --input samples.npy --timesteps 8 --quiet\n"
      "\n"
      "Runner scripts for --torch and --ort: --bench-dir, else share/tspike/bench beside an installed\n"
      "tsbench, else the source tree's tools/bench.");
  return tspike::cli::run_tool(app, argc, argv, [&] { return tspike::bench::run(o); });
}
