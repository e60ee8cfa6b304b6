#pragma once
// The run list's row per sweep and per run group ("One row per sweep"): which run a folded row shows and which
// runs it stands for. A sweep's row shows its best trial as the sweep itself chooses it (sweep/sweepbest.h: its
// metric, its direction, finished trials only), as lbk sweeps and the Sweeps tab name it; a run group's (the same
// config over seeds, tagged "group:...") stands for all its runs, whose means the list shows.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"
#include "sweep/sweepbest.h"

namespace labbook {

struct RunFold {
    bool group = false;
    std::string label;                   // the sweep's name or the group's label
    int64_t shown = 0;                   // the run whose row stands for the fold
    std::vector<int64_t> members;        // every run of the fold in the list's order, `shown` among them
    std::optional<lbk::SweepBest> sweep; // a sweep's record, where the store has it
    // A sweep's row shows its best trial; without one (none finished yet, or no record of the sweep) its newest run.
    bool showsBest() const { return sweep && sweep->best && sweep->best->run == shown; }
};

// The folds of these runs: a run's group tag decides before its sweep tag (a sweep over seeds folds per group).
std::vector<RunFold> foldRuns(const std::vector<lbk::RunSummary> &runs, const std::vector<lbk::SweepBest> &sweeps);

} // namespace labbook
