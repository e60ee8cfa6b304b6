#pragma once
#include <optional>
// lbk's command line, defined once for both of its programs: `lbk`, which links the core alone and answers
// the store, file and target commands in milliseconds, and `lbk-engine`, which links LibTorch and runs the
// commands that need it (the worker, predict, eval, export --format model). lbk hands those over by exec'ing
// lbk-engine with the same arguments, so users type `lbk ...` for everything and the process keeps its pid.
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.h"

namespace CLI {
class App;
}

namespace lbk::cli {

// Everything a parsed command line holds; after parse, `command` names the chosen subcommand.
struct Invocation {
    std::string command; // "run", "lr-find", "predict", "targets check", ...
    Common common;
    RunOptions run, lrFind;
    std::string ref;     // resume, show, cancel, delete, pull, predictions/export's run
    bool detach = false, quiet = false, yes = false, all = false, markdown = false;
    std::string file;    // dataset's experiment
    std::vector<std::string> files; // validate
    std::string name;    // targets check
    std::vector<std::string> refs; // compare
    std::vector<std::string> groups; // compare --group
    RunsOptions runs;
    PredictionsOptions predictions;
    ExportOptions exportRun;
    RecordOptions record;
    EditOptions edit;
    struct {
        std::string model, data, out, format = "auto", precision = "auto", shard;
        int threads = 0, batchSize = 512, topK = 0;
        double maxBadShare = -1; // below 0: the model's data.max_bad_share
        double threshold = -1;   // below 0: kPredictedFrom (0.5)
        bool resume = false;
    } predict;
    struct {
        std::string data, split, precision = "auto";
        int threads = 0;
    } eval;
    struct {
        std::string runDir, cacheDir, journal, rendezvous, runUid;
        bool lrFind = false, resume = false;
        int rank = -1, world = 0;
    } worker;
    // Whether lbk-engine must run it (it needs LibTorch).
    bool needsEngine() const;
};

// predict's --shard "K/N" as {K, N}, 0 <= K < N; none when the text is not that.
std::optional<std::pair<int, int>> parseShard(const std::string &text);

// No exception is meant to reach main; if one does, both programs say what it was instead of a bare abort.
void reportUncaughtExceptions();

// Defines every subcommand and option on `app`, bound to `inv`.
void defineCommands(CLI::App &app, Invocation &inv);
// Parses argv into the commands defineCommands() set up. None: go on and run the command. Otherwise the exit code:
// 0 after --help or --version, kBadInput after a mistake, which is printed naming the option or the unknown command.
std::optional<int> parseCommandLine(CLI::App &app, int argc, char **argv);

// The commands that need the engine, as each program provides them: lbk hands over to lbk-engine, lbk-engine
// runs them.
class EngineCommands {
public:
    virtual ~EngineCommands() = default;
    virtual int run(const Invocation &inv) = 0;
};

// Runs the parsed command: core commands here, engine commands through `engine`. Returns the exit code.
int runCommand(const Invocation &inv, EngineCommands &engine);

} // namespace lbk::cli
