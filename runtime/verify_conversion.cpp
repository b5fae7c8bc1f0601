// SPDX-License-Identifier: Apache-2.0
// verify_conversion: the original and the converted model compared under the
// format's equality rule (docs/format.md, "What the same outputs means"),
// spike map by spike map (tsconvert --verify, tspike.convert(verify=True)).
//
// Both models run the same inputs in lockstep, one timestep at a time, and
// every TernarySpike node is watched with its input current. Conversion keeps
// the names of the TernarySpike nodes and of the values they read, so the
// two can be matched by name. A spike may differ only where both membranes
// are within rounding of the threshold; what depends on such a flip (the
// spike nodes after it, in that sample, from that timestep on; the flipped
// element of its own node until both models fire there again, which resets
// both membranes to 0) is excused. Anything else is a failure, reported at
// the first timestep, node, sample and element where it shows.
#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "ops/neuron.hpp"
#include "runtime/graph.hpp"
#include "tspike/convert.hpp"
#include "tspike/error.hpp"
#include "tspike/session.hpp"

namespace tspike {

namespace {

constexpr size_t kMaxFlipsKept = 20;

// The caller's input shape for a model: the graph input with unknown
// dimensions set to `batch`, with a leading T for sequence encoding.
Shape verify_input_shape(const ModelInfo& info, int64_t batch) {
  Shape shape;
  if (info.metadata.encoding == Encoding::kSequence) shape.push_back(info.metadata.timesteps);
  bool first = true;
  for (int64_t d : info.input.shape) {
    shape.push_back(d < 0 ? (first ? batch : 2) : d);
    first = false;
  }
  return shape;
}

// One TernarySpike node, in both models.
struct Site {
  std::string node, op_type;
  std::string input;                        // the value it reads (same name in both models)
  bool reads_graph_input = false;           // no node computes its input
  const ops::NeuronParams* params[2] = {};  // original, converted
  std::vector<size_t> descendants;          // sites that depend on it
};

struct Captured {
  Shape shape;
  std::vector<float> data;
};

// What one model's observer keeps of the current timestep.
struct Capture {
  std::unordered_map<std::string, Captured> inputs;  // by value name
  std::unordered_map<std::string, Captured> spikes;  // by node name
};

std::shared_ptr<const Model> load_named(const std::string& path, const std::string& name,
                                        const LoadOptions& o) {
  if (name.empty() || name == path) return Model::load(path, o);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIO, fmt::format("{}: cannot read the converted model", name));
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return Model::load_from_memory(bytes.data(), bytes.size(), name, o);
}

// The TernarySpike nodes of the original model in graph order, matched with
// the converted model's; a mismatch of structure is returned as a failure.
std::vector<Site> match_sites(const detail::Graph& a, const detail::Graph& b, std::string& failure) {
  std::vector<Site> sites;
  std::unordered_map<int, size_t> site_of_node;
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const auto& n = a.nodes[i];
    if (!n.traits || !n.traits->neuron || !n.op || !n.op->neuron_params() || n.inputs.empty() ||
        n.inputs[0] < 0)
      continue;
    Site s;
    s.node = n.name;
    s.op_type = n.op_type;
    s.input = a.values[size_t(n.inputs[0])].name;
    s.reads_graph_input = a.values[size_t(n.inputs[0])].producer < 0;
    s.params[0] = n.op->neuron_params();
    site_of_node[int(i)] = sites.size();
    sites.push_back(std::move(s));
  }
  // Descendants: the sites reachable from each site's outputs.
  for (const auto& [node, site] : site_of_node) {
    std::vector<int> stack = {node};
    std::unordered_set<int> seen = {node};
    while (!stack.empty()) {
      const int k = stack.back();
      stack.pop_back();
      for (int v : a.nodes[size_t(k)].outputs)
        for (int c : a.values[size_t(v)].consumers)
          if (seen.insert(c).second) {
            stack.push_back(c);
            if (auto it = site_of_node.find(c); it != site_of_node.end())
              sites[site].descendants.push_back(it->second);
          }
    }
  }
  std::unordered_map<std::string, const detail::GraphNode*> converted;
  for (const auto& n : b.nodes) converted[n.name] = &n;
  for (auto& s : sites) {
    auto it = converted.find(s.node);
    const detail::GraphNode* n = it == converted.end() ? nullptr : it->second;
    if (!n || !n->op || !n->op->neuron_params()) {
      failure = fmt::format("{}: the converted model has no spike node of that name",
                            detail::node_prefix(s.node, s.op_type));
      return {};
    }
    if (n->inputs.empty() || n->inputs[0] < 0 || b.values[size_t(n->inputs[0])].name != s.input) {
      failure = fmt::format("{}: reads '{}' in the original model but not in the converted one",
                            detail::node_prefix(s.node, s.op_type), s.input);
      return {};
    }
    s.params[1] = n->op->neuron_params();
  }
  return sites;
}

// The nodes a model must be watched at: every site and whatever computes
// a site's input.
std::vector<std::string> watched_nodes(const detail::Graph& g, const std::vector<Site>& sites) {
  std::unordered_set<std::string> inputs;
  for (const auto& s : sites) inputs.insert(s.input);
  std::vector<std::string> nodes;
  for (const auto& n : g.nodes) {
    bool watch = false;
    for (const auto& s : sites) watch = watch || s.node == n.name;
    for (int v : n.outputs) watch = watch || (v >= 0 && inputs.count(g.values[size_t(v)].name));
    if (watch) nodes.push_back(n.name);
  }
  return nodes;
}

NodeObserver capture_into(Capture& capture, const std::vector<Site>& sites) {
  std::unordered_set<std::string> spike_nodes, inputs;
  for (const auto& s : sites) {
    spike_nodes.insert(s.node);
    inputs.insert(s.input);
  }
  return [&capture, spike_nodes, inputs](const NodeOutput& out) {
    auto keep = [&](Captured& c) {
      c.shape = out.shape;
      c.data.assign(out.data, out.data + element_count(out.shape));
    };
    if (spike_nodes.count(out.node)) keep(capture.spikes[out.node]);
    if (inputs.count(out.value)) keep(capture.inputs[out.value]);
  };
}

float amplitude_at(const ops::NeuronParams& p, int64_t channel) {
  if (p.amplitude.empty()) return 1.0f;
  return p.amplitude.size() == 1 ? p.amplitude[0] : p.amplitude[size_t(channel)];
}

int fires(double u, const ops::NeuronParams& p) {
  if (p.binary) return u > p.threshold ? 1 : 0;
  return u >= p.threshold ? 1 : u <= -p.threshold ? -1 : 0;
}

// The spike behind output y = a * s; with a = 0 it cannot be seen, and the
// membrane decides.
int spike_of(float y, float a, double u, const ops::NeuronParams& p) {
  if (a == 0.0f || !std::isfinite(a)) return fires(u, p);
  if (y == 0.0f) return 0;
  return (y > 0) == (a > 0) ? 1 : -1;
}

// | |u| - threshold | (binary: |u - threshold|): how far from firing or not.
double margin(double u, const ops::NeuronParams& p) {
  return p.binary ? std::fabs(u - p.threshold) : std::fabs(std::fabs(u) - p.threshold);
}

Shape element_index(const Shape& shape, int64_t e) {
  Shape index(shape.size() > 1 ? shape.size() - 1 : 0);
  for (size_t d = shape.size(); d-- > 1;) {
    index[d - 1] = e % shape[d];
    e /= shape[d];
  }
  return index;
}

std::string spike_text(int s) { return s > 0 ? "+1" : s < 0 ? "-1" : "0"; }

// Runs the comparison of one random input; returns false on a failure
// (then check.failure says what).
class Comparison {
 public:
  Comparison(const std::vector<Site>& sites, const VerifyOptions& o, ConversionCheck& check)
      : sites_(sites), options_(o), check_(check), excused_from_(sites.size()) {}

  void start(int input, int64_t batch) {
    input_ = input;
    batch_ = batch;
    for (auto& e : excused_from_) e.assign(size_t(batch), INT_MAX);
    membranes_[0].assign(sites_.size(), {});
    membranes_[1].assign(sites_.size(), {});
    self_excused_.assign(sites_.size(), {});
    flipped_.assign(size_t(batch), false);
  }

  bool flipped(int64_t sample) const { return flipped_[size_t(sample)]; }

  // One timestep of every site; `frame` is the graph input of this step.
  bool step(int t, const Tensor& frame, const Capture& a, const Capture& b) {
    for (size_t i = 0; i < sites_.size(); ++i)
      if (!compare_site(i, t, frame, a, b)) return false;
    return true;
  }

 private:
  const Captured* find(const std::unordered_map<std::string, Captured>& m, const std::string& key) const {
    auto it = m.find(key);
    return it == m.end() ? nullptr : &it->second;
  }

  bool fail(const Site& s, std::string what) {
    check_.failure = fmt::format("{}: {}", detail::node_prefix(s.node, s.op_type), what);
    return false;
  }

  bool compare_site(size_t i, int t, const Tensor& frame, const Capture& a, const Capture& b) {
    const Site& s = sites_[i];
    const float* x[2];
    Shape shape;
    if (s.reads_graph_input) {
      x[0] = x[1] = frame.data.data();
      shape = frame.shape;
    } else {
      const Captured* xa = find(a.inputs, s.input);
      const Captured* xb = find(b.inputs, s.input);
      if (!xa || !xb)
        return fail(s, fmt::format("its input '{}' could not be watched in both models", s.input));
      if (xa->shape != xb->shape)
        return fail(s,
                    fmt::format("its input '{}' has shape {} in the original and {} in the converted model",
                                s.input, shape_to_string(xa->shape), shape_to_string(xb->shape)));
      x[0] = xa->data.data();
      x[1] = xb->data.data();
      shape = xa->shape;
    }
    const Captured* ya = find(a.spikes, s.node);
    const Captured* yb = find(b.spikes, s.node);
    if (!ya || !yb || ya->shape != shape || yb->shape != shape)
      return fail(s, "its spike map could not be watched in both models, or its shape differs");
    const float* y[2] = {ya->data.data(), yb->data.data()};

    const int64_t total = element_count(shape);
    const int64_t batch = shape.empty() ? 0 : shape[0];
    if (batch != batch_)
      return fail(s, fmt::format("its input {} has no batch of {}", shape_to_string(shape), batch_));
    const int64_t per_sample = batch == 0 ? 0 : total / batch;
    const int64_t inner = shape.size() > 2 ? per_sample / shape[1] : 1;
    const int64_t channels = shape.size() > 1 ? shape[1] : 1;
    for (auto* u : {&membranes_[0][i], &membranes_[1][i]})
      if (int64_t(u->size()) != total) u->assign(size_t(total), 0.0);
    if (int64_t(self_excused_[i].size()) != total) self_excused_[i].assign(size_t(total), 0);
    const ops::NeuronParams& pa = *s.params[0];
    const ops::NeuronParams& pb = *s.params[1];
    double* ua = membranes_[0][i].data();
    double* ub = membranes_[1][i].data();

    for (int64_t n = 0; n < batch; ++n) {
      const bool excused = t >= excused_from_[i][size_t(n)];
      double scale = pa.threshold;
      for (int64_t e = n * per_sample; e < (n + 1) * per_sample; ++e)
        scale = std::max(scale, double(std::fabs(x[0][e])));
      const double tol = options_.tolerance * scale;
      for (int64_t e = 0; e < per_sample; ++e) {
        const int64_t k = n * per_sample + e;
        const int64_t c = (e / inner) % channels;
        const double va = double(pa.decay) * ua[k] + x[0][k];
        const double vb = double(pb.decay) * ub[k] + x[1][k];
        const int sa = spike_of(y[0][k], amplitude_at(pa, c), va, pa);
        const int sb = spike_of(y[1][k], amplitude_at(pb, c), vb, pb);
        ua[k] = sa != 0 ? 0.0 : va;
        ub[k] = sb != 0 ? 0.0 : vb;
        if (excused) {
          check_.excused_differences += sa != sb;
          continue;
        }
        check_.compared_spikes++;
        const double current_diff = std::fabs(double(x[0][k]) - double(x[1][k]));
        if (!(current_diff <= tol))
          return fail(
              s, fmt::format("timestep {}, sample {} of random input {}, element {}: its input current is "
                             "{:.9g} in the original and {:.9g} in the converted model (difference {:.3g}, "
                             "tolerance {:.3g}): the layers before it compute something else",
                             t, n, input_, shape_to_string(element_index(shape, e)), x[0][k], x[1][k],
                             current_diff, tol));
        if (self_excused_[i][size_t(k)]) {
          check_.excused_differences += sa != sb;
          if (sa != 0 && sb != 0) self_excused_[i][size_t(k)] = 0;  // both reset to 0: in step again
          continue;
        }
        if (sa == sb) continue;
        const double m = std::max(margin(va, pa), margin(vb, pb));
        if (!(m <= 2 * tol))
          return fail(
              s,
              fmt::format("timestep {}, sample {} of random input {}, element {}: spike {} in the original "
                          "and {} in the converted model, with membranes {:.9g} and {:.9g} (threshold "
                          "{:.9g}): {:.3g} from the threshold, not within rounding of it (tolerance {:.3g})",
                          t, n, input_, shape_to_string(element_index(shape, e)), spike_text(sa),
                          spike_text(sb), va, vb, double(pa.threshold), m, 2 * tol));
        record_flip(s, t, n, shape, e, sa, sb, va, vb, m);
        self_excused_[i][size_t(k)] = 1;
      }
    }
    return true;
  }

  void record_flip(const Site& s, int t, int64_t n, const Shape& shape, int64_t e, int sa, int sb, double va,
                   double vb, double m) {
    check_.flip_count++;
    flipped_[size_t(n)] = true;
    for (size_t d : s.descendants) excused_from_[d][size_t(n)] = std::min(excused_from_[d][size_t(n)], t);
    if (check_.flips.size() >= kMaxFlipsKept) return;
    const float th = s.params[0]->threshold;
    const double step = double(std::nextafter(th, INFINITY)) - double(th);
    check_.flips.push_back(SpikeFlip{.node = s.node,
                                     .timestep = t,
                                     .sample = n,
                                     .input = input_,
                                     .element = element_index(shape, e),
                                     .original_spike = sa,
                                     .converted_spike = sb,
                                     .original_membrane = va,
                                     .converted_membrane = vb,
                                     .threshold = th,
                                     .margin = m,
                                     .margin_steps = m / step});
  }

  const std::vector<Site>& sites_;
  const VerifyOptions& options_;
  ConversionCheck& check_;
  int input_ = 0;
  int64_t batch_ = 0;
  std::vector<std::vector<int>> excused_from_;      // [site][sample]: first excused timestep
  std::vector<std::vector<double>> membranes_[2];   // [model][site][element]
  std::vector<std::vector<uint8_t>> self_excused_;  // [site][element]
  std::vector<bool> flipped_;                       // [sample]
};

Tensor frame_at(const Tensor& input, bool sequence, int t) {
  if (!sequence) return input;
  Tensor f(Shape(input.shape.begin() + 1, input.shape.end()));
  const int64_t size = element_count(f.shape);
  std::copy_n(input.data.begin() + t * size, size, f.data.begin());
  return f;
}

// Compares the readouts of the samples without a flip; false on a failure.
bool compare_outputs(const std::vector<Tensor>& out_a, const std::vector<Tensor>& out_b,
                     const Comparison& cmp, int input, const VerifyOptions& o, ConversionCheck& check) {
  if (out_a.size() != out_b.size())
    throw Error(ErrorCode::kInvalidModel,
                fmt::format("verify: the models have {} and {} outputs", out_a.size(), out_b.size()));
  for (size_t k = 0; k < out_a.size(); ++k) {
    const Tensor &a = out_a[k], &b = out_b[k];
    if (a.shape != b.shape)
      throw Error(ErrorCode::kInvalidModel,
                  fmt::format("verify: output '{}' has shape {} before and {} after conversion", a.name,
                              shape_to_string(a.shape), shape_to_string(b.shape)));
    const int64_t batch = a.shape.empty() ? 1 : a.shape[0];
    const int64_t per = batch == 0 ? 0 : int64_t(a.data.size()) / batch;
    for (int64_t n = 0; n < batch; ++n) {
      if (cmp.flipped(n)) continue;
      double scale = 0, diff = 0;
      int64_t worst = 0;
      for (int64_t e = n * per; e < (n + 1) * per; ++e) {
        scale = std::max(scale, std::fabs(double(a.data[size_t(e)])));
        const double d = std::fabs(double(a.data[size_t(e)]) - double(b.data[size_t(e)]));
        if (!(d <= diff)) {
          diff = std::isnan(d) ? INFINITY : d;
          worst = e - n * per;
        }
      }
      const double rel = diff == 0 ? 0.0 : diff / std::max(scale, 1e-30);
      check.max_abs_difference = std::max(check.max_abs_difference, diff);
      check.max_rel_difference = std::max(check.max_rel_difference, rel);
      if (!(rel <= o.tolerance)) {
        check.failure = fmt::format(
            "output '{}', sample {} of random input {}, element {}: {:.9g} in the original and {:.9g} in the "
            "converted model ({:.3g} relative to the output's scale {:.3g}, limit {:.3g}), with every spike "
            "map "
            "equal: the layers after the last spikes compute something else",
            a.name, n, input, shape_to_string(element_index(a.shape, worst)), a.data[size_t(n * per + worst)],
            b.data[size_t(n * per + worst)], rel, scale, o.tolerance);
        return false;
      }
    }
  }
  return true;
}

}  // namespace

ConversionCheck verify_conversion(const std::string& original_path, const std::string& converted_path,
                                  const std::function<void(const std::string&)>& progress,
                                  const VerifyOptions& options) {
  LoadOptions raw;
  raw.reparameterize = false;
  auto original = Model::load(original_path, raw);
  auto converted = load_named(converted_path, options.converted_name, {});
  // Half-float weights (tspike.weights = fp16) round the event layers'
  // weights: the dense engine keeps them exact, so the check is of the
  // folding alone (tseval --compare measures the rounding on data).
  if (converted->info().metadata.half_weights)
    converted = load_named(converted_path, options.converted_name, LoadOptions{.engine = Engine::kDense});
  ConversionCheck check;
  check.input_shape = verify_input_shape(original->info(), options.batch);
  check.inputs = options.inputs;
  check.limit = options.tolerance;

  const auto& ga = detail::graph_of(*original);
  const auto& gb = detail::graph_of(*converted);
  const std::vector<Site> sites = match_sites(ga, gb, check.failure);
  if (!check.failure.empty()) return check;

  Session a(original), b(converted);
  Capture cap_a, cap_b;
  a.observe(watched_nodes(ga, sites), capture_into(cap_a, sites));
  b.observe(watched_nodes(gb, sites), capture_into(cap_b, sites));
  const bool sequence = original->info().metadata.encoding == Encoding::kSequence;
  const int T = a.timesteps();
  const int64_t batch = sequence ? check.input_shape[1] : check.input_shape[0];

  Comparison cmp(sites, options, check);
  std::mt19937 rng(20240601);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<Tensor> out_a, out_b;
  for (int r = 0; r < options.inputs; ++r) {
    Tensor input(check.input_shape);
    for (float& v : input.data) v = normal(rng);
    a.reset();
    b.reset();
    cmp.start(r, batch);
    for (int t = 0; t < T; ++t) {
      if (progress)
        progress(fmt::format("verify: random input {}/{}, timestep {}/{}", r + 1, options.inputs, t + 1, T));
      const Tensor frame = frame_at(input, sequence, t);
      a.step(frame, out_a);
      b.step(frame, out_b);
      if (!cmp.step(t, frame, cap_a, cap_b)) return check;
    }
    const auto counts_a = a.stats().spike_counts, counts_b = b.stats().spike_counts;
    for (size_t k = 0; k < std::min(counts_a.size(), counts_b.size()); ++k)
      check.spike_count_difference += std::llabs(counts_a[k] - counts_b[k]);
    for (int64_t n = 0; n < batch; ++n) check.samples_with_flips += cmp.flipped(n);
    check.samples += batch;
    if (!compare_outputs(a.readout(), b.readout(), cmp, r, options, check)) return check;
  }
  check.ok = true;
  return check;
}

}  // namespace tspike
