// SPDX-License-Identifier: Apache-2.0
// Pass d (spec 3.3): fold an average pool of spikes into the layer it feeds.
//
// After amplitude folding a TernarySpike emits {-1, 0, +1}; an AveragePool
// (kernel = stride, no padding) or a GlobalAveragePool of that is linear, so
// pool + Conv is one Conv over the unpooled spikes (kernel K*k, stride S*k,
// pads P*k, each weight repeated over its k x k block and divided by k*k), and
// pool + Flatten + Gemm / MatMul is one Gemm / MatMul whose weight for pooled
// feature j is repeated over the pixels of j's window, divided by its size.
// The layer then consumes spikes again: one add per event instead of one
// multiply per pooled input, and k*k times the connections, so it only pays
// below some density; ConvertOptions::fold_pool_max_window bounds the window.
//
// Each folded layer is recorded (node -> window) for the tspike.pool_folds
// metadata, so that a profile compares with the network as trained.
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <unordered_map>

#include "converter/passes.hpp"
#include "ops/op.hpp"

namespace tspike::convert {

namespace {

std::string describe(const onnx::NodeProto& n) { return n.op_type() + " " + n.name(); }

const ops::OpTraits* traits_of(const onnx::NodeProto& n) { return ops::find_traits(n.domain(), n.op_type()); }

// A pool that can fold: window kh x kw over an input of C x H x W.
struct Window {
  int64_t kh = 1, kw = 1, c = 0, h = 0, w = 0;
  int64_t size() const { return kh * kw; }
};

std::vector<int64_t> ints_or(const onnx::NodeProto& n, const char* name, std::vector<int64_t> dflt) {
  auto v = attr_ints(n, name);
  return v.empty() ? dflt : v;
}

bool all_equal(const std::vector<int64_t>& v, int64_t x) {
  return std::all_of(v.begin(), v.end(), [&](int64_t y) { return y == x; });
}

std::string auto_pad(const onnx::NodeProto& n) {
  const auto* a = find_attr(n, "auto_pad");
  return a ? a->s() : "NOTSET";
}

// The window of `pool` (its traits say) over a static [N, C, H, W] input, or why it cannot fold.
std::optional<Window> pool_window(const PassContext& ctx, const onnx::NodeProto& pool,
                                  const ops::OpTraits& traits, std::string& why) {
  const Shape* in = ctx.shape(pool.input(0));
  if (!in || in->size() != 4 || (*in)[1] < 1 || (*in)[2] < 1 || (*in)[3] < 1) {
    why = fmt::format("the C, H, W of the input of {} are not known statically", describe(pool));
    return std::nullopt;
  }
  int64_t window[2] = {1, 1};
  if (!traits.tiling_window || !traits.tiling_window(pool, *in, window, why)) {
    if (why.empty()) why = fmt::format("{} does not average windows that tile its input", describe(pool));
    return std::nullopt;
  }
  return Window{window[0], window[1], (*in)[1], (*in)[2], (*in)[3]};
}

void set_ints(onnx::NodeProto& n, const char* name, const std::vector<int64_t>& v) {
  onnx::AttributeProto* a = nullptr;
  for (auto& x : *n.mutable_attribute())
    if (x.name() == name) a = &x;
  if (!a) a = n.add_attribute();
  a->Clear();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

void remove_attr(onnx::NodeProto& n, const char* name) {
  auto* attrs = n.mutable_attribute();
  for (int k = attrs->size() - 1; k >= 0; --k)
    if (attrs->Get(k).name() == name) attrs->DeleteSubrange(k, 1);
}

class PoolFolder {
 public:
  explicit PoolFolder(PassContext& ctx) : ctx_(ctx) {}

  void run() {
    std::vector<onnx::NodeProto*> pools;
    for (auto& n : *ctx_.graph.mutable_node())
      if (const auto* t = traits_of(n); t && t->spikes == ops::SpikeFlow::kAverages && n.input_size() >= 1)
        pools.push_back(&n);
    for (onnx::NodeProto* pool : pools) fold(*pool);
  }

 private:
  // Folds `pool` into every layer that reads it (directly, or a Gemm / MatMul
  // through a Flatten); its other readers keep it.
  void fold(onnx::NodeProto& pool) {
    const onnx::NodeProto* spike = find_producer(ctx_.graph, pool.input(0));
    const ops::OpTraits* spike_traits = spike ? traits_of(*spike) : nullptr;
    if (!spike_traits || !spike_traits->neuron) return;  // not a pool of spikes: nothing to gain
    std::vector<Target> targets = layers_reading(pool);
    if (targets.empty()) return;
    std::string why;
    std::optional<Window> win;
    if (spike->input_size() > 1 && !spike->input(1).empty())
      why = fmt::format("the spikes of {} keep their amplitude", spike->name());
    else
      win = pool_window(ctx_, pool, *traits_of(pool), why);
    if (win && win->size() > ctx_.options.fold_pool_max_window)
      why = ctx_.options.fold_pool_max_window <= 0
                ? std::string("folding pools is off")
                : fmt::format("its window of {} inputs is larger than the limit of {}", win->size(),
                              ctx_.options.fold_pool_max_window);
    for (const Target& t : targets) {
      std::string layer_why = why;
      if (layer_why.empty())
        layer_why =
            t.flatten ? fold_features(pool, *spike, *win, t) : fold_spatial(pool, *spike, *win, *t.layer);
      if (!layer_why.empty())
        ctx_.report.kept_pools.emplace_back(fmt::format("{} -> {}", describe(pool), describe(*t.layer)),
                                            layer_why);
    }
  }

  struct Target {
    onnx::NodeProto* layer;
    onnx::NodeProto* flatten;  // between pool and a Gemm / MatMul, else null
  };

  static ops::PoolFold pool_fold(const onnx::NodeProto& n) {
    const ops::OpTraits* t = traits_of(n);
    return t && t->layer ? t->layer->pool_fold : ops::PoolFold::kNone;
  }

  // The layers that read the pool as their data input: directly (a
  // convolution), or through a flattening (a Gemm, a MatMul).
  std::vector<Target> layers_reading(onnx::NodeProto& pool) {
    std::vector<Target> targets;
    for (auto [n, slot] : find_uses(ctx_.graph, pool.output(0))) {
      if (slot != 0) continue;
      if (pool_fold(*n) == ops::PoolFold::kSpatial) targets.push_back({n, nullptr});
      const ops::OpTraits* t = traits_of(*n);
      if (!t || t->scale != ops::ScaleFlow::kFlatten) continue;
      for (auto [m, mslot] : find_uses(ctx_.graph, n->output(0)))
        if (mslot == 0 && pool_fold(*m) == ops::PoolFold::kFeatures) targets.push_back({m, n});
    }
    return targets;
  }

  // The weights of `layer` (input 1) as a float initializer, or null.
  const onnx::TensorProto* weights(onnx::NodeProto& layer, int rank) {
    const auto* w = layer.input_size() > 1 ? find_initializer(ctx_.graph, layer.input(1)) : nullptr;
    return w && w->data_type() == onnx::TensorProto::FLOAT && w->dims_size() == rank ? w : nullptr;
  }

  std::string check_size(const onnx::NodeProto& layer, int64_t elements) {
    if (elements > ctx_.options.limits.max_tensor_elements)
      return fmt::format("the folded weights of {} would have {} elements, over the limit of {}",
                         describe(layer), elements, ctx_.options.limits.max_tensor_elements);
    return {};
  }

  void record(onnx::NodeProto& layer, const onnx::NodeProto& pool, const onnx::NodeProto& spike,
              const Window& win, const std::string& what) {
    ctx_.pool_folds[layer.name()] = win.size();
    ctx_.report.folded.push_back(
        fmt::format("{} ({}x{}) folded into {}: {}; it now consumes the spikes of {}", describe(pool), win.kh,
                    win.kw, describe(layer), what, spike.name()));
  }

  // Pool + convolution -> one convolution over the spikes. Empty on
  // success, else why not.
  std::string fold_spatial(onnx::NodeProto& pool, const onnx::NodeProto& spike, const Window& win,
                           onnx::NodeProto& conv) {
    const auto* w = weights(conv, 4);
    if (!w) return fmt::format("the weights of {} are not a 4-D float initializer", describe(conv));
    const int64_t m = w->dims(0), cg = w->dims(1), kh = w->dims(2), kw = w->dims(3);
    const auto strides = ints_or(conv, "strides", {1, 1});
    auto pads = ints_or(conv, "pads", {0, 0, 0, 0});
    const std::string pad_mode = auto_pad(conv);
    if (pad_mode == "VALID")
      pads = {0, 0, 0, 0};
    else if (pad_mode != "NOTSET")
      return fmt::format("{} pads by auto_pad {}", describe(conv), pad_mode);
    if (strides.size() != 2 || pads.size() != 4)
      return fmt::format("{} is not a 2-D convolution", describe(conv));
    if (!all_equal(ints_or(conv, "dilations", {1, 1}), 1))
      return fmt::format("{} is dilated", describe(conv));
    const int64_t fh = kh * win.kh, fw = kw * win.kw;
    if (auto e = check_size(conv, m * cg * fh * fw); !e.empty()) return e;

    onnx::TensorProto* t = owned_initializer(ctx_, conv, 1);
    const ConstTensor old = read_tensor(ctx_, *t);
    ConstTensor folded;
    folded.shape = {m, cg, fh, fw};
    folded.f.resize(size_t(m * cg * fh * fw));
    const float inv = 1.0f / float(win.size());
    for (int64_t mc = 0; mc < m * cg; ++mc)
      for (int64_t y = 0; y < fh; ++y)
        for (int64_t x = 0; x < fw; ++x)
          folded.f[size_t((mc * fh + y) * fw + x)] =
              old.f[size_t((mc * kh + y / win.kh) * kw + x / win.kw)] * inv;
    write_tensor(*t, folded);
    ctx_.shapes[t->name()] = folded.shape;

    const std::vector<int64_t> new_strides{strides[0] * win.kh, strides[1] * win.kw};
    const std::vector<int64_t> new_pads{pads[0] * win.kh, pads[1] * win.kw, pads[2] * win.kh,
                                        pads[3] * win.kw};
    set_ints(conv, "kernel_shape", {fh, fw});
    set_ints(conv, "strides", new_strides);
    set_ints(conv, "pads", new_pads);
    remove_attr(conv, "dilations");
    remove_attr(conv, "auto_pad");
    conv.set_input(0, spike.output(0));
    record(conv, pool, spike, win,
           fmt::format("kernel {}x{}, stride {}x{}, pads {},{},{},{}", fh, fw, new_strides[0], new_strides[1],
                       new_pads[0], new_pads[1], new_pads[2], new_pads[3]));
    return {};
  }

  // Pool + Flatten + Gemm / MatMul -> Flatten + one Gemm / MatMul over the
  // spikes. Empty on success, else why not.
  std::string fold_features(onnx::NodeProto& pool, const onnx::NodeProto& spike, const Window& win,
                            const Target& t) {
    onnx::NodeProto& layer = *t.layer;
    int64_t axis = attr_int(*t.flatten, "axis", 1);
    if (axis < 0) axis += 4;
    if (axis != 1) return fmt::format("{} is not on axis 1", describe(*t.flatten));
    const auto* w = weights(layer, 2);
    if (!w) return fmt::format("the weights of {} are not a 2-D float initializer", describe(layer));
    ops::WeightLayout layout;
    const std::string problem =
        traits_of(layer)->layer->weight_layout(layer, Shape(w->dims().begin(), w->dims().end()), 2, layout);
    if (!problem.empty()) return problem;
    if (!layout.data_problem.empty()) return layout.data_problem;
    const bool features_are_columns = layout.in_axis == 1;
    const int64_t ph = win.h / win.kh, pw = win.w / win.kw;
    const int64_t features = win.c * ph * pw, outputs = features_are_columns ? w->dims(0) : w->dims(1);
    if ((features_are_columns ? w->dims(1) : w->dims(0)) != features)
      return fmt::format("{} does not have the {} input features of the pooled spikes", describe(layer),
                         features);
    const int64_t unpooled = win.c * win.h * win.w;
    if (auto e = check_size(layer, unpooled * outputs); !e.empty()) return e;

    onnx::TensorProto* tp = owned_initializer(ctx_, layer, 1);
    const ConstTensor old = read_tensor(ctx_, *tp);
    ConstTensor folded;
    folded.shape = features_are_columns ? Shape{outputs, unpooled} : Shape{unpooled, outputs};
    folded.f.resize(size_t(unpooled * outputs));
    const float inv = 1.0f / float(win.size());
    for (int64_t c = 0; c < win.c; ++c)
      for (int64_t y = 0; y < win.h; ++y)
        for (int64_t x = 0; x < win.w; ++x) {
          const int64_t g = (c * win.h + y) * win.w + x;              // unpooled feature
          const int64_t f = (c * ph + y / win.kh) * pw + x / win.kw;  // its pooled feature
          for (int64_t o = 0; o < outputs; ++o) {
            if (features_are_columns)
              folded.f[size_t(o * unpooled + g)] = old.f[size_t(o * features + f)] * inv;
            else
              folded.f[size_t(g * outputs + o)] = old.f[size_t(f * outputs + o)] * inv;
          }
        }
    write_tensor(*tp, folded);
    ctx_.shapes[tp->name()] = folded.shape;

    // One copy of the pool's Flatten, flattening the spikes, before its first layer.
    std::string& flat = flattened_[t.flatten];
    if (flat.empty()) {
      flat = unique_name(ctx_.graph, spike.output(0) + "_flat");
      onnx::NodeProto node = *t.flatten;
      node.set_name(unique_name(ctx_.graph, t.flatten->name() + "_unpooled"));
      node.set_input(0, spike.output(0));
      node.set_output(0, flat);
      if (const Shape* s = ctx_.shape(spike.output(0))) ctx_.shapes[flat] = {(*s)[0], unpooled};
      insert_node_before(ctx_.graph, &layer, std::move(node));
    }
    layer.set_input(0, flat);
    record(layer, pool, spike, win, fmt::format("{} input features instead of {}", unpooled, features));
    return {};
  }

  PassContext& ctx_;
  std::unordered_map<const onnx::NodeProto*, std::string> flattened_;
};

}  // namespace

void fold_pools(PassContext& ctx) { PoolFolder(ctx).run(); }

}  // namespace tspike::convert
