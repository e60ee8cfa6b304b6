#include "usecases/runactions.h"

#include <algorithm>

#include "data/dataset.h"
#include "experiment/checkpointfit.h"
#include "experiment/schema.h"

#include "launch/local.h"
#include "launch/remote.h"
#include "store/runfiles.h"
#include "util/text.h"

namespace lbk::usecase {

namespace fs = std::filesystem;

Result<Target> findTarget(const TargetsFile &targets, const std::string &name)
{
    if (!isRemoteTarget(name))
        return localTarget();
    if (const Target *t = targets.find(name))
        return *t;
    if (std::error_code ec; !fs::exists(targets.path, ec))
        return badInput("no target named \"" + name + "\": there is no targets file at " + targets.path.string() +
                        " (docs/LAUNCH.md shows one; --targets or $LABBOOK_TARGETS name another)");
    std::vector<std::string> names;
    for (const auto &t : targets.targets)
        names.push_back(t.name);
    const std::string near = nearestWord(name, names);
    return badInput("no target named \"" + name + "\" in " + targets.path.string() +
                    (near.empty() ? "" : "; did you mean \"" + near + "\"?") + " (`lbk targets` lists them)");
}

namespace {

using nlohmann::json;

// ", kept: 650, 1300" for the step-N.pt checkpoints of a run folder (evaluation.keep_checkpoints), "" when none.
std::string keptStepsText(const RunSummary &run)
{
    std::vector<int64_t> steps;
    std::error_code ec;
    for (const auto &e : fs::directory_iterator(fs::path(run.runDir) / runfiles::kCheckpoints, ec))
        if (const auto step = runfiles::keptStep(e.path()))
            steps.push_back(*step);
    std::sort(steps.begin(), steps.end());
    std::string text;
    for (const int64_t s : steps)
        text += (text.empty() ? "; kept: " : ", ") + std::to_string(s);
    return text;
}

// What a fine-tune takes from the pre-training run it starts from: the encoder's sizes and how its tokenizer cuts
// text (the tokenizer file is copied; a fine-tune that cased or split words otherwise would feed the encoder ids
// it never saw). By dotted key, as the pre-training run recorded them.
json inheritedFromPretraining(const Experiment &pre)
{
    const TokenizerSpec &t = pre.tokenizer;
    const ModelSpec &m = pre.model;
    return {{"model.embedding_dim", m.embeddingDim}, {"model.hidden", m.hidden}, {"model.layers", m.layers},
            {"model.heads", m.heads}, {"tokenizer.type", toString(t.type)}, {"tokenizer.lowercase", t.lowercase},
            {"tokenizer.vocab_size", t.vocabSize}, {"tokenizer.min_count", t.minCount}};
}

// "run 7" for a run named by its id, "run mlm (id 7)" for one named otherwise: the id said once.
std::string namedRun(const std::string &ref, int64_t id)
{
    return ref == std::to_string(id) ? "run " + ref : "run " + ref + " (id " + std::to_string(id) + ")";
}

// A run model.init_from may start from: an MLM pre-training run with weights to take.
Status checkPretrainingRun(const RunDetail &pre, const std::string &ref, int64_t step)
{
    if (pre.lrFind())
        return badInput("model.init_from: " + namedRun(ref, pre.id) + " is an LR range test, not a pre-training "
                        "run; name the pre-training run by its id (run:ID)");
    if (!isPretraining(pre))
        return badInput("model.init_from: run " + ref + " is not an MLM pre-training run (its task is " + pre.task +
                        ")");
    if (const json from = valueAt(pre.config, "model.init_from"); from.is_string() && !from.get<std::string>().empty())
        return badInput(continuedPretrainingRefusal(ref)); // before the run exists, as the engine would refuse it
    std::error_code ec;
    if (step == -1 && !isActive(pre.status) && !fs::exists(runfiles::checkpoint(pre.runDir, "best"), ec) &&
        !fs::exists(runfiles::checkpoint(pre.runDir, "last"), ec))
        return badInput("model.init_from: run " + ref + " (" + toString(pre.status) + ") left no checkpoint in " +
                        (fs::path(pre.runDir) / runfiles::kCheckpoints).string() + " to start from");
    return okStatus();
}

// How many training runs of the store carry exactly this name (a name means the newest of them: Store::run passes
// over LR range tests named alike).
size_t trainingRunsNamed(const Store &store, const std::string &name)
{
    RunFilter filter;
    filter.text = name;
    const auto runs = store.runs(filter);
    return size_t(std::count_if(runs.begin(), runs.end(),
                                [&](const RunSummary &r) { return r.name == name && !r.lrFind(); }));
}

// model.init_from a Hugging Face folder: the encoder takes its sizes from the folder's config.json, and the recorded
// config says so (lbk show, lbk compare, a duplicated config), as a fine-tune from run:REF records its pre-training
// run's. Read on this machine: a remote target's folder is only there, and its run records the file's sizes.
Experiment withCheckpointSizes(const Experiment &e, const std::string &dataRoot)
{
    const auto c = hf::readEncoderConfig(resolveDataPath(e.model.initFrom, dataRoot));
    if (!c) // pretrainedFolderProblem has said so
        return e;
    json config = e.config;
    for (const auto &size : checkpointSizes(*c))
        setValueAt(config, size.field, size.value);
    auto sized = experimentFromJson(config);
    return sized ? std::move(*sized) : e;
}

} // namespace

std::optional<std::string> pretrainedFolderProblem(const Experiment &e, const std::string &dataRoot)
{
    if (!e.model.pretrained())
        return std::nullopt;
    auto bad = checkInitFrom(e, resolveDataPath(e.model.initFrom, dataRoot));
    if (!bad)
        return std::nullopt;
    return startsAtDataRoot(e.model.initFrom)
               ? bad->message + " (a relative path starts at the data root; --data-root changes it)"
               : bad->message;
}

// model.init_from "run:REF[@STEP]" (an id, name or uid of this store) names an MLM pre-training run: the recorded
// config names it by uid and carries its encoder's sizes and tokenizer settings, so the worker, predict and export
// rebuild the same encoder and cut text as it was cut. A value the file gives otherwise is replaced, and said.
Result<Experiment> resolveInitRun(const Store &store, const Experiment &experiment, std::vector<std::string> &notes)
{
    const InitRun init = experiment.model.initRun();
    auto pre = store.run(init.ref);
    if (!pre)
        return badInput("model.init_from: no run \"" + init.ref + "\" in " + store.path().string());
    if (auto ok = checkPretrainingRun(*pre, init.ref, init.step); !ok)
        return ok.error();
    if (const auto same = trainingRunsNamed(store, init.ref); same > 1) // a name is not an id: say which it meant
        notes.push_back("model.init_from: " + std::to_string(same) + " training runs are named " + init.ref +
                        "; the newest, run " + std::to_string(pre->id) + ", is used (run:" + std::to_string(pre->id) +
                        " names it whatever else is named so)");
    auto preExperiment = experimentFromRecorded(pre->config);
    if (!preExperiment)
        return badInput("model.init_from: run " + init.ref + "'s recorded config cannot be read: " +
                        preExperiment.message());
    std::string word = std::string(kInitRunPrefix) + pre->uid;
    if (init.step == -1 && isActive(pre->status)) // its best.pt changes while it trains: the config could not say which
        return badInput("model.init_from: run " + init.ref + " is still " + toString(pre->status) +
                        ", and its best checkpoint changes as it trains; wait until it ends, or name a step it kept "
                        "(run:" + init.ref + "@STEP" + keptStepsText(*pre) + ")");
    if (init.step != -1) {
        const fs::path kept = runfiles::checkpoint(pre->runDir, runfiles::keptName(init.step));
        if (std::error_code ec; init.step < 0 || !fs::exists(kept, ec))
            return badInput("model.init_from: " + namedRun(init.ref, pre->id) + " kept no weights at step " +
                            experiment.model.initFrom.substr(experiment.model.initFrom.rfind('@') + 1) +
                            " (its evaluation.keep_checkpoints keeps checkpoints/step-N.pt at each evaluation" +
                            keptStepsText(*pre) + ")");
        word += "@" + std::to_string(init.step);
    }
    json config = experiment.config;
    config["model"]["init_from"] = word;
    const json inherited = inheritedFromPretraining(*preExperiment);
    for (const auto &[key, value] : inherited.items()) {
        // A value the file set is said when it changes; the config has every default filled in, so without the
        // file's own JSON only a value other than the field's default counts as set.
        const json given = valueAt(config, key);
        const FieldSpec *field = findField(key);
        const bool set = experiment.given.is_object() ? hasValueAt(experiment.given, key)
                                                      : !(field && given == field->defaultValue);
        if (!given.is_null() && given != value && set)
            notes.push_back(key + " " + given.dump() + " is replaced by " + value.dump() + ", as " +
                            namedRun(init.ref, pre->id) + " pre-trained the encoder");
        setValueAt(config, key, value);
    }
    // Pre-training trained the positions of its windows, [CLS] and [SEP] included; a classifier's text takes
    // max_tokens pieces after [CLS] (and before [SEP], model.append_sep), a continued pre-training windows of
    // max_tokens ids.
    const json preTokens = valueAt(pre->config, "tokenizer.max_tokens");
    const bool classifier = experiment.training.objective != TrainingObjective::Mlm;
    const int framing = classifier ? (experiment.model.appendSep ? 2 : 1) : 0;
    const int most = preTokens.is_number_integer() ? preTokens.get<int>() - framing : 0;
    if (preTokens.is_number_integer() && experiment.tokenizer.maxTokens > most)
        return badInput("model.init_from: tokenizer.max_tokens is " + std::to_string(experiment.tokenizer.maxTokens) +
                        " but " + namedRun(init.ref, pre->id) + " pre-trained on sequences of " +
                        std::to_string(preTokens.get<int>()) + " ids, [CLS] and [SEP] included" +
                        (framing == 2 ? ", which a text's pieces and those two must fit"
                         : framing == 1 ? ", which a text's pieces and its [CLS] must fit"
                                        : std::string()) +
                        ": lower it to " + std::to_string(most) + " (positions beyond were never trained)");
    return experimentFromJson(config);
}

Result<Launched> launch(Store &store, const Target &target, const Experiment &original, const LaunchRequest &request,
                        const Progress &progress)
{
    Experiment experiment = original;
    if (original.model.initFromRun()) {
        std::vector<std::string> notes;
        auto resolved = resolveInitRun(store, original, notes);
        if (!resolved)
            return resolved.error();
        experiment = std::move(*resolved);
        for (const auto &note : notes)
            if (progress)
                progress("note: " + note);
    }
    if (target.remote()) {
        auto run = launchRemoteRun(store, target, experiment, request, progress ? progress : [](const std::string &) {});
        if (!run)
            return run.error();
        return Launched{std::move(*run), std::nullopt};
    }
    if (auto engine = workerProgramsAvailable(); !engine) // before the run exists: no run that never could start
        return engine.error();
    if (auto bad = pretrainedFolderProblem(experiment, request.dataRoot))
        return badInput(*bad);
    // Data that is not here, said before a run exists (found by an audit: a pattern that matched nothing left a
    // failed run behind, where a bad model.init_from folder left none).
    if (const std::string missing = dataNotHere(experiment.data.paths, request.dataRoot); !missing.empty())
        return badInput(missing + "; nothing was recorded");
    if (experiment.model.pretrained())
        experiment = withCheckpointSizes(experiment, request.dataRoot);
    auto run = createLocalRun(store, experiment, request);
    if (!run)
        return run.error();
    auto worker = startLocalWorker(store, *run, request, false);
    if (!worker) {
        (void)store.setStatus(run->id, RunStatus::Failed, worker.message());
        return worker.error();
    }
    return Launched{std::move(*run), *worker};
}

namespace {

// A journal shorter than what the store has read from it was cut or replaced: a resumed worker would append to
// it, and the store, which reads on from where it stopped, would take the middle of a line and lose what follows.
Status journalHoldsWhatWasStored(const Store &store, const RunSummary &run)
{
    const int64_t read = store.cursor(run.id).offset;
    std::error_code ec;
    const auto size = fs::file_size(journalPath(run), ec);
    if (ec || int64_t(size) >= read)
        return okStatus();
    return badInput("run " + std::to_string(run.id) + ": its journal " + journalPath(run).string() + " is " +
                    std::to_string(size) + " bytes, shorter than the " + std::to_string(read) + " bytes the store has "
                    "read from it (cut or replaced); a resume would append to it and lose what it records. Put the "
                    "whole journal back, or start a new run (the store keeps what it read)");
}

} // namespace

Result<Resumed> resume(Store &store, const Target &target, const RunDetail &run, const LaunchRequest &request)
{
    if (auto intact = journalHoldsWhatWasStored(store, run); !intact)
        return intact.error();
    if (!target.remote()) {
        if (auto engine = workerProgramsAvailable(); !engine)
            return engine.error();
        auto worker = resumeLocalRun(store, run, request);
        if (!worker)
            return badInput(worker.message());
        return Resumed{true, *worker};
    }
    // A remote run still going (the connection dropped, or lbk was stopped) is only followed again.
    if (isActive(run.status))
        return Resumed{false, std::nullopt};
    if (auto st = resumeRemoteRun(store, target, run, request); !st)
        return badInput(st.message());
    return Resumed{true, std::nullopt};
}

Result<std::string> cancel(Store &store, const Target &target, const RunSummary &run)
{
    if (!isActive(run.status))
        return badInput("run " + std::to_string(run.id) + " is " + toString(run.status) + ", not running");
    return cancelRun(store, target, run);
}

Status remove(Store &store, const RunSummary &run)
{
    if (isActive(run.status))
        return badInput("run " + std::to_string(run.id) + " is still " + toString(run.status) + "; cancel it first");
    if (auto st = store.deleteRun(run.id); !st)
        return st;
    std::error_code ec;
    if (!run.runDir.empty() && fs::path(run.runDir).parent_path() == store.runsRoot())
        fs::remove_all(run.runDir, ec);
    return Unit{};
}

} // namespace lbk::usecase
