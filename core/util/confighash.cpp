#include "util/confighash.h"

#include "util/stablehash.h"

#include <cstdio>

namespace lbk {

std::string configHash(const nlohmann::json &resolved)
{
    nlohmann::json copy = resolved;
    if (copy.is_object()) {
        copy.erase("name");
        copy.erase("description");
        copy.erase("tags");
    }
    const std::string text = copy.dump();
    char buf[33];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(stableHash(text, 1)),
                  static_cast<unsigned long long>(stableHash(text, 2)));
    return std::string(buf, 16); // 64 bits are plenty to tell configs apart on one desktop
}

} // namespace lbk
