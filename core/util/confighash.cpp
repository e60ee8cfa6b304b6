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

std::string rangeTestHash(const nlohmann::json &resolved)
{
    nlohmann::json copy = resolved;
    if (!copy.is_object())
        return configHash(copy);
    copy.erase("schedule");
    copy.erase("evaluation");
    for (const auto &[section, key] : {std::pair{"optimizer", "lr"}, {"training", "epochs"}, {"training", "max_steps"},
                                       {"training", "log_every"}, {"training", "checkpoint_minutes"},
                                       {"training", "threads"}})
        if (auto it = copy.find(section); it != copy.end() && it->is_object())
            it->erase(key);
    return configHash(copy);
}

} // namespace lbk
