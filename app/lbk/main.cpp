// lbk: Labbook's headless engine and command line. Composition only: the commands live in core/cli and the
// worker in core/engine.
#include <csignal>
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/targets.h"
#include "engine/engine.h"

namespace {

void onWorkerSignal(int)
{
    lbk::requestCancel();
}

} // namespace

int main(int argc, char **argv)
{
    // No exception is meant to reach here; if one does, say what it was instead of a bare abort.
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
    CLI::App app{"lbk: train, evaluate and record text classifiers (Labbook's engine)", "lbk"};
    app.require_subcommand(1);
    app.fallthrough();
    app.set_version_flag("--version", std::string("lbk ") + LABBOOK_VERSION);

    lbk::cli::Common common;
    app.add_option("--store", common.store, "SQLite run store (default: $XDG_DATA_HOME/labbook/labbook.db)");
    app.add_option("--data-root", common.dataRoot,
                   "Folder that relative data paths resolve against (default: $LABBOOK_DATA, else ../shared/data "
                   "beside the checkout)");
    app.add_flag("--json", common.json, "Machine-readable output for commands that list or show");
    app.add_option("--targets", common.targets,
                   "Launch targets file (default: $XDG_CONFIG_HOME/labbook/targets.json; see docs/LAUNCH.md)");

    lbk::cli::RunOptions runOpts;
    auto *run = app.add_subcommand("run", "Train an experiment, following it live, and record everything");
    run->add_option("file", runOpts.file, "Experiment JSON file")->required();
    run->add_option("--name", runOpts.name, "Run name (default: the experiment's name)");
    run->add_option("--tag", runOpts.tags, "Tag the run (repeat, or comma-separate)");
    run->add_flag("--detach", runOpts.detach, "Start the worker and return at once; it reports into the store");
    run->add_flag("-q,--quiet", runOpts.quiet, "No progress, only the summary");
    run->add_option("--target", runOpts.target, "Where to train: local (default) or a name from `lbk targets`");

    lbk::cli::RunOptions lrOpts;
    lrOpts.lrFind = true;
    auto *lr = app.add_subcommand("lr-find", "Run the learning-rate range test for an experiment and suggest a rate");
    lr->add_option("file", lrOpts.file, "Experiment JSON file")->required();
    lr->add_option("--name", lrOpts.name, "Run name");
    lr->add_option("--tag", lrOpts.tags, "Tag the run");
    lr->add_flag("--detach", lrOpts.detach, "Start and return at once");
    lr->add_flag("-q,--quiet", lrOpts.quiet, "No progress, only the summary");
    lr->add_option("--target", lrOpts.target, "Where to run: local (default) or a name from `lbk targets`");

    std::string resumeRef;
    bool resumeDetach = false, resumeQuiet = false;
    auto *resume = app.add_subcommand("resume", "Continue an interrupted run from its last checkpoint");
    resume->add_option("run", resumeRef, "Run id, uid (or a prefix of it) or name")->required();
    resume->add_flag("--detach", resumeDetach, "Start and return at once");
    resume->add_flag("-q,--quiet", resumeQuiet, "No progress, only the summary");

    std::string validateFile;
    auto *validate = app.add_subcommand("validate", "Check an experiment file; errors name the JSON path (exit 2)");
    validate->add_option("file", validateFile, "Experiment JSON file")->required();

    bool markdown = false;
    auto *schema = app.add_subcommand("schema", "Print the experiment schema (Markdown, or --json)");
    schema->add_flag("--markdown", markdown, "Markdown table (the default)");

    lbk::cli::RunsOptions runsOpts;
    auto *runs = app.add_subcommand("runs", "List runs");
    runs->add_option("--status", runsOpts.status, "queued, running, finished, failed, cancelled or interrupted");
    runs->add_option("--experiment", runsOpts.experiment, "Only runs of this experiment");
    runs->add_option("--tag", runsOpts.tag, "Only runs with this tag");
    runs->add_option("--search", runsOpts.search, "Text in the name, experiment, notes or tags");
    runs->add_option("--kind", runsOpts.kind, "train or lr_find");
    runs->add_option("--limit", runsOpts.limit, "At most this many (newest first)");

    std::string showRef;
    auto *show = app.add_subcommand("show", "Show a run: status, final and best metrics, config");
    show->add_option("run", showRef, "Run id, uid (or a prefix of it) or name")->required();

    std::vector<std::string> compareRefs;
    auto *compare = app.add_subcommand("compare", "Compare runs: config keys that differ and a metrics table");
    compare->add_option("runs", compareRefs, "Two or more runs")->required()->expected(2, 1000);

    lbk::cli::PredictionsOptions predOpts;
    auto *pred = app.add_subcommand("predictions", "Per-example predictions of a run, most confident first");
    pred->add_option("run", predOpts.run, "Run")->required();
    pred->add_flag("--misclassified", predOpts.misclassified, "Only the wrong ones");
    pred->add_option("--split", predOpts.split, "val or test")->capture_default_str();
    pred->add_option("--step", predOpts.step, "Evaluation step (default: the latest)");
    pred->add_option("--true", predOpts.trueLabel, "Only examples with this true label");
    pred->add_option("--predicted", predOpts.predictedLabel, "Only examples predicted as this label");
    pred->add_option("--search", predOpts.text, "Text in the title");
    pred->add_option("--limit", predOpts.limit, "At most this many (0: all)")->capture_default_str();

    lbk::cli::ExportOptions exportOpts;
    auto *exp = app.add_subcommand("export", "Export a run's metrics and predictions as CSV or JSON");
    exp->add_option("run", exportOpts.run, "Run")->required();
    exp->add_option("--format", exportOpts.format, "csv, json, or model (a folder for Python and `lbk predict`)")
        ->capture_default_str();
    exp->add_option("--what", exportOpts.what, "all, metrics or predictions")->capture_default_str();
    exp->add_option("--out", exportOpts.out, "Output file (default: standard output); --format model: a folder");

    lbk::PredictOptions predictOpts;
    std::string predictData, predictOut;
    auto *predictCmd = app.add_subcommand("predict", "Classify a large JSON lines file with an exported model or a run");
    predictCmd->add_option("model", predictOpts.model, "Export folder (lbk export --format model) or run")->required();
    predictCmd->add_option("--data", predictData, "JSON lines in (.jsonl or .jsonl.zst), with the run's text fields")
        ->required();
    predictCmd->add_option("--out", predictOut, "Output: .jsonl, .csv, or - for standard output")->required();
    predictCmd->add_option("--format", predictOpts.format, "auto (by --out's extension), jsonl or csv")
        ->capture_default_str();
    predictCmd->add_option("--threads", predictOpts.threads, "Threads (0: all cores)")->capture_default_str();
    predictCmd->add_option("--batch-size", predictOpts.batchSize, "Examples per forward pass")->capture_default_str();
    predictCmd->add_option("--top-k", predictOpts.topK, "Keep the k most probable labels (0: every probability)")
        ->capture_default_str();
    const std::string precisionHelp =
        "auto (a run: the precision it trained in; an export: fp32), fp32, or bf16 (where the CPU computes in "
        "bfloat16 natively)";
    predictCmd->add_option("--precision", predictOpts.precision, precisionHelp)
        ->check(CLI::IsMember({"auto", "fp32", "bf16"}))
        ->capture_default_str();
    predictCmd->add_flag("-q,--quiet", predictOpts.quiet, "No progress bar");

    lbk::EvalRunOptions evalOpts;
    auto *evalCmd = app.add_subcommand("eval", "Evaluate a finished run on another labelled file and record it in the run");
    evalCmd->add_option("run", evalOpts.run, "Run")->required();
    evalCmd->add_option("--data", evalOpts.data, "Labelled data file (same columns as the run's data)")->required();
    evalCmd->add_option("--split", evalOpts.split, "Name of the evaluation (default: eval:<file name>)");
    evalCmd->add_option("--threads", evalOpts.threads, "Threads (0: all cores)")->capture_default_str();
    evalCmd->add_option("--precision", evalOpts.precision, precisionHelp)
        ->check(CLI::IsMember({"auto", "fp32", "bf16"}))
        ->capture_default_str();
    evalCmd->add_flag("-q,--quiet", evalOpts.quiet, "Only the summary");

    lbk::DatasetDumpOptions dumpOpts;
    std::string dumpOut;
    auto *dumpCmd = app.add_subcommand("dataset", "Write an experiment's examples with Labbook's labels and split "
                                                  "(JSON lines), for baselines outside Labbook");
    dumpCmd->add_option("file", dumpOpts.experiment, "Experiment JSON file")->required();
    dumpCmd->add_option("--out", dumpOut, "Output JSON lines file")->required();

    std::string cancelRef;
    auto *cancel = app.add_subcommand("cancel", "Stop a running run (it saves a checkpoint and ends as cancelled)");
    cancel->add_option("run", cancelRef, "Run")->required();

    std::string deleteRef;
    bool deleteYes = false;
    auto *del = app.add_subcommand("delete", "Delete a run, its records and its folder");
    del->add_option("run", deleteRef, "Run")->required();
    del->add_flag("--yes", deleteYes, "Confirm");

    auto *targets = app.add_subcommand("targets", "List launch targets (ssh hosts, Slurm clusters, command templates)");
    std::string checkName;
    auto *targetsCheck = targets->add_subcommand("check", "Say what works on a target: connection, lbk, disk, devices");
    targetsCheck->add_option("name", checkName, "Target name")->required();

    std::string pullRef;
    bool pullAll = false;
    auto *pull = app.add_subcommand("pull", "Copy a remote run's checkpoints and artifacts into its local folder");
    pull->add_option("run", pullRef, "Run")->required();
    pull->add_flag("--all", pullAll, "Every file of the remote run folder, not only reported artifacts");

    lbk::WorkerOptions workerOpts;
    std::string runDir, cacheDir, journal;
    auto *worker = app.add_subcommand("worker", "Train one run from its folder (started by lbk and the GUI)");
    worker->group(""); // not for people: hidden from --help
    worker->add_option("--run-dir", runDir, "Run folder holding experiment.json")->required();
    worker->add_option("--run", workerOpts.runUid, "Run uid")->required();
    worker->add_option("--cache-dir", cacheDir, "Tokenizer cache");
    worker->add_option("--journal", journal, "Journal file ('-' for standard output)");
    worker->add_flag("--lr-find", workerOpts.lrFind, "Run the LR range test");
    worker->add_flag("--resume", workerOpts.resume, "Continue from the last checkpoint");
    std::string rendezvous;
    worker->add_option("--rank", workerOpts.rank, "This process's rank in a data-parallel run (started by rank 0)");
    worker->add_option("--world-size", workerOpts.world, "Processes in the data-parallel run");
    worker->add_option("--rendezvous", rendezvous, "The data-parallel run's rendezvous file");

    CLI11_PARSE(app, argc, argv);

    using namespace lbk::cli;
    if (*run)
        return lbk::cli::run(common, runOpts);
    if (*lr)
        return lbk::cli::run(common, lrOpts);
    if (*resume)
        return lbk::cli::resume(common, resumeRef, resumeDetach, resumeQuiet);
    if (*validate)
        return lbk::cli::validate(common, validateFile);
    if (*schema)
        return lbk::cli::schema(common, markdown);
    if (*runs)
        return lbk::cli::runs(common, runsOpts);
    if (*show)
        return lbk::cli::show(common, showRef);
    if (*compare)
        return lbk::cli::compare(common, compareRefs);
    if (*pred)
        return lbk::cli::predictions(common, predOpts);
    if (*exp && exportOpts.format == "model") {
        if (exportOpts.out.empty()) {
            std::fprintf(stderr, "lbk: export --format model needs --out FOLDER\n");
            return 2;
        }
        return lbk::exportModel({common.store, exportOpts.run, exportOpts.out});
    }
    if (*exp)
        return lbk::cli::exportRun(common, exportOpts);
    if (*predictCmd) {
        predictOpts.store = common.store;
        predictOpts.data = predictData;
        predictOpts.out = predictOut;
        return lbk::predict(predictOpts);
    }
    if (*evalCmd) {
        evalOpts.store = common.store;
        evalOpts.dataRoot = common.dataRoot;
        return lbk::evalRun(evalOpts);
    }
    if (*dumpCmd) {
        dumpOpts.dataRoot = common.dataRoot;
        dumpOpts.out = dumpOut;
        return lbk::dumpDataset(dumpOpts);
    }
    if (*cancel)
        return lbk::cli::cancel(common, cancelRef);
    if (*del)
        return lbk::cli::remove(common, deleteRef, deleteYes);
    if (*targets)
        return *targetsCheck ? lbk::cli::targetsCheck(common, checkName) : lbk::cli::targetsList(common);
    if (*pull)
        return lbk::cli::pull(common, pullRef, pullAll);
    if (*worker) {
        workerOpts.runDir = runDir;
        workerOpts.cacheDir = cacheDir;
        workerOpts.journal = journal;
        workerOpts.rendezvous = rendezvous;
        workerOpts.dataRoot = common.dataRoot;
        // Gloo writes to its sockets without MSG_NOSIGNAL: a peer that dies mid-send must surface as an error
        // the worker reports, not as a SIGPIPE that kills it silently.
        std::signal(SIGPIPE, SIG_IGN);
        std::signal(SIGTERM, onWorkerSignal);
        std::signal(SIGINT, onWorkerSignal);
        return lbk::runWorker(workerOpts);
    }
    return 2;
}
