// SPDX-License-Identifier: Apache-2.0
#include "tools/trace.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "tools/output_file.hpp"
#include "tspike/error.hpp"
#include "tspike/input.hpp"

namespace tspike::cli {

namespace {

// One node's output (or one graph output) over the timesteps.
struct Series {
  std::string name;
  Shape shape;  // of one timestep
  std::vector<float> data;
};

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

Shape with_time(int timesteps, const Shape& shape) {
  Shape s{timesteps};
  s.insert(s.end(), shape.begin(), shape.end());
  return s;
}

// Written to a temporary file beside `path`; committed with the others once
// the whole trace is written.
void save(std::vector<std::unique_ptr<TempFile>>& files, const std::filesystem::path& path, int timesteps,
          const Series& series) {
  files.push_back(std::make_unique<TempFile>(path.string(), "tmp"));
  write_npy(*files.back(), Tensor(with_time(timesteps, series.shape), series.data));
}

}  // namespace

std::string file_stem(const std::string& name, std::set<std::string>& used) {
  std::string stem;
  for (char c : name) {
    // No dot either: no ".", "..", hidden file or second extension.
    const bool keep =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    stem += keep ? c : '_';
  }
  if (stem.size() > 80) stem.resize(80);
  if (stem.empty()) stem = "unnamed";
  std::string unique = stem;
  for (int k = 2; used.count(lower(unique)); ++k) unique = fmt::format("{}_{}", stem, k);
  used.insert(lower(unique));
  return unique;
}

std::vector<Tensor> run_traced(Session& session, const Tensor& input, const std::string& dir,
                               int requested_timesteps) {
  const ModelInfo& info = session.model().info();
  const bool sequence = info.metadata.encoding == Encoding::kSequence;
  int timesteps = session.timesteps();
  if (sequence) {
    // Session::run's checks, for a run made of step() calls.
    if (input.shape.empty() || input.shape[0] < 1)
      throw Error(ErrorCode::kBadInput,
                  "sequence encoding needs an input [T, N, ...] with a leading time axis");
    if (input.shape[0] > session.model().limits().max_timesteps)
      throw Error(ErrorCode::kBadInput, fmt::format("the input's time length {} is over the limit of {}",
                                                    input.shape[0], session.model().limits().max_timesteps));
    timesteps = static_cast<int>(input.shape[0]);
    if (requested_timesteps > 0 && requested_timesteps != timesteps)
      throw Error(
          ErrorCode::kBadInput,
          fmt::format("{}: the input has {} timesteps but {} were asked for; with sequence encoding T is "
                      "the input's time length",
                      info.path, timesteps, requested_timesteps));
  }

  // Owned by the observer too: the Session keeps it after this call returns.
  auto spikes = std::make_shared<std::vector<Series>>();
  auto index = std::make_shared<std::unordered_map<std::string, size_t>>();
  for (const auto& name : info.spike_nodes) {
    index->emplace(name, spikes->size());
    spikes->push_back({name, {}, {}});
  }
  session.observe(info.spike_nodes, [spikes, index, timesteps](const NodeOutput& out) {
    Series& s = (*spikes)[index->at(out.node)];
    const int64_t n = element_count(out.shape);
    if (out.timestep == 0) {
      s.shape = out.shape;
      s.data.clear();
      s.data.reserve(static_cast<size_t>(n) * timesteps);
    }
    s.data.insert(s.data.end(), out.data, out.data + n);
  });

  std::vector<Series> outputs;
  std::vector<Tensor> step_outputs;
  Tensor frame;
  session.reset();
  for (int t = 0; t < timesteps; ++t) {
    if (sequence) {
      frame.shape.assign(input.shape.begin() + 1, input.shape.end());
      const int64_t n = element_count(frame.shape);
      if (static_cast<int64_t>(input.data.size()) != n * timesteps)
        throw Error(ErrorCode::kBadInput, fmt::format("input has {} values but shape {}", input.data.size(),
                                                      shape_to_string(input.shape)));
      frame.data.assign(input.data.begin() + t * n, input.data.begin() + (t + 1) * n);
    }
    session.step(sequence ? frame : input, step_outputs);
    outputs.resize(step_outputs.size());
    for (size_t o = 0; o < step_outputs.size(); ++o) {
      outputs[o].name = step_outputs[o].name;
      outputs[o].shape = step_outputs[o].shape;
      outputs[o].data.insert(outputs[o].data.end(), step_outputs[o].data.begin(), step_outputs[o].data.end());
    }
  }
  std::vector<Tensor> result = session.readout();

  namespace fs = std::filesystem;
  std::error_code ec;
  // A folder made here goes again when the trace fails (it is then empty).
  struct FolderMadeHere {
    std::string path;
    bool keep = false;
    ~FolderMadeHere() {
      std::error_code ignored;
      if (!path.empty() && !keep) fs::remove(path, ignored);
    }
  } made;
  if (!fs::exists(dir, ec)) made.path = dir;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw Error(ErrorCode::kIO, fmt::format("--trace: cannot create the folder '{}'{}", dir,
                                            ec ? ": " + ec.message() : std::string()));
  std::set<std::string> used{"trace"};
  std::vector<std::unique_ptr<TempFile>> files;
  nlohmann::json j;
  j["timesteps"] = timesteps;
  j["encoding"] = to_string(info.metadata.encoding);
  j["readout"] = to_string(info.metadata.readout);
  j["spike_nodes"] = nlohmann::json::array();
  for (const Series& s : *spikes) {
    if (s.data.size() != static_cast<size_t>(element_count(s.shape)) * timesteps)
      throw Error(ErrorCode::kBadInput,
                  fmt::format("--trace: node '{}' was not seen at every timestep", s.name));
    const std::string file = file_stem(s.name, used) + ".npy";
    save(files, fs::path(dir) / file, timesteps, s);
    int64_t nonzero = 0;
    bool unit = true;  // every value -1, 0 or +1: the amplitude is 1 (folded by tsconvert)
    for (float v : s.data) {
      nonzero += v != 0.0f;
      unit &= v == 0.0f || v == 1.0f || v == -1.0f;
    }
    j["spike_nodes"].push_back(
        {{"node", s.name},
         {"file", file},
         {"shape", with_time(timesteps, s.shape)},
         {"firing_rate", s.data.empty() ? 0.0 : double(nonzero) / double(s.data.size())},
         {"values", unit ? "spikes" : "amplitude x spikes"}});
  }
  j["outputs"] = nlohmann::json::array();
  for (const Series& s : outputs) {
    const std::string file = file_stem("output_" + s.name, used) + ".npy";
    save(files, fs::path(dir) / file, timesteps, s);
    j["outputs"].push_back({{"name", s.name}, {"file", file}, {"shape", with_time(timesteps, s.shape)}});
  }
  const fs::path json_path = fs::path(dir) / "trace.json";
  files.push_back(std::make_unique<TempFile>(json_path.string(), "tmp"));
  write_text(*files.back(), j.dump(2) + "\n");
  // Everything is written: only now does any of it take its name (trace.json last).
  for (auto& f : files) f->commit();
  made.keep = true;
  return result;
}

}  // namespace tspike::cli
