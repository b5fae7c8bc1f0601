// SPDX-License-Identifier: Apache-2.0
// tsrun's event-camera input (tools/tsrun_events.cpp): --events FILE reads a
// recording and bins it into the model's frames; --stream feeds the frames
// one by one through Session::step and prints the running prediction after
// each (JSON Lines with --json).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tspike/tspike.hpp"

namespace tspike::cli {

struct EventOptions {
  std::string path;  // --events
  std::string format = "auto";
  bool stream = false;      // --stream
  std::string save_frames;  // --save-frames FILE.npy
};

// Adds --events, --event-format, --stream, --save-frames and --max-events.
void add_event_options(CLI::App& app, EventOptions& options, Limits& limits);

// The recording as the model's sequence input [T, 1, ...] (and the event
// range of each frame, for --stream). Writes --save-frames.
struct EventInput {
  Tensor input;
  std::vector<Event> events;
  std::vector<std::pair<int64_t, int64_t>> slices;
};
EventInput load_event_input(const EventOptions& options, const Model& model);

// --stream: reset, then one step per frame, printing the running readout's
// top classes after each. Returns the exit code.
struct StreamPrint {
  bool json = false, quiet = false;
  int top = 5;
};
int stream_events(Session& session, const EventInput& in, const StreamPrint& print);

}  // namespace tspike::cli
