#pragma once
// Runs that another program trains on this machine: a training script that records itself with the Python
// library (python/labbook), started by hand rather than by a Labbook target. The store creates the run and its
// folder; the program appends the journal there; every lbk command and the GUI then follow the run as they
// follow a local worker (launch/local.h), the program's own process telling whether it is still alive.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/store.h"
#include "util/result.h"

namespace lbk {

struct ExternalRun {
    std::string name;              // empty: "python"
    std::string experiment;        // empty: the name
    std::string task;              // multiclass, binary, multilabel, or empty when not known
    std::vector<std::string> tags;
    nlohmann::json config = nlohmann::json::object();
    int64_t pid = 0;               // the process that writes the journal; 0: none (a journal brought from elsewhere)
    std::string uid;               // the run's uid as its journal names it; empty: a new one
    std::string kind = "train";    // or lr_find, as a Labbook worker's journal says
};

// Creates the run (queued until its journal's run_started) with its folder, and records the writing process.
// A pid that is not a live process here is refused before anything is created.
Result<RunDetail> createExternalRun(Store &store, const ExternalRun &request);

// What a journal written elsewhere says of its run (its first run_started: name, task, tags, config; a Labbook
// worker's, from its config) fills the fields of `request` that were not given, so `lbk record --journal FILE` stores
// the run as the script named it.
// False when none of its first lines is an event (a JSON object with a "type"): not a journal at all.
bool fillFromJournal(ExternalRun &request, const std::filesystem::path &journal);

// The run a journal's own uid (ExternalRun::uid) names in this store: the same journal recorded before.
std::optional<RunDetail> recordedBefore(const Store &store, const ExternalRun &request);

// Copies a journal written elsewhere (a script run by hand on a TPU VM) into the run's folder and stores it: for a
// run recorded before (a longer copy brought back again), only the events it did not hold yet. Refused while a live
// process writes the run, and for a file that does not continue the journal the run holds (another run's, with the
// same uid): the run's copy is what the store can be rebuilt from.
// newRun: the run was made for this journal, and fails with the copy; a run recorded before keeps its status.
// A journal Labbook's worker wrote (a store rebuilt from its run folders) brings the files of its folder that the run
// is scored and resumed from (experiment.json, labels.json, the tokenizer, checkpoints/ hard-linked where they can
// be); what they fail to bring is said, and comes when the journal is recorded again.
Result<IngestStats> importJournal(Store &store, const RunSummary &run, const std::filesystem::path &journal,
                                  bool newRun);

} // namespace lbk
