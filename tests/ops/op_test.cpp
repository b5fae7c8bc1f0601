// SPDX-License-Identifier: Apache-2.0
#include "tests/ops/op_test.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace tspike::test {

ModelBuilder net(const Shape& input) {
  ModelBuilder b(input);
  b.metadata("tspike.timesteps", "1");
  return b;
}

std::vector<Tensor> run(const ModelBuilder& b, const Tensor& x, bool reparameterize) {
  Session session(b.load(LoadOptions{.reparameterize = reparameterize}));
  return session.run(x);
}

void expect_tensor(const Tensor& t, const Shape& shape, const Floats& values) {
  EXPECT_EQ(shape_to_string(t.shape), shape_to_string(shape)) << t.name;
  ASSERT_EQ(t.data.size(), values.size()) << t.name;
  for (size_t k = 0; k < values.size(); ++k) EXPECT_FLOAT_EQ(t.data[k], values[k]) << t.name << " at " << k;
}

Floats iota(int n) {
  Floats v(n);
  for (int k = 0; k < n; ++k) v[k] = 1.0f + k;
  return v;
}

int64_t pick(std::mt19937& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

Floats uniform(std::mt19937& rng, int64_t count) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Floats v(count);
  for (auto& x : v) x = u(rng);
  return v;
}

Floats spikes(std::mt19937& rng, int64_t count, double density) {
  std::bernoulli_distribution fire(std::min(density, 1.0)), sign(0.5);
  Floats v(count, 0.0f);
  for (auto& x : v)
    if (density > 1.0)
      x = 1.0f;
    else if (fire(rng))
      x = sign(rng) ? 1.0f : -1.0f;
  return v;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want,
                  const std::vector<double>& scale, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int bad = 0;
  for (size_t e = 0; e < want.size() && bad < 5; ++e)
    if (!(std::fabs(double(got[e]) - want[e]) <= 1e-5 * (1.0 + scale[e]))) {
      ADD_FAILURE() << what << ": element " << e << " event " << got[e] << " reference " << want[e];
      ++bad;
    }
}

int compare_event_kernels(const ModelBuilder& b, const Shape& x_shape, const std::vector<Floats>& inputs,
                          const std::vector<double>& scale, const std::string& what, int threads) {
  Session reference(b.load(LoadOptions{.reparameterize = false, .reference_kernels = true}));
  std::vector<Floats> want;
  for (const auto& data : inputs) want.push_back(reference.run(Tensor(x_shape, data))[0].data);
  int ran = 0;
  for (const IsaCase& isa : kIsas) {
    auto model = b.load(LoadOptions{.reparameterize = false, .engine = Engine::kEvent, .max_isa = isa.cap});
    const std::string kernel = model->info().layers.at(0).kernel;
    if (kernel != std::string("event/") + isa.name) continue;  // not on this CPU, or capped by TSPIKE_ISA
    Session event(model, SessionOptions{0, threads});
    for (size_t k = 0; k < inputs.size(); ++k)
      expect_close(event.run(Tensor(x_shape, inputs[k]))[0].data, want[k], scale,
                   what + " " + isa.name + " density " + std::to_string(kDensities[k]));
    ++ran;
  }
  return ran;
}

}  // namespace tspike::test
