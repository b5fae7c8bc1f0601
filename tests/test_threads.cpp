// SPDX-License-Identifier: Apache-2.0
// One Model shared by many Sessions on many threads, while other threads load
// models, and Sessions with worker pools of their own. Run under
// ThreadSanitizer by scripts/test-tsan.sh (the filter
// Session.OneModelManyThreads:Session.Threads* selects these tests).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

std::string data(const std::string& name) { return test::source_path("tests/data/" + name); }

TEST(Session, ThreadsShareOneModelAcrossBatchSizesStepsAndLoads) {
  auto model = Model::load(data("residual_block.onnx"));
  const Tensor one = load_npy(data("residual_block.input0.npy"));
  const Tensor three = load_npy(data("residual_block.input1.npy"));
  const auto expected_one = Session(model).run(one);
  const auto expected_three = Session(model).run(three);
  std::vector<Tensor> expected_steps;
  {
    Session s(model);
    for (int t = 0; t < 3; ++t) s.step(one);
    expected_steps = s.readout();
  }

  std::atomic<int> mismatches{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      try {
        // Half of the sessions split their kernels over a pool of their own.
        Session session(model, SessionOptions{0, t % 2 ? 2 : 1});
        for (int r = 0; r < 6; ++r) {
          // The batch size changes, so the session plans again.
          const bool big = (r + t) % 2 == 0;
          if (session.run(big ? three : one)[0].data != (big ? expected_three : expected_one)[0].data)
            mismatches++;
          session.reset();
          for (int s = 0; s < 3; ++s) session.step(one);
          if (session.readout()[0].data != expected_steps[0].data) mismatches++;
          (void)session.stats();
        }
      } catch (const std::exception&) {
        errors++;
      }
    });
  // Meanwhile other threads load models (ONNX's checker and schema registry
  // are shared process-wide) and refuse broken ones.
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&] {
      try {
        for (const char* m : {"groups_concat.onnx", "binary_sequence.onnx"}) {
          auto other = Model::load(data(m));
          Session(other).run(
              load_npy(data(std::string(m).substr(0, std::string(m).size() - 5) + ".input0.npy")));
        }
        try {
          Model::load(test::source_path("tests/broken/cycle.onnx"));
          errors++;
        } catch (const Error&) {
        }
      } catch (const std::exception&) {
        errors++;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(errors.load(), 0);
}

}  // namespace
}  // namespace tspike
