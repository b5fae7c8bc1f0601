// The one list of ops (TSPIKE_OPS in registry_helpers.hpp): registry, tests
// and the tools' --info all read it.
#include "ops/registry_helpers.hpp"

#include <cstring>

namespace tspike::ops {

const std::vector<OpEntry>& op_registry() {
  static const std::vector<OpEntry> entries = [] {
    std::vector<OpEntry> list;
#define TSPIKE_ENTRY(Class) \
  list.push_back({std::strcmp(#Class, "TernarySpike") == 0 ? "tspike" : "", #Class, &create_##Class});
    TSPIKE_OPS(TSPIKE_ENTRY)
#undef TSPIKE_ENTRY
    return list;
  }();
  return entries;
}

const OpEntry* find_op(const std::string& domain, const std::string& op_type) {
  const std::string d = domain == "ai.onnx" ? "" : domain;
  for (const auto& e : op_registry())
    if (d == e.domain && op_type == e.op_type) return &e;
  return nullptr;
}

}  // namespace tspike::ops
