// SPDX-License-Identifier: Apache-2.0
// tspike::Session: the per-run state of a model (membrane potentials, memory
// arena, readout accumulators).
//
// A Session is used by one thread at a time; give each thread its own. It
// keeps its Model alive. Memory is planned for the batch size of the first
// input and planned again only when the batch size changes: run() and step()
// allocate nothing after the first call with a given batch size — except
// inside oneDNN, whose primitive execution allocates a small argument map per
// call of a real-valued Conv (LoadOptions::reference_kernels avoids it).
//
// Errors: the constructor, run(), step() and readout() throw tspike::Error
// (kBadInput: an input or option that does not fit the model; kResourceLimit:
// beyond the model's Limits). After an error, run() may be called again (it
// zeroes the state first); a stream of step() calls starts again at reset().
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tspike/export.h"
#include "tspike/model.hpp"
#include "tspike/observer.hpp"
#include "tspike/profile.hpp"
#include "tspike/tensor.hpp"

namespace tspike {

struct SessionOptions {
  int timesteps = 0;  // 0: the model's tspike.timesteps
  int threads = 1;    // worker threads used inside kernels
  // Record a per-node profile (tspike/profile.hpp) for profile(). Off: the
  // timestep loop does no timing or counting at all. On: each node is timed
  // and the spike inputs of the multiplication-free layers are counted once
  // per timestep (about one pass over each such input); still nothing is
  // allocated per timestep, except when step() runs past the Session's T.
  bool profile = false;
  // With threads > 1: an idle worker polls for about a millisecond for the
  // next piece of work before it sleeps, since waking a sleeping thread
  // costs tens of microseconds and a run hands out work several times per
  // layer and timestep. Off: idle workers sleep at once (no CPU spent
  // polling, e.g. when the machine's cores are all busy with other work).
  bool allow_spinning = true;
  // The order of run()'s work. Layer by layer, each layer runs its T
  // timesteps back to back, so that its weights are read from memory once
  // per run rather than T times; memory holds T copies of the activations
  // (one plan per timestep). Timestep by timestep, the whole graph runs for
  // each timestep. The outputs are bitwise the same either way.
  // By default run() goes layer by layer where that pays and fits: the
  // model's weights pass the L2 cache (smaller ones stay in cache across
  // timesteps anyway) and the T - 1 extra plans take at most
  // layer_major_budget_bytes. layer_major forces layer by layer (within
  // Limits::max_arena_bytes), timestep_major forces timestep by timestep.
  // step() (one timestep at a time by nature) and an observer (it reports
  // each timestep's values) always go timestep by timestep; a profile
  // follows run()'s order, so that it times what an unprofiled run does.
  bool layer_major = false;
  bool timestep_major = false;
  int64_t layer_major_budget_bytes = int64_t{64} << 20;
};

struct RunStats {
  int timesteps = 0;  // timesteps run since the last reset
  int64_t batch = 0;
  double time_ms = 0;  // wall time of the last run() (or the steps since reset)
  // Firing rate of each TernarySpike node, graph order:
  // nonzero spikes / (elements x T x N).
  std::vector<std::pair<std::string, double>> firing_rates;
  double mean_firing_rate = 0;        // over all spike elements of all nodes
  std::vector<int64_t> spike_counts;  // nonzero spikes per node, same order as firing_rates
  bool layer_major = false;           // the last run() went layer by layer (SessionOptions::layer_major)
};

class TSPIKE_API Session {
 public:
  Session(std::shared_ptr<const Model> model, SessionOptions options = {});
  explicit Session(const std::string& model_path, SessionOptions options = {});
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  // Zeroes the state, runs all T timesteps and returns every graph output
  // reduced over time by the model's readout. Direct encoding: input is
  // [N, ...] (or the same without N, taken as N = 1). Sequence encoding:
  // input is [T, N, ...] (or [T, ...]).
  std::vector<Tensor> run(const Tensor& input);
  // The same, writing into `outputs` and reusing their storage: with the
  // same batch size as the call before, it allocates nothing.
  void run(const Tensor& input, std::vector<Tensor>& outputs);
  // The same on borrowed data (no copy of the input into a Tensor).
  void run(const TensorView& input, std::vector<Tensor>& outputs);

  // Streaming: zero the state, then feed one timestep at a time. step()
  // returns the un-reduced outputs of that timestep.
  void reset();
  std::vector<Tensor> step(const Tensor& frame);
  void step(const Tensor& frame, std::vector<Tensor>& outputs);
  void step(const TensorView& frame, std::vector<Tensor>& outputs);
  // The readout (mean, sum or last) of the outputs of the steps since reset():
  // after T steps it equals what run() returns for the same frames.
  std::vector<Tensor> readout() const;

  // Statistics of the last run() or of the steps since reset().
  RunStats stats() const;
  // The per-node profile of the last run() or of the steps since reset().
  // Throws Error(kBadInput) when the Session was made without
  // SessionOptions::profile or nothing has run yet.
  Profile profile() const;
  int timesteps() const;
  const Model& model() const;

  // Calls `observer` at every timestep of run() and step() with each output
  // of each node named in `nodes` (e.g. model().info().spike_nodes for every
  // spike map), in graph order, after the timestep has run. Replaces an
  // earlier observer; observe({}, nullptr) stops observing. Watched outputs
  // are kept in memory for the whole timestep, so the next run plans memory
  // again (once; a stream of step() calls starts again as after reset());
  // results do not change. Nodes computed once when planning
  // (constants) are not reported. Throws
  // Error(kBadInput) for a name that is no node of the model (and changes
  // nothing then). See
  // tspike/observer.hpp for what the call gets.
  void observe(const std::vector<std::string>& nodes, NodeObserver observer);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tspike
