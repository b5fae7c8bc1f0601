#include "tools/cli_common.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <new>

#include "tspike/error.hpp"

namespace tspike::cli {

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
    fmt::print(stderr, "{}: error: {}\n", tool, e.what());
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "{}: error: out of memory\n", tool);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", tool, e.what());
  }
  return kExitError;
}

}  // namespace tspike::cli
