#pragma once
// lbk's sweep commands (docs/SWEEPS.md): run a sweep file and follow it, list sweeps, show one's trials best
// first, cancel one, resume following one. The scheduling itself is core/sweep's.
#include <string>

#include "cli/commands.h"

namespace lbk::cli {

int sweepRun(const Common &c, const std::string &file, bool detach, bool quiet);
int sweepResume(const Common &c, const std::string &ref, bool detach, bool quiet);
int sweepsList(const Common &c);
int sweepShow(const Common &c, const std::string &ref);
int sweepCancel(const Common &c, const std::string &ref);

// Run groups: `lbk run FILE --seeds ...` (a grid sweep over training.seed), `lbk runs --group`, `lbk compare --group`.
int runSeeds(const Common &c, const RunOptions &o);
int groupRuns(const Common &c, const std::string &ref);
int compareGroups(const Common &c, const std::vector<std::string> &refs);

} // namespace lbk::cli
