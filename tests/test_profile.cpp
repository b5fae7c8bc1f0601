// SPDX-License-Identifier: Apache-2.0
// Session profiles (SessionOptions::profile): synaptic operations and energy
// against a hand count, per-timestep densities and times, outputs unchanged
// by profiling, and tsrun --profile / --report on every shipped model.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/model_builder.hpp"
#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

constexpr int kT = 3;

// x [1,2,5,5] feeds a real-valued Conv ("real") and a neuron ("s1") whose
// spikes are known: |x| = 1 fires at every timestep (u = x, then reset),
// x = 0.3 never fires (u tends to 0.4 < 0.5). s1 feeds a grouped, strided,
// asymmetrically padded Conv ("conv"), its neuron "s2" (also an output, so
// the test can read its spikes per timestep), then a Gemm and a MatMul.
test::ModelBuilder hand_model() {
  test::ModelBuilder b({1, 2, 5, 5});
  std::vector<float> wr(2 * 2 * 9), w(4 * 1 * 9), wf(16 * 3), wm(16 * 2);
  for (size_t k = 0; k < wr.size(); ++k) wr[k] = float(int(k * 5 % 7) - 3) * 0.1f;
  for (size_t k = 0; k < w.size(); ++k) w[k] = float(int(k * 7 % 11) - 4) * 0.15f;
  for (size_t k = 0; k < wf.size(); ++k) wf[k] = float(int(k % 5) - 2) * 0.1f;
  for (size_t k = 0; k < wm.size(); ++k) wm[k] = float(int(k % 3) - 1) * 0.2f;
  b.initializer("wr", {2, 2, 3, 3}, wr).initializer("w", {4, 1, 3, 3}, w);
  b.initializer("wf", {16, 3}, wf).initializer("wm", {16, 2}, wm);
  b.node("Conv", "real", {"x", "wr"}, {"r"}).ints("pads", {1, 1, 1, 1}).ints("strides", {2, 2});
  b.spike("s1", "x", "a");
  b.node("Conv", "conv", {"a", "w"}, {"c"}).ints("pads", {1, 1, 0, 0}).ints("strides", {2, 2}).i("group", 2);
  b.spike("s2", "c", "d");
  b.node("Flatten", "flat", {"d"}, {"f"});
  b.node("Gemm", "fc", {"f", "wf"}, {"y"});
  b.node("MatMul", "mm", {"f", "wm"}, {"z"});
  b.output("y").output("z").output("r").output("d");
  b.metadata("tspike.timesteps", std::to_string(kT));
  return b;
}

Tensor hand_input() {
  Tensor x({1, 2, 5, 5});
  auto at = [&](int c, int y, int xx) -> float& { return x.data[(c * 5 + y) * 5 + xx]; };
  at(0, 0, 0) = 1.0f;   // top-left corner
  at(0, 1, 1) = -1.0f;  // read by both output rows and columns
  at(0, 4, 4) = 1.0f;   // bottom-right: no output reads it (bottom/right pads 0, stride 2)
  at(0, 2, 2) = 0.3f;   // never fires
  at(1, 1, 3) = 1.0f;
  at(1, 2, 4) = -1.0f;  // last column: read by no output
  at(1, 0, 2) = 0.3f;
  return x;
}

const NodeProfile& node(const Profile& p, const std::string& name) {
  for (const auto& n : p.nodes)
    if (n.name == name) return n;
  throw std::runtime_error("no node " + name);
}

// "conv" counted the other way round from the profile (which sums a fan-out
// table over input positions): every output value and kernel tap that reads
// a nonzero input.
int64_t conv_connections_used(const Tensor& x) {
  int64_t used = 0;
  for (int m = 0; m < 4; ++m)  // group = m / 2 reads input channel m / 2
    for (int oy = 0; oy < 2; ++oy)
      for (int ox = 0; ox < 2; ++ox)
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) {
            const int iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
            if (iy < 0 || iy >= 5 || ix < 0 || ix >= 5) continue;
            used += std::abs(x.data[((m / 2) * 5 + iy) * 5 + ix]) == 1.0f;
          }
  return used;
}

void expect_hand_count(const Profile& p, const std::vector<int64_t>& s2_spikes, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(p.timesteps, kT);
  EXPECT_EQ(p.batch, 1);
  // "conv" per timestep. Row fan-out (5 rows, kernel 3, stride 2, top pad 1,
  // bottom pad 0, 2 output rows): output row 0 reads rows 0,1 and row 1
  // reads rows 1,2,3, so rows 0..4 reach [1,2,1,1,0] output rows; the same
  // for columns; each input channel reaches M / group = 2 output channels.
  // Events: ch0 (0,0) 2*1*1 = 2, ch0 (1,1) 2*2*2 = 8, ch0 (4,4) 0,
  // ch1 (1,3) 2*2*1 = 4, ch1 (2,4) 2*1*0 = 0: 14 AC per timestep.
  const int64_t conv_ac = 14;
  ASSERT_EQ(conv_connections_used(hand_input()), conv_ac);
  const auto& conv = node(p, "conv");
  EXPECT_EQ(conv.synapses, SynapseKind::kAccumulate);
  EXPECT_EQ(conv.ops, std::vector<int64_t>(kT, conv_ac));
  EXPECT_EQ(conv.ac, kT * conv_ac);
  EXPECT_EQ(conv.mac, 0);
  // Dense: 2 input channels x 2 output channels each x (1+2+1+1+0)^2 taps.
  EXPECT_EQ(conv.dense_macs, 100);

  // "real": pads 1 all round, stride 2, 3 output rows: rows 0..4 reach
  // [1,2,1,2,1] (sum 7) output rows, the same for columns; 2 input channels
  // x 2 output channels x 7 x 7 = 196 MAC (324 taps minus the 128 over padding).
  // Its input does not change over time: it runs at the first timestep only.
  const auto& real = node(p, "real");
  EXPECT_EQ(real.synapses, SynapseKind::kMultiplyAccumulate);
  EXPECT_EQ(real.ops, (std::vector<int64_t>{196, 0, 0}));
  EXPECT_EQ(real.mac, 196);
  EXPECT_EQ(real.ac, 0);
  EXPECT_EQ(real.dense_macs, 196);

  // Gemm [1,16] x [16,3] and MatMul [1,16] x [16,2]: every spike of s2 reaches 3 (2) outputs.
  int64_t s2_total = 0;
  for (int t = 0; t < kT; ++t) {
    EXPECT_EQ(node(p, "fc").ops[t], 3 * s2_spikes[t]) << "timestep " << t;
    EXPECT_EQ(node(p, "mm").ops[t], 2 * s2_spikes[t]) << "timestep " << t;
    s2_total += s2_spikes[t];
  }
  EXPECT_GT(s2_total, 0) << "the weights should make s2 fire";
  EXPECT_EQ(node(p, "fc").ac, 3 * s2_total);
  EXPECT_EQ(node(p, "mm").ac, 2 * s2_total);
  EXPECT_EQ(node(p, "fc").dense_macs, 48);
  EXPECT_EQ(node(p, "mm").dense_macs, 32);

  // Densities: s1 fires 5 of 50 at every timestep; s2 of 16.
  EXPECT_EQ(node(p, "s1").density, std::vector<double>(kT, 0.1));
  EXPECT_EQ(node(p, "s1").spikes, 15);
  for (int t = 0; t < kT; ++t) EXPECT_DOUBLE_EQ(node(p, "s2").density[t], double(s2_spikes[t]) / 16.0);
  EXPECT_EQ(node(p, "s2").spikes, s2_total);
  EXPECT_EQ(node(p, "flat").synapses, SynapseKind::kNone);

  // Totals and energy (0.9 pJ per AC, 4.6 pJ per MAC).
  const int64_t ac = kT * conv_ac + 5 * s2_total;
  EXPECT_EQ(p.ac, ac);
  EXPECT_EQ(p.mac, 196);
  EXPECT_EQ(p.dense_macs, 196 + 100 + 48 + 32);
  EXPECT_NEAR(p.energy_pj, 0.9 * double(ac) + 4.6 * 196, 1e-9);
  EXPECT_NEAR(p.dense_energy_pj, 4.6 * 376, 1e-9);
  EXPECT_NEAR(p.energy_ratio(), 4.6 * 376 / (0.9 * double(ac) + 4.6 * 196), 1e-12);
  EXPECT_NEAR(node(p, "conv").energy_pj, 0.9 * kT * conv_ac, 1e-9);
  EXPECT_NEAR(node(p, "real").dense_energy_pj, 4.6 * 196, 1e-9);

  // Times: one per timestep, summing to the totals.
  double sum = 0;
  for (const auto& n : p.nodes) {
    ASSERT_EQ(n.time_ms.size(), size_t(kT)) << n.name;
    double node_sum = 0;
    for (double v : n.time_ms) {
      EXPECT_GE(v, 0.0);
      node_sum += v;
    }
    EXPECT_DOUBLE_EQ(n.total_time_ms, node_sum);
    sum += node_sum;
  }
  EXPECT_NEAR(p.time_ms, sum, 1e-9);
  EXPECT_GT(node(p, "conv").total_time_ms, 0.0);
  // Timestep by timestep the invariant layer does not run after the first
  // timestep; layer by layer its outputs are copied then, and timed.
  if (!p.layer_major) EXPECT_EQ(node(p, "real").time_ms[1], 0.0);
  EXPECT_EQ(node(p, "conv").output_shape, (Shape{1, 4, 2, 2}));
}

TEST(Profile, SynapticOperationsAndEnergyMatchAHandCount) {
  const Tensor x = hand_input();
  for (const auto& [label, options] :
       {std::pair<const char*, LoadOptions>{"event kernels", LoadOptions{.engine = Engine::kEvent}},
        {"dense kernels", LoadOptions{.engine = Engine::kDense}},
        {"reference kernels", LoadOptions{.reference_kernels = true}}}) {
    auto model = hand_model().load(options);
    // s2's spikes per timestep, from step()'s un-reduced output "d".
    Session stepped(model, SessionOptions{.profile = true});
    std::vector<int64_t> s2_spikes;
    for (int t = 0; t < kT; ++t) {
      auto out = stepped.step(x);
      ASSERT_EQ(out[3].name, "d");
      int64_t nonzero = 0;
      for (float v : out[3].data) nonzero += v != 0.0f;
      s2_spikes.push_back(nonzero);
    }
    const Profile streamed = stepped.profile();
    // step() never skips the invariant "real" layer: it counts its MACs every timestep.
    EXPECT_EQ(node(streamed, "real").ops, std::vector<int64_t>(kT, 196)) << label;
    EXPECT_EQ(node(streamed, "conv").ops, std::vector<int64_t>(kT, 14)) << label;

    Session session(model, SessionOptions{.profile = true, .timestep_major = true});
    session.run(x);
    session.run(x);  // a second run starts the profile again
    EXPECT_FALSE(session.profile().layer_major) << label;
    expect_hand_count(session.profile(), s2_spikes, label);

    // Layer by layer, the profile times what that order runs, and counts the same.
    Session by_layer(model, SessionOptions{.profile = true, .layer_major = true});
    by_layer.run(x);
    by_layer.run(x);
    ASSERT_TRUE(by_layer.stats().layer_major) << label;
    EXPECT_TRUE(by_layer.profile().layer_major) << label;
    expect_hand_count(by_layer.profile(), s2_spikes, label);
  }
}

TEST(Profile, OffByDefaultAndNamedWhenMissing) {
  auto model = hand_model().load();
  Session plain(model);
  plain.run(hand_input());
  EXPECT_THROW(plain.profile(), Error);
  Session profiled(model, SessionOptions{.profile = true});
  // profile() before any run.
  test::expect_error([&] { profiled.profile(); }, ErrorCode::kBadInput, {});
}

// step() past the Session's T keeps recording (the buffers grow), and
// reset() starts the profile again.
TEST(Profile, StepsPastTAndReset) {
  auto model = hand_model().load();
  Session session(model, SessionOptions{.profile = true});
  for (int t = 0; t < 2 * kT + 1; ++t) session.step(hand_input());
  Profile p = session.profile();
  EXPECT_EQ(p.timesteps, 2 * kT + 1);
  EXPECT_EQ(node(p, "conv").ops, std::vector<int64_t>(2 * kT + 1, 14));
  EXPECT_EQ(node(p, "s1").density, std::vector<double>(2 * kT + 1, 0.1));
  session.reset();
  EXPECT_THROW(session.profile(), Error);
  session.step(hand_input());
  p = session.profile();
  EXPECT_EQ(p.timesteps, 1);
  EXPECT_EQ(node(p, "real").ops, std::vector<int64_t>{196});
}

// Profiling changes nothing a run computes, on the test models (direct and
// sequence encoding) and with threads.
TEST(Profile, OutputsEqualAnUnprofiledRun) {
  for (const char* m :
       {"residual_block", "pytorch_flatten", "groups_concat", "binary_sequence", "shared_weights"}) {
    auto model = Model::load(test::source_path(std::string("tests/data/") + m + ".onnx"));
    const Tensor input = load_npy(test::source_path(std::string("tests/data/") + m + ".input1.npy"));
    for (auto [threads, layer_major] : {std::pair{1, false}, {2, false}, {1, true}, {2, true}}) {
      Session plain(model, SessionOptions{.threads = threads, .layer_major = layer_major});
      Session profiled(model,
                       SessionOptions{.threads = threads, .profile = true, .layer_major = layer_major});
      auto a = plain.run(input);
      auto b = profiled.run(input);
      ASSERT_EQ(a.size(), b.size());
      for (size_t o = 0; o < a.size(); ++o) EXPECT_EQ(a[o].data, b[o].data) << m;
      const Profile p = profiled.profile();
      EXPECT_EQ(p.timesteps, plain.stats().timesteps);
      EXPECT_EQ(p.layer_major, plain.stats().layer_major) << m;
      // The densities agree with the Session's firing rates.
      const RunStats stats = plain.stats();
      size_t spike = 0;
      for (const auto& n : p.nodes) {
        if (n.op_type != "TernarySpike") continue;
        double mean = 0;
        for (double d : n.density) mean += d / double(n.density.size());
        ASSERT_LT(spike, stats.firing_rates.size());
        EXPECT_NEAR(mean, stats.firing_rates[spike++].second, 1e-12) << m << " " << n.name;
      }
      EXPECT_EQ(spike, stats.firing_rates.size());
    }
  }
}

std::string tsrun() { return test::tools_dir() + "/tsrun"; }

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// tsrun --profile (table and JSON) and --report on every model in models/
// (an image, or a recording for an event-camera model).
TEST(ProfileTool, EveryShippedModel) {
  const std::string dir = test::temp_dir("profile_models");
  const std::string image_input = " --input " + test::source_path("models/samples/fashion_0_ankle_boot.png");
  const std::string events_input =
      " --events " + test::source_path("models/samples/events/fashion_events_0_ankle_boot.bin");
  int models = 0;
  for (const auto& entry : std::filesystem::directory_iterator(test::source_path("models"))) {
    if (entry.path().extension() != ".onnx") continue;
    ++models;
    const std::string path = entry.path().string(), name = entry.path().stem().string();
    SCOPED_TRACE(name);
    const std::string input = has_event_binning(Model::load(path)->info()) ? events_input : image_input;
    auto table = test::run_command(tsrun() + " " + path + input + " --profile");
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_NE(table.out.find("spike density per timestep"), std::string::npos) << table.out;
    EXPECT_NE(table.out.find("Horowitz ISSCC 2014"), std::string::npos);
    EXPECT_NE(table.out.find("energy ratio dense ANN / SNN"), std::string::npos);

    const std::string report = dir + "/" + name + ".html";
    auto r = test::run_command(tsrun() + " " + path + input + " --profile --json --report " + report);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    const auto& p = j.at("profile");
    EXPECT_EQ(p["timesteps"], j["timesteps"]);
    double energy = 0, dense = 0;
    int64_t ac = 0, mac = 0, layers = 0, spikes = 0;
    for (const auto& n : p["nodes"]) {
      if (n["op"] == "TernarySpike") {
        ++spikes;
        ASSERT_EQ(n["density"].size(), j["timesteps"].get<size_t>());
        for (double d : n["density"]) {
          EXPECT_GE(d, 0.0);
          EXPECT_LE(d, 1.0);
        }
      }
      if (!n.contains("synapses")) continue;
      ++layers;
      ac += n["ac"].get<int64_t>();
      mac += n["mac"].get<int64_t>();
      energy += n["energy_pj"].get<double>();
      dense += n["dense_energy_pj"].get<double>();
      EXPECT_GT(n["dense_macs"].get<int64_t>(), 0) << n["name"];
    }
    EXPECT_GT(layers, 0);
    EXPECT_GT(spikes, 0);
    EXPECT_EQ(p["ac"].get<int64_t>(), ac);
    EXPECT_EQ(p["mac"].get<int64_t>(), mac);
    EXPECT_NEAR(p["energy_pj"].get<double>(), 0.9 * double(ac) + 4.6 * double(mac), 1e-6 * energy);
    EXPECT_NEAR(p["energy_pj"].get<double>(), energy, 1e-6 * energy);
    EXPECT_NEAR(p["dense_energy_pj"].get<double>(), dense, 1e-6 * dense);
    EXPECT_GT(p["energy_ratio"].get<double>(), 0.0);

    const std::string html = slurp(report);
    for (const char* chart : {"id=\"density\"", "id=\"density-time\"", "id=\"time\"", "id=\"energy\""})
      EXPECT_NE(html.find(chart), std::string::npos)
          << chart;  // the script draws into them (report_chromium)
    EXPECT_NE(html.find("id=\"profile-data\""), std::string::npos);
    EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg")) << "only the SVG namespace URI";
    EXPECT_EQ(html.find("https://"), std::string::npos);
    EXPECT_EQ(html.find(" src="), std::string::npos);
  }
  EXPECT_GE(models, 3);
}

// Node names come from the file: in the page they are data, never markup.
TEST(ProfileTool, ReportEscapesNames) {
  const std::string hostile = "</script><img src=x onerror=alert(1)>&\"'";
  test::ModelBuilder b({1, 4});
  b.initializer("w", {4, 2}, {0.5f, -0.5f, 1, 0, 0, 1, -1, 1});
  b.spike(hostile, "x", "s");
  b.node("Gemm", "fc<b>", {"s", "w"}, {"y"});
  b.output("y");
  const std::string dir = test::temp_dir("profile_escape");
  {
    std::ofstream f(dir + "/m.onnx", std::ios::binary);
    f << b.serialize();
  }
  save_npy(dir + "/x.npy", Tensor({1, 4}, {1, 1, 1, 1}));
  auto r = test::run_command(tsrun() + " " + dir + "/m.onnx --input " + dir + "/x.npy --report " + dir +
                             "/r.html");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = slurp(dir + "/r.html");
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("fc<b>"), std::string::npos);
  EXPECT_EQ(html.find("</script><img"), std::string::npos);
  EXPECT_NE(html.find("\\u003c/script\\u003e\\u003cimg"), std::string::npos) << "the name is kept, escaped";
}

}  // namespace
}  // namespace tspike
