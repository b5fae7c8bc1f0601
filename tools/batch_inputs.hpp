// SPDX-License-Identifier: Apache-2.0
// tsrun with many inputs: several --input files, a folder, or a glob
// pattern, run in batches, one result per file in input order.
#pragma once

#include <string>
#include <vector>

#include "tspike/tspike.hpp"

namespace tspike::cli {

// Images per Session::run when --batch is not given (the measurement behind
// it is in batch_inputs.cpp).
int default_batch_size();

// True when the --input arguments ask for batch mode: more than one, or one
// that is a folder or a pattern that names no file. One plain file keeps
// tsrun's single-input output.
bool is_batch_request(const std::vector<std::string>& inputs);

// The files the --input arguments name, in order: a folder gives its images
// (.png .jpg .jpeg .bmp .pgm .ppm) and .npy files, sorted by name, not its
// subfolders; an argument holding * ? or [ that is not itself a file is
// expanded as the shell would (sorted), for a pattern the shell did not
// expand (quoted); any other argument is taken as it is (a missing file is
// reported on its own line, not here). Throws Error(kBadInput) when a
// folder or pattern yields no file.
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs);

struct BatchOptions {
  int batch = 0;  // samples per Session::run (0: default_batch_size())
  int top = 5;    // classes per sample in the JSON
  bool json = false, quiet = false;
};

// Runs every file through `session` in batches of files whose samples have
// the same shape and prints one line per file (JSON Lines with --json), in
// the order given, as each batch finishes. A file that cannot be read or run
// gets its error on its line and the others go on: a batch that fails is run
// again one file at a time, so only the bad file reports the error. A
// progress line shows on stderr when it is a terminal and the list is longer
// than a batch. Ends with a summary on stderr; returns 0 when every file
// ran, 1 otherwise.
int run_batch(Session& session, const std::vector<std::string>& files, const BatchOptions& options);

}  // namespace tspike::cli
