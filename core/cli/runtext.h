#pragma once
// How lbk words a run for a person: its first line in `lbk show` and at the end of `lbk run`, and durations.
#include <optional>
#include <string>

#include "store/store.h"

namespace lbk::cli {

// "12.5s", "3m04s", "2h05m"; "-" for a negative or unknown span, such as a run that never started.
std::string fmtDuration(double seconds);
std::string fmtDuration(std::optional<double> seconds);

// How the run stands: "finished after 3m04s", "failed before training began" (it never started), "queued".
std::string runOutcome(const RunSummary &run);
// "Run 7 (1f3a...) failed after 12.5s: debug, multiclass"; the error, if any, is the caller's next line.
std::string runHeadline(const RunSummary &run);

// The store this invocation uses (--store; empty: the default one) and its targets file (--targets). When not the
// defaults, the commands lbk suggests ("`lbk resume 3`") name them, so a suggestion pasted as it is reaches the same
// runs and targets.
void suggestWithStore(const std::string &store, const std::string &targets = {});
// text with "--store PATH" (and "--targets FILE") after each "`lbk " in it; text as it is for the defaults.
std::string withStore(const std::string &text);

} // namespace lbk::cli
