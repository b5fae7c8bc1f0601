#include "tools/cli_common.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <new>

#include "tspike/error.hpp"

namespace tspike::cli {

namespace {
// Errors are one line: messages from ONNX's checker may span several.
std::string one_line(std::string message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  for (char& c : message)
    if (c == '\n' || c == '\r') c = ' ';
  return message;
}
}  // namespace

int run_tool(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  const std::string tool = app.get_name();
  try {
    return body();
  } catch (const Error& e) {
    fmt::print(stderr, "{}: error: {}\n", tool, one_line(e.what()));
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "{}: error: out of memory\n", tool);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", tool, one_line(e.what()));
  }
  return kExitError;
}

}  // namespace tspike::cli
