// SPDX-License-Identifier: Apache-2.0
// Session behaviour: state zeroed per inference, re-planning when N changes,
// streaming equal to run(), no allocation inside run() after the first run,
// and input shapes that do not fit.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <thread>

#include "tests/model_builder.hpp"
#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"

// Counts every allocation made through operator new in this test binary.
static std::atomic<long> g_allocations{0};
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
// The nothrow forms too (std::stable_sort's buffer uses them): otherwise they
// would come from the runtime's allocator and be freed by free() above, which
// AddressSanitizer reports as a mismatch.
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size ? size : 1);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept { return operator new(size, tag); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace tspike {
namespace {

std::string data(const std::string& name) { return test::source_path("tests/data/" + name); }

// tspike's own code never allocates in run(); oneDNN's execute does (its
// argument map), so the allocation checks load with the reference kernels.
std::shared_ptr<const Model> load_own_kernels(const std::string& path) {
  LoadOptions options;
  options.reference_kernels = true;
  return Model::load(path, options);
}

TEST(Session, RepeatedRunsEqualAFreshSession) {
  auto model = Model::load(data("residual_block.onnx"));
  Tensor input = load_npy(data("residual_block.input1.npy"));
  Session session(model);
  auto first = session.run(input);
  auto second = session.run(input);
  Session fresh(model);
  auto third = fresh.run(input);
  EXPECT_EQ(first[0].data, second[0].data);
  EXPECT_EQ(first[0].data, third[0].data);
}

TEST(Session, ReplansWhenBatchChanges) {
  auto model = Model::load(data("pytorch_flatten.onnx"));
  Tensor one = load_npy(data("pytorch_flatten.input0.npy"));
  Tensor three = load_npy(data("pytorch_flatten.input1.npy"));
  Session session(model);
  auto a = session.run(three);
  auto b = session.run(one);
  auto c = session.run(three);
  EXPECT_EQ(a[0].shape[0], 3);
  EXPECT_EQ(b[0].shape[0], 1);
  EXPECT_EQ(a[0].data, c[0].data);
  Session fresh(model);
  EXPECT_EQ(fresh.run(one)[0].data, b[0].data);
}

TEST(Session, BatchEqualsSamplesOneByOne) {
  auto model = Model::load(data("groups_concat.onnx"));
  Tensor batch = load_npy(data("groups_concat.input1.npy"));
  Session session(model);
  auto all = session.run(batch);
  const int64_t n = batch.shape[0], per_in = batch.data.size() / n, per_out = all[0].data.size() / n;
  for (int64_t s = 0; s < n; ++s) {
    Shape shape = batch.shape;
    shape[0] = 1;
    Tensor one(shape,
               std::vector<float>(batch.data.begin() + s * per_in, batch.data.begin() + (s + 1) * per_in));
    auto out = session.run(one);
    for (int64_t k = 0; k < per_out; ++k) EXPECT_FLOAT_EQ(out[0].data[k], all[0].data[s * per_out + k]);
  }
}

TEST(Session, StepsThenReadoutEqualRun) {
  for (const char* m : {"residual_block", "pytorch_flatten", "shared_weights"}) {
    auto model = Model::load(data(std::string(m) + ".onnx"));
    Tensor input = load_npy(data(std::string(m) + ".input1.npy"));
    Session session(model);
    auto expected = session.run(input);
    session.reset();
    for (int t = 0; t < session.timesteps(); ++t) session.step(input);
    auto streamed = session.readout();
    ASSERT_EQ(streamed.size(), expected.size());
    for (size_t o = 0; o < expected.size(); ++o)
      for (size_t k = 0; k < expected[o].data.size(); ++k)
        EXPECT_NEAR(streamed[o].data[k], expected[o].data[k], 1e-6f) << m;
  }
}

// Also layer by layer (one plan per timestep, made by the first run), and
// profiled (every timestep timed and counted into buffers sized at plan time).
TEST(Session, NoAllocationInsideRunAfterTheFirst) {
  const std::vector<std::pair<const char*, SessionOptions>> variants{
      {"plain", {}}, {"layer major", {.layer_major = true}}, {"profiled", {.profile = true}}};
  for (const char* m : {"residual_block", "pytorch_flatten", "groups_concat", "binary_sequence"}) {
    auto model = load_own_kernels(data(std::string(m) + ".onnx"));
    Tensor input = load_npy(data(std::string(m) + ".input1.npy"));
    for (const auto& [name, options] : variants) {
      Session session(model, options);
      std::vector<Tensor> outputs;
      session.run(input, outputs);
      const long before = g_allocations.load();
      session.run(input, outputs);
      session.run(input, outputs);
      EXPECT_EQ(g_allocations.load() - before, 0) << m << ": a " << name << " run() allocated";
      EXPECT_EQ(session.stats().layer_major, options.layer_major) << m;
      if (options.profile) EXPECT_GT(session.profile().time_ms, 0.0) << m;
    }
  }
}

TEST(Session, NoAllocationInsideStep) {
  auto model = load_own_kernels(data("residual_block.onnx"));
  Tensor input = load_npy(data("residual_block.input1.npy"));
  Session session(model);
  std::vector<Tensor> outputs;
  session.step(input, outputs);
  const long before = g_allocations.load();
  for (int t = 0; t < 3; ++t) session.step(input, outputs);
  EXPECT_EQ(g_allocations.load() - before, 0);
}

// An observer that keeps nothing itself: the runtime adds no allocation.
TEST(Session, ObservedRunsDoNotAllocate) {
  for (const char* m : {"residual_block", "groups_concat", "binary_sequence"}) {
    auto model = load_own_kernels(data(std::string(m) + ".onnx"));
    Tensor input = load_npy(data(std::string(m) + ".input1.npy"));
    Session session(model);
    long calls = 0;
    double total = 0;
    session.observe(model->info().spike_nodes, [&](const NodeOutput& o) {
      ++calls;
      for (int64_t k = 0; k < element_count(o.shape); ++k) total += o.data[k];
    });
    std::vector<Tensor> outputs;
    session.run(input, outputs);
    const long before = g_allocations.load();
    session.run(input, outputs);
    session.run(input, outputs);
    EXPECT_EQ(g_allocations.load() - before, 0) << m << ": an observed run() allocated";
    EXPECT_EQ(calls, 3L * session.timesteps() * long(model->info().spike_nodes.size())) << m;
  }
}

TEST(Session, InputThatDoesNotFitNamesTheExpectedShape) {
  auto model = Model::load(data("residual_block.onnx"));
  Session session(model);
  test::expect_error([&] { session.run(Tensor({1, 3, 8, 8})); }, ErrorCode::kBadInput, {"[-1,1,8,8]"});
  // Without N is fine: taken as N = 1.
  EXPECT_EQ(session.run(Tensor({1, 8, 8}))[0].shape, (Shape{1, 10}));
}

TEST(Session, SequenceEncodingChecksT) {
  auto model = Model::load(data("binary_sequence.onnx"));
  Tensor input = load_npy(data("binary_sequence.input1.npy"));  // [3, 3, 6]
  Session wrong_t(model, SessionOptions{5, 1});
  EXPECT_THROW(wrong_t.run(input), Error);
  Session session(model);
  EXPECT_EQ(session.run(input)[0].shape[0], 3);  // N
  // A single frame is not a sequence.
  EXPECT_THROW(session.run(Tensor({6})), Error);
}

TEST(Session, OneModelManyThreads) {
  auto model = Model::load(data("residual_block.onnx"));
  Tensor input = load_npy(data("residual_block.input1.npy"));
  auto expected = Session(model).run(input);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      Session session(model);
      for (int r = 0; r < 20; ++r)
        if (session.run(input)[0].data != expected[0].data) mismatches++;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace tspike

namespace tspike {
namespace {

// Work split over threads gives the same bits as one thread, and the pool
// adds no allocation per run.
TEST(Session, ThreadsGiveIdenticalResults) {
  for (const char* m :
       {"residual_block", "pytorch_flatten", "groups_concat", "shared_weights", "unfoldable"}) {
    auto model = load_own_kernels(data(std::string(m) + ".onnx"));
    Tensor input = load_npy(data(std::string(m) + ".input1.npy"));
    Session one_thread(model, SessionOptions{0, 1});
    auto serial = one_thread.run(input);
    Session parallel(model, SessionOptions{0, 3});
    std::vector<Tensor> outputs;
    parallel.run(input, outputs);
    const long before = g_allocations.load();
    parallel.run(input, outputs);
    EXPECT_EQ(g_allocations.load() - before, 0) << m;
    ASSERT_EQ(outputs.size(), serial.size());
    for (size_t o = 0; o < serial.size(); ++o) EXPECT_EQ(outputs[o].data, serial[o].data) << m;
    EXPECT_EQ(parallel.stats().firing_rates, one_thread.stats().firing_rates) << m;
  }
}

// The event-driven kernels allocate nothing in run() either: a model whose
// Conv and Gemm are fed by spikes (so no oneDNN
// primitive runs), with every
// instruction set this machine has, on one and on three threads.
TEST(Session, EventKernelsDoNotAllocate) {
  test::ModelBuilder b({2, 8, 6, 6});
  std::vector<float> w1(16 * 8 * 9), w2(16 * 36 * 10);
  for (size_t k = 0; k < w1.size(); ++k) w1[k] = float(k % 7) * 0.1f - 0.3f;
  for (size_t k = 0; k < w2.size(); ++k) w2[k] = float(k % 5) * 0.1f - 0.2f;
  b.initializer("w1", {16, 8, 3, 3}, w1).initializer("w2", {16 * 36, 10}, w2);
  b.spike("s1", "x", "a");
  b.node("Conv", "conv", {"a", "w1"}, {"c"}).ints("pads", {1, 1, 1, 1});
  b.spike("s2", "c", "d");
  b.node("Flatten", "flatten", {"d"}, {"f"});
  b.node("Gemm", "fc", {"f", "w2"}, {"y"});
  b.output("y");
  std::vector<float> x(2 * 8 * 36);
  for (size_t k = 0; k < x.size(); ++k) x[k] = float(k % 11) * 0.2f - 1.0f;
  const Tensor input({2, 8, 6, 6}, x);
  for (InstructionSet isa : {InstructionSet::kPortable, InstructionSet::kAvx2, InstructionSet::kAvx512}) {
    auto model = b.load(LoadOptions{.engine = Engine::kEvent, .max_isa = isa});
    ASSERT_EQ(model->info().layers[1].kernel.rfind("event/", 0), 0u) << model->info().layers[1].kernel;
    ASSERT_EQ(model->info().layers[0].kernel, model->info().layers[1].kernel);
    for (int threads : {1, 3}) {
      Session session(model, SessionOptions{0, threads});
      std::vector<Tensor> outputs;
      session.run(input, outputs);
      const long before = g_allocations.load();
      session.run(input, outputs);
      EXPECT_EQ(g_allocations.load() - before, 0)
          << model->info().layers[0].kernel << ", threads " << threads;
    }
  }
}

}  // namespace
}  // namespace tspike
