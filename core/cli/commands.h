#pragma once
// The lbk commands that need no LibTorch: each takes its parsed options, prints for a person (or JSON with
// --json) and returns the process exit code: 0 ok, 1 failed, 2 bad input, 3 cancelled.
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace lbk {
class Store;
struct RunDetail;
}

namespace lbk::cli {

enum Exit { kOk = 0, kFailed = 1, kBadInput = 2, kCancelled = 3 };

struct Common {
    std::string store;    // empty: Store::defaultPath()
    std::string dataRoot; // empty: the default data root
    std::string targets;  // targets file; empty: launch/targets.h's default
    bool json = false;
};

struct RunOptions {
    std::string file;
    std::string name;
    std::vector<std::string> tags;
    bool detach = false; // start the worker and return
    bool quiet = false;
    bool lrFind = false;
    std::string target; // empty or "local": this machine; else a name from the targets file
    std::vector<long long> seeds; // several: a run group, one run per seed (a grid sweep over training.seed)
    int parallel = 1;             // with seeds: runs at once
};

struct RunsOptions {
    std::string status, experiment, tag, search, kind;
    std::string group; // a sweep (run group): its runs, and each metric's mean and deviation
    int limit = 0;
};

struct PredictionsOptions {
    std::string run;
    std::string split = "val";
    bool misclassified = false;
    long long step = -1;
    long long limit = 20;
    std::string trueLabel, predictedLabel, text;
};

struct ExportOptions {
    std::string run;
    std::string format = "json"; // csv | json
    std::string what = "all";    // all | metrics | predictions | config (csv: metrics or predictions)
    std::string out;             // empty: stdout
};

// `lbk record`: a run that another program trains here (the Python library's labbook.init() run by hand).
struct RecordOptions {
    std::string name, experiment, task;
    std::vector<std::string> tags;
    std::string config;  // JSON file of the run's config; "-": standard input
    std::string journal; // a journal written elsewhere, imported into the new run
    long long pid = 0;   // the process that writes the journal
};

// lbk edit: what to change of a run; unset ones stay.
struct EditOptions {
    std::string ref;
    std::optional<std::string> name, notes;
    std::vector<std::string> tags, untags;
};

// A run's tags with `add` appended (those it has already and blank ones left out) and `drop` taken away.
std::vector<std::string> editedTags(std::vector<std::string> tags, const std::vector<std::string> &add,
                                    const std::vector<std::string> &drop = {});

// A run by id, uid (prefix) or name (Store::run). A name that several runs of its kind share (a sweep run again
// under its name) means the latest of them, which is said on stderr with the others' ids.
Result<RunDetail> findRun(Store &store, const std::string &ref);

// "lbk: msg" on stderr.
void printError(const std::string &msg);
// The store Common names (else the default one), synced with the runs going on; nullptr after printing why.
std::unique_ptr<Store> openStore(const Common &c, bool sync = true, bool create = false);

// Each file checked as `lbk validate FILE` checks it; with --json one object for one file, an array for several.
int validate(const Common &c, const std::vector<std::string> &files);
int schema(const Common &c, bool markdown);
int run(const Common &c, const RunOptions &o);
int resume(const Common &c, const std::string &run, bool detach, bool quiet);
int runs(const Common &c, const RunsOptions &o);
int show(const Common &c, const std::string &run);
int compare(const Common &c, const std::vector<std::string> &runs);
int predictions(const Common &c, const PredictionsOptions &o);
int exportRun(const Common &c, const ExportOptions &o);
int cancel(const Common &c, const std::string &run);
int remove(const Common &c, const std::string &run, bool yes);
int edit(const Common &c, const EditOptions &o);
int record(const Common &c, const RecordOptions &o); // in record.cpp

} // namespace lbk::cli
