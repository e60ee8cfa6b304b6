#pragma once
// lbk commands about launch targets (docs/LAUNCH.md): listing and checking them, and pulling a remote run's
// files. Running, resuming and cancelling on a target go through the ordinary commands (commands.h).
#include <string>

#include "cli/commands.h"
#include "launch/targets.h"
#include "util/result.h"

namespace lbk {
class Store;
}

namespace lbk::cli {

// The targets file Common names (--targets), else the default one.
Result<TargetsFile> loadTargetsFor(const Common &c);

int targetsList(const Common &c);
int targetsCheck(const Common &c, const std::string &name);
int pull(const Common &c, const std::string &run, bool all);

// Catch up every active remote run (called whenever lbk opens the store); warnings go to stderr.
void syncRemote(Store &store, const Common &c);

} // namespace lbk::cli
