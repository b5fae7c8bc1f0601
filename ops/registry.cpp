// SPDX-License-Identifier: Apache-2.0
// The one list of ops (TSPIKE_OPS in registry_helpers.hpp): the loader, the
// converter, the checker, the profile and the tests all read it.
#include <onnx/defs/schema.h>

#include <mutex>
#include <string_view>

#include "ops/registry_helpers.hpp"

namespace tspike::ops {

const std::vector<OpEntry>& op_registry() {
  static const std::vector<OpEntry> entries = [] {
    std::vector<OpEntry> list;
#define TSPIKE_ENTRY(domain, Class) \
  list.push_back(                   \
      {std::string_view(#domain) == "onnx" ? "" : #domain, #Class, &create_##Class, &traits_##Class});
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

void register_schemas() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto& domains = onnx::OpSchemaRegistry::DomainToVersionRange::Instance();
    if (domains.Map().count(kDomain) == 0) domains.AddDomainToVersion(kDomain, 1, 1);
    for (const auto& e : op_registry())
      if (e.traits->register_schema) e.traits->register_schema();
  });
}

const OpTraits* find_traits(const std::string& domain, const std::string& op_type) {
  const OpEntry* e = find_op(domain, op_type);
  return e ? e->traits : nullptr;
}

}  // namespace tspike::ops
