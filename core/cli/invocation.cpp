#include "cli/invocation.h"
#include "cli/runtext.h"

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>

#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "cli/sweeps.h"
#include "cli/targets.h"
#include "data/datasetdump.h"
#include "experiment/schema.h"
#include "store/store.h"

namespace lbk::cli {

namespace {

// text as a whole number within [least, most] (no overflow, nothing after it).
bool wholeWithin(const std::string &text, long long least, long long most)
{
    char *end = nullptr;
    errno = 0;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    return !text.empty() && *end == '\0' && errno != ERANGE && v >= least && v <= most;
}

// A whole number of at least `least`, said plainly (CLI11's own range checks print 1.8e308 as the upper bound).
CLI::Validator atLeast(long long least)
{
    return CLI::Validator(
        [least](std::string &text) -> std::string {
            return wholeWithin(text, least, LLONG_MAX) ? std::string()
                                                       : text + " is not a whole number of " + std::to_string(least) +
                                                             " or more";
        },
        "INT>=" + std::to_string(least));
}

// A whole number from least to most, said as atLeast says it.
CLI::Validator between(long long least, long long most)
{
    return CLI::Validator(
        [least, most](std::string &text) -> std::string {
            return wholeWithin(text, least, most) ? std::string()
                                                  : text + " is not a whole number from " + std::to_string(least) +
                                                        " to " + std::to_string(most);
        },
        "INT in [" + std::to_string(least) + ", " + std::to_string(most) + "]");
}

CLI::Validator shardSpec()
{
    return CLI::Validator(
        [](std::string &text) -> std::string {
            if (parseShard(text))
                return {};
            return text + " is not K/N with 0 <= K < N (a Slurm array's $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)";
        },
        "K/N");
}

} // namespace

std::optional<std::pair<int, int>> parseShard(const std::string &text)
{
    const size_t slash = text.find('/');
    if (slash == std::string::npos)
        return std::nullopt;
    const char *end = text.data() + text.size();
    int k = -1, n = 0;
    const auto a = std::from_chars(text.data(), text.data() + slash, k);
    const auto b = std::from_chars(text.data() + slash + 1, end, n);
    if (a.ec != std::errc() || a.ptr != text.data() + slash || b.ec != std::errc() || b.ptr != end || k < 0 || k >= n)
        return std::nullopt;
    return std::pair{k, n};
}

namespace {

void defineGlobals(CLI::App &app, Invocation &inv)
{
    app.add_option("--store", inv.common.store, "SQLite run store (default: $XDG_DATA_HOME/labbook/labbook.db)");
    app.add_option("--data-root", inv.common.dataRoot,
                   "Folder that relative data paths resolve against (default: $LABBOOK_DATA, else ../shared/data "
                   "beside the checkout)");
    app.add_flag("--json", inv.common.json, "Machine-readable output for commands that list, show, compare or check");
    app.add_option("--targets", inv.common.targets,
                   "Launch targets file (default: $XDG_CONFIG_HOME/labbook/targets.json; see docs/LAUNCH.md)");
}

// run and lr-find take the same options: an experiment file, then where and how to start it.
void defineLaunchOptions(CLI::App *cmd, RunOptions &o, const char *what)
{
    cmd->add_option("file", o.file, "Experiment JSON file")->required();
    cmd->add_option("--name", o.name, "Run name (default: the experiment's name)");
    cmd->add_option("--tag", o.tags, "Tag the run (repeat, or comma-separate)");
    cmd->add_flag("--detach", o.detach, "Start the worker and return at once; it reports into the store");
    cmd->add_flag("-q,--quiet", o.quiet, "No progress, only notes and the summary");
    cmd->add_option("--target", o.target, std::string("Where to ") + what + ": local (default) or a name from `lbk targets`");
    if (std::string(what) == "train") {
        cmd->add_option("--seeds", o.seeds, "A run group: one run per seed, e.g. 13,14,15; metrics as mean and deviation")
            ->delimiter(',')
            ->check(atLeast(0));
        cmd->add_option("--parallel", o.parallel, "With --seeds: runs at once (default 1)")->check(CLI::Range(1, 256));
    }
}

void defineLaunch(CLI::App &app, Invocation &inv)
{
    defineLaunchOptions(app.add_subcommand("run", "Train an experiment, following it live, and record everything"),
                        inv.run, "train");
    inv.lrFind.lrFind = true;
    defineLaunchOptions(app.add_subcommand("lr-find", "Run the learning-rate range test for an experiment and suggest "
                                                      "a rate (exit 1 when it suggests none)"),
                        inv.lrFind, "run");

    auto *resume = app.add_subcommand("resume", "Continue an interrupted run from its last checkpoint");
    resume->add_option("run", inv.ref, "Run id, uid (or a prefix of it) or name")->required();
    resume->add_flag("--detach", inv.detach, "Start and return at once");
    resume->add_flag("-q,--quiet", inv.quiet, "No progress, only the summary");

    auto *cancel = app.add_subcommand("cancel", "Stop a running run (it saves a checkpoint and ends as cancelled)");
    cancel->add_option("run", inv.ref, "Run")->required();
    auto *del = app.add_subcommand("delete", "Delete a run, its records and its folder");
    del->add_option("run", inv.ref, "Run")->required();
    del->add_flag("--yes", inv.yes, "Confirm");

    auto *edit = app.add_subcommand("edit", "Rename a run, set its notes, add or remove tags");
    edit->add_option("run", inv.edit.ref, "Run")->required();
    edit->add_option("--name", inv.edit.name, "The run's new name");
    edit->add_option("--notes", inv.edit.notes, "The run's notes, replacing what they said ('' clears them)");
    edit->add_option("--tag", inv.edit.tags, "Add a tag (repeat, or comma-separate)")->delimiter(',');
    edit->add_option("--untag", inv.edit.untags, "Remove a tag (repeat, or comma-separate)")->delimiter(',');
}

void defineSweeps(CLI::App &app, Invocation &inv)
{
    auto *sweep = app.add_subcommand("sweep", "Run a sweep file: trials around a base experiment, bad ones stopped "
                                              "early, followed live (docs/SWEEPS.md)");
    sweep->add_option("file", inv.file, "Sweep JSON file");
    sweep->add_flag("--detach", inv.detach, "Start the sweep's scheduler in the background and print the sweep's id");
    sweep->add_flag("-q,--quiet", inv.quiet, "No progress, only the trials at the end");
    sweep->require_subcommand(0, 1);
    auto *show = sweep->add_subcommand("show", "A sweep's trials, best first, and the best one's values");
    show->add_option("sweep", inv.ref, "Sweep id, uid or name")->required();
    auto *cancel = sweep->add_subcommand("cancel", "Stop a sweep: running trials are cancelled, pending ones never start");
    cancel->add_option("sweep", inv.ref, "Sweep")->required();
    auto *resume = sweep->add_subcommand("resume", "Follow a sweep again: launch what is missing, never a trial twice");
    resume->add_option("sweep", inv.ref, "Sweep")->required();
    resume->add_flag("--detach", inv.detach, "In the background");
    resume->add_flag("-q,--quiet", inv.quiet, "No progress, only the trials at the end");
    app.add_subcommand("sweeps", "List sweeps");
}

void defineFiles(CLI::App &app, Invocation &inv)
{
    auto *validate = app.add_subcommand("validate", "Check experiment or sweep files; errors name the JSON path (exit 2 "
                                                    "when any file has one)");
    validate->add_option("files", inv.files, "Experiment or sweep JSON files")->required();
    auto *schema = app.add_subcommand("schema", "Print the experiment schema (Markdown, or --json)");
    schema->add_flag("--markdown", inv.markdown, "Markdown table (the default)");
    auto *dataset = app.add_subcommand("dataset", "Write an experiment's examples with Labbook's labels and split "
                                                  "(JSON lines), for baselines outside Labbook");
    dataset->add_option("file", inv.file, "Experiment JSON file")->required();
    dataset->add_option("--out", inv.predict.out, "Output JSON lines file")->required();
}

void defineReading(CLI::App &app, Invocation &inv)
{
    auto *runs = app.add_subcommand("runs", "List runs");
    runs->add_option("--status", inv.runs.status,
                     "queued, running, finished, failed, cancelled, pruned (by a sweep) or interrupted");
    runs->add_option("--experiment", inv.runs.experiment, "Only runs of this experiment");
    runs->add_option("--tag", inv.runs.tag, "Only runs with this tag");
    runs->add_option("--search", inv.runs.search, "Text in the name, experiment, notes or tags");
    runs->add_option("--kind", inv.runs.kind, "train or lr_find")->check(CLI::IsMember({"train", "lr_find"}));
    runs->add_option("--limit", inv.runs.limit, "At most this many (newest first)");
    runs->add_option("--group", inv.runs.group, "A run group or sweep (id or name): its runs, each metric's mean and deviation");

    auto *show = app.add_subcommand("show", "Show a run: status, final and best metrics, config");
    show->add_option("run", inv.ref, "Run id, uid (or a prefix of it) or name")->required();
    auto *compare = app.add_subcommand("compare", "Compare runs: config keys that differ and a metrics table");
    compare->add_option("runs", inv.refs, "Two or more runs")->expected(0, 1000);
    compare->add_option("--group", inv.groups, "Compare run groups (sweeps) instead: each metric's mean and deviation; repeat");

    auto &p = inv.predictions;
    auto *pred = app.add_subcommand("predictions", "Per-example predictions of a run, most confident first");
    pred->add_option("run", p.run, "Run")->required();
    pred->add_flag("--misclassified", p.misclassified, "Only the wrong ones");
    pred->add_option("--split", p.split, "val or test")->capture_default_str();
    pred->add_option("--step", p.step, "Evaluation step (default: the latest)")->check(atLeast(0));
    pred->add_option("--true", p.trueLabel, "Only examples with this true label");
    pred->add_option("--predicted", p.predictedLabel, "Only examples predicted as this label");
    pred->add_option("--search", p.text, "Text in the title (a pre-training run: in the masked token's context)");
    pred->add_option("--limit", p.limit, "At most this many (0: all)")->check(atLeast(0))->capture_default_str();

    auto *exp = app.add_subcommand("export", "Export a run's metrics and predictions (CSV, JSON) or its model (a "
                                             "folder for lbk predict and Python, or Hugging Face's)");
    exp->add_option("run", inv.exportRun.run, "Run")->required();
    exp->add_option("--format", inv.exportRun.format, "csv, json, model (a folder for Python and `lbk predict`) or hf (a fine-tuned encoder for transformers)")
        ->capture_default_str();
    exp->add_option("--what", inv.exportRun.what, "all, metrics or predictions (CSV: one table; all gives the metrics)")
        ->check(CLI::IsMember({"all", "metrics", "predictions"}))
        ->capture_default_str();
    exp->add_option("--out", inv.exportRun.out, "Output file (default: standard output); --format model or hf: a folder");
}

void defineScoring(CLI::App &app, Invocation &inv)
{
    auto &p = inv.predict;
    auto *predict = app.add_subcommand("predict", "Classify a large JSON lines file with an exported model or a run");
    predict->add_option("model", p.model, "Export folder (lbk export --format model), run, or a run's folder")
        ->required();
    predict->add_option("--data", p.data,
                        "Papers with the run's text fields: JSON lines (.jsonl, .jsonl.zst, a pipe, or - for standard "
                        "input), or a CSV/TSV table with a header (.csv, .tsv, optionally .zst)")
        ->required();
    predict->add_option("--out", p.out, "Output: .jsonl, .csv, or - for standard output")->required();
    predict->add_option("--format", p.format, "auto (by --out's extension), jsonl or csv")->capture_default_str();
    predict->add_option("--threads", p.threads, "Threads (0: all cores)")->check(between(0, kMaxThreads))->capture_default_str();
    predict->add_option("--batch-size", p.batchSize, "Examples per forward pass")->check(atLeast(1))->capture_default_str();
    predict->add_option("--top-k", p.topK, "Keep the k most probable labels (0: every probability)")
        ->check(atLeast(0))
        ->capture_default_str();
    const std::string precisionHelp =
        "auto (a run: the precision it trained in; an export: fp32), fp32, or bf16 (where the CPU computes in "
        "bfloat16 natively)";
    const auto precisions = CLI::IsMember({"auto", "fp32", "bf16"});
    predict->add_option("--precision", p.precision, precisionHelp)->check(precisions)->capture_default_str();
    predict->add_option("--shard", p.shard,
                        "Score only the K-th of N contiguous blocks of lines (0 <= K < N), e.g. one task of a Slurm "
                        "array; the N outputs concatenated in K order are the unsharded output")
        ->check(shardSpec());
    predict->add_option("--max-bad-share", p.maxBadShare,
                        "Fail (keeping the rows scored) when more than this share of lines cannot be scored "
                        "(default: the model's data.max_bad_share, 0.01 unless its experiment set another)")
        ->check(CLI::Range(0.0, 1.0));
    predict->add_option("--threshold", p.threshold,
                        "Binary and multilabel models: a label is predicted from this probability up (default 0.5, as "
                        "the run's metrics count); read a better one off the run's precision-recall curve")
        ->check(CLI::Range(0.0, 1.0));
    predict->add_flag("--resume", p.resume,
                      "Continue an interrupted run of the same model, data and options from where its OUT.partial "
                      "stopped (Ctrl-C or SIGTERM stops at a chunk's end and keeps it); else start from the start");
    predict->add_flag("-q,--quiet", inv.quiet, "No progress bar");

    auto &e = inv.eval;
    auto *eval = app.add_subcommand("eval", "Evaluate a finished run on another labelled file and record it in the run");
    eval->add_option("run", inv.ref, "Run")->required();
    eval->add_option("--data", e.data, "Labelled data file (same columns as the run's data)")->required();
    eval->add_option("--split", e.split, "Name of the evaluation (default: eval:<file name>)");
    eval->add_option("--threads", e.threads, "Threads (0: all cores)")->check(between(0, kMaxThreads))->capture_default_str();
    eval->add_option("--precision", e.precision, precisionHelp)->check(precisions)->capture_default_str();
    eval->add_flag("-q,--quiet", inv.quiet, "Only the summary");
}

void defineTargetsAndWorker(CLI::App &app, Invocation &inv)
{
    auto *targets = app.add_subcommand("targets", "List launch targets (ssh hosts, Slurm clusters, command templates)");
    auto *check = targets->add_subcommand("check", "Say what works on a target: connection, lbk, disk, devices");
    check->add_option("name", inv.name, "Target name")->required();
    auto *pull = app.add_subcommand("pull", "Copy a remote run's checkpoints and artifacts into its local folder");
    pull->add_option("run", inv.ref, "Run")->required();
    pull->add_flag("--all", inv.all, "Every file of the remote run folder, not only reported artifacts");

    auto &r = inv.record;
    auto *record = app.add_subcommand("record", "Record a run that another program trains (the Python library, "
                                                "docs/PYTHON.md): creates it and prints where its journal goes");
    record->add_option("--name", r.name, "Run name (default: the journal's, else python)");
    record->add_option("--experiment", r.experiment, "Experiment name (default: the run name)");
    record->add_option("--tag", r.tags, "Tag the run (repeat, or comma-separate)")->delimiter(',');
    record->add_option("--task", r.task, "multiclass, binary or multilabel (shown with the run)");
    record->add_option("--config", r.config, "JSON file holding the run's config ('-': standard input)");
    record->add_option("--pid", r.pid, "The process that writes the journal; the run is interrupted once it is gone");
    record->add_option("--journal", r.journal, "Import a journal written elsewhere into the new run");

    auto &w = inv.worker;
    auto *worker = app.add_subcommand("worker", "Train one run from its folder (started by lbk and the GUI)");
    worker->group(""); // not for people: hidden from --help
    worker->add_option("--run-dir", w.runDir, "Run folder holding experiment.json")->required();
    worker->add_option("--run", w.runUid, "Run uid")->required();
    worker->add_option("--cache-dir", w.cacheDir, "Tokenizer cache");
    worker->add_option("--journal", w.journal, "Journal file ('-' for standard output)");
    worker->add_flag("--lr-find", w.lrFind, "Run the LR range test");
    worker->add_flag("--resume", w.resume, "Continue from the last checkpoint");
    worker->add_option("--rank", w.rank, "This process's rank in a data-parallel run (started by rank 0)");
    worker->add_option("--world-size", w.world, "Processes in the data-parallel run");
    worker->add_option("--rendezvous", w.rendezvous, "The data-parallel run's rendezvous file");
}

int dataset(const Invocation &inv)
{
    auto exp = loadExperimentFile(inv.file);
    if (!exp) {
        std::fprintf(stderr, "lbk: %s\n", exp.message().c_str());
        return kBadInput;
    }
    auto dump = writeDataset(*exp, inv.common.dataRoot, inv.predict.out);
    if (!dump) {
        std::fprintf(stderr, "lbk: %s\n", dump.message().c_str());
        return kFailed;
    }
    std::fprintf(stderr, "lbk: %zu examples (%zu train, %zu val, %zu test) written to %s\n", dump->examples,
                 dump->train, dump->validation, dump->test, inv.predict.out.c_str());
    return kOk;
}

} // namespace

void reportUncaughtExceptions()
{
    std::set_terminate([] {
        try {
            if (auto e = std::current_exception())
                std::rethrow_exception(e);
        } catch (const std::exception &e) {
            std::fprintf(stderr, "lbk: internal error: %s\n", e.what());
        } catch (...) {
            std::fprintf(stderr, "lbk: internal error\n");
        }
        std::_Exit(1);
    });
}

void defineCommands(CLI::App &app, Invocation &inv)
{
    app.require_subcommand(1);
    app.fallthrough();
    app.set_version_flag("--version", std::string("lbk ") + LABBOOK_VERSION);
    defineGlobals(app, inv);
    defineLaunch(app, inv);
    defineSweeps(app, inv);
    defineFiles(app, inv);
    defineReading(app, inv);
    defineScoring(app, inv);
    defineTargetsAndWorker(app, inv);
    // After parsing: which subcommand was chosen ("targets check" for the nested one).
    app.final_callback([&app, &inv] {
        for (const auto *sub : app.get_subcommands()) {
            inv.command = sub->get_name();
            for (const auto *nested : sub->get_subcommands())
                inv.command += " " + nested->get_name();
        }
    });
}

namespace {

// `lbk help [COMMAND]`, as git and cargo take it: args become `lbk [COMMAND] --help` (found by an audit: "no such
// command"). The first word that is no option, or an option's value, decides. False after saying that COMMAND is
// no command (CLI11 would print the general help for it).
bool helpAsFlag(CLI::App &app, std::vector<char *> &args)
{
    static char helpFlag[] = "--help";
    size_t i = 1;
    for (; i < args.size() && args[i][0] == '-'; ++i) // --store S: its value is no command
        if (const CLI::Option *o = app.get_option_no_throw(args[i]); o && o->get_items_expected_min() > 0)
            ++i;
    if (i >= args.size() || std::string_view(args[i]) != "help")
        return true;
    args.erase(args.begin() + std::ptrdiff_t(i));
    const auto named = [&](CLI::App *sub) { return sub->check_name(args[i]); };
    if (i < args.size() && args[i][0] != '-' && app.get_subcommands(named).empty()) {
        std::fprintf(stderr, "lbk: %s: no such command; `lbk --help` lists them\n", args[i]);
        return false;
    }
    args.push_back(helpFlag);
    return true;
}

} // namespace

std::optional<int> parseCommandLine(CLI::App &app, int argc, char **argv)
{
    std::vector<char *> args(argv, argv + argc);
    if (!helpAsFlag(app, args))
        return kBadInput;
    try {
        app.parse(int(args.size()), args.data());
        return std::nullopt;
    } catch (const CLI::ParseError &e) {
        if (e.get_exit_code() == 0)
            return app.exit(e); // --help, --version
        const auto left = app.remaining();
        if (dynamic_cast<const CLI::RequiredError *>(&e) && app.get_subcommands().empty() && !left.empty()) {
            std::fprintf(stderr, "lbk: %s: no such command; `lbk --help` lists them\n", left.front().c_str());
            return kBadInput;
        }
        app.exit(e);
        return kBadInput;
    }
}

bool Invocation::needsEngine() const
{
    return command == "worker" || command == "predict" || command == "eval" ||
           (command == "export" && (exportRun.format == "model" || exportRun.format == "hf"));
}

namespace {

int dispatch(const Invocation &inv, EngineCommands &engine)
{
    const Common &c = inv.common;
    const std::string &cmd = inv.command;
    if (inv.needsEngine())
        return engine.run(inv);
    if (cmd == "run")
        return inv.run.seeds.empty() ? run(c, inv.run) : runSeeds(c, inv.run);
    if (cmd == "lr-find")
        return run(c, inv.lrFind);
    if (cmd == "resume")
        return resume(c, inv.ref, inv.detach, inv.quiet);
    if (cmd == "validate")
        return validate(c, inv.files);
    if (cmd == "schema")
        return schema(c, inv.markdown);
    if (cmd == "dataset")
        return dataset(inv);
    if (cmd == "runs")
        return inv.runs.group.empty() ? runs(c, inv.runs) : groupRuns(c, inv.runs.group);
    if (cmd == "show")
        return show(c, inv.ref);
    if (cmd == "compare") {
        if (!inv.groups.empty())
            return compareGroups(c, inv.groups);
        if (inv.refs.size() < 2) {
            std::fprintf(stderr, "lbk compare: give two or more runs, or --group twice or more\n");
            return kBadInput;
        }
        return compare(c, inv.refs);
    }
    if (cmd == "predictions")
        return predictions(c, inv.predictions);
    if (cmd == "export")
        return exportRun(c, inv.exportRun);
    if (cmd == "cancel")
        return cancel(c, inv.ref);
    if (cmd == "delete")
        return remove(c, inv.ref, inv.yes);
    if (cmd == "edit")
        return edit(c, inv.edit);
    if (cmd == "targets")
        return targetsList(c);
    if (cmd == "targets check")
        return targetsCheck(c, inv.name);
    if (cmd == "sweep") {
        if (inv.file.empty()) {
            std::fprintf(stderr, "lbk sweep: give a sweep file, or one of show, cancel, resume (lbk sweep --help)\n");
            return kBadInput;
        }
        return sweepRun(c, inv.file, inv.detach, inv.quiet);
    }
    if (cmd == "sweep show")
        return sweepShow(c, inv.ref);
    if (cmd == "sweep cancel")
        return sweepCancel(c, inv.ref);
    if (cmd == "sweep resume")
        return sweepResume(c, inv.ref, inv.detach, inv.quiet);
    if (cmd == "sweeps")
        return sweepsList(c);
    if (cmd == "pull")
        return pull(c, inv.ref, inv.all);
    if (cmd == "record")
        return record(c, inv.record);
    return kBadInput;
}

} // namespace

// Why what the command printed did not all reach its standard output (found by an audit: `lbk export` to a full
// disk's file through the shell's > exited 0 with the file cut); nothing when it did. A reader that stopped reading
// (`| head`, a broken pipe now or at an earlier write) is no failure.
static std::optional<std::string> outputFailure()
{
    const bool flushed = std::fflush(stdout) == 0;
    const int why = errno;
    if (flushed && !std::ferror(stdout))
        return std::nullopt;
    if (!flushed)
        return why == EPIPE ? std::nullopt : std::optional<std::string>(std::strerror(why));
    pollfd out{STDOUT_FILENO, 0, 0}; // an earlier write failed: errno is long gone, but a closed pipe still says so
    if (::poll(&out, 1, 0) == 1 && (out.revents & POLLERR))
        return std::nullopt;
    return "an earlier write to it failed";
}

int runCommand(const Invocation &inv, EngineCommands &engine)
{
    suggestWithStore(inv.common.store, inv.common.targets);
    const int rc = dispatch(inv, engine);
    if (const auto damage = takeStoreDamage()) { // what the command printed or wrote may be incomplete: say so
        printError(damage->message);
        return rc == kOk ? kFailed : rc;
    }
    if (const auto failed = outputFailure()) {
        printError("writing the output failed: " + *failed);
        return rc == kOk ? kFailed : rc;
    }
    return rc;
}

} // namespace lbk::cli
