#include "engine/loadedmodel.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "engine/checkpoint.h"
#include "engine/optim.h"
#include "experiment/schema.h"
#include "store/runfiles.h"
#include "util/filebytes.h"
#include "util/sha256.h"

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<float> LoadedModel::probabilities(const std::vector<const std::vector<int> *> &tokens) const
{
    torch::NoGradGuard noGrad;
    Batch b = makeInputs(tokens, inputs, torch::kCPU);
    torch::Tensor logits;
    {
        AutocastGuard autocast(bf16, /*cuda=*/false);
        logits = model->forward(b).to(torch::kFloat);
    }
    auto p = (kind == TaskKind::MultiClass ? torch::softmax(logits, 1) : torch::sigmoid(logits)).contiguous();
    return std::vector<float>(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
}

void LoadedModel::choosePrecision(const std::string &asked, const std::function<void(const std::string &)> &warn)
{
    const bool want = asked == "bf16" || (asked == "auto" && trainedPrecision == "bf16");
    bf16 = want && cpuHasNativeBf16();
    if (want && !bf16 && warn)
        warn(std::string(asked == "bf16" ? "--precision bf16" : "the run trained in bf16") +
             ", but this CPU has no native bfloat16 arithmetic (avx512_bf16 or amx_bf16): scoring in fp32");
}

namespace {

Result<std::vector<std::string>> readLabels(const fs::path &file)
{
    auto j = readJsonFile(file);
    if (!j)
        return j.error();
    if (!j->is_array() || !std::all_of(j->begin(), j->end(), [](const json &v) { return v.is_string(); }))
        return Error{file.string() + ": expected a JSON array of label names (strings)"};
    return j->get<std::vector<std::string>>();
}

// The tokenizer a run or export folder holds: tokenizer.model, or a fine-tuned checkpoint's in hf/.
Status loadTokenizer(LoadedModel &m, const fs::path &folder)
{
    if (m.exp.model.pretrained()) {
        auto p = readRunPretrained(runHfDir(folder));
        if (!p)
            return p.error();
        m.pretrained = std::move(*p);
        m.tokenizer = hfTextEncoder(m.pretrained->tokenizer, m.exp.tokenizer.maxTokens);
        return Unit{};
    }
    auto tok = Tokenizer::load(folder / runfiles::kTokenizer, m.exp.tokenizer);
    if (!tok)
        return tok.error();
    m.tokenizer = std::move(*tok);
    return Unit{};
}

// Model, tokenizer and labels, without the weights.
Result<std::unique_ptr<LoadedModel>> buildModel(const json &config, const fs::path &folder, const fs::path &labelsFile)
{
    auto exp = experimentFromRecorded(config);
    if (!exp)
        return exp.error();
    if (exp->training.objective == TrainingObjective::Mlm)
        return badInput(folder.string() + " holds a masked-language-model pre-training run, which predicts no "
                        "labels: fine-tune a classifier from it (model.init_from \"run:ID\") to score papers, or "
                        "export its encoder with --format hf");
    auto m = std::make_unique<LoadedModel>();
    m->exp = std::move(*exp);
    if (auto tok = loadTokenizer(*m, folder); !tok)
        return tok.error();
    auto labels = readLabels(labelsFile);
    if (!labels)
        return labels.error();
    m->labels = std::move(*labels);
    m->kind = m->exp.labels.kind;
    m->rows = tokenRowsFor(m->exp.model, m->tokenizer->vocabSize());
    m->outputs = int(m->width());
    m->model = makeModel(m->exp.model, m->rows.vocab, m->outputs, m->exp.tokenizer.maxTokens, false,
                         m->pretrained ? &m->pretrained->config : nullptr);
    m->model->eval();
    m->inputs = inputSpecFor(m->exp.model, m->rows, m->tokenizer->pieceTexts());
    return m;
}

// The journal's latest run_started event (a resumed run starts again), or an empty object.
json latestRunStarted(const fs::path &journal)
{
    std::ifstream in(journal);
    std::string line;
    json started = json::object();
    while (std::getline(in, line)) {
        if (line.find("\"run_started\"") == std::string::npos)
            continue;
        auto e = json::parse(line, nullptr, false);
        if (!e.is_discarded() && e.value("type", "") == "run_started")
            started = std::move(e);
    }
    return started;
}

Result<std::unique_ptr<LoadedModel>> loadFromRunDir(const fs::path &runDir)
{
    // A run trained on a target: its folder here holds the journal until lbk pull brings the rest.
    std::error_code ec;
    const bool tokenizer =
        fs::exists(runDir / runfiles::kTokenizer, ec) || fs::exists(runDir / runfiles::kHfFolder, ec);
    const bool weights = fs::exists(runfiles::checkpoint(runDir, "best"), ec) ||
                         fs::exists(runfiles::checkpoint(runDir, "last"), ec);
    if (fs::exists(runDir / runfiles::kRemoteInfo, ec) && (!tokenizer || !weights))
        return badInput(runDir.string() + ": the run trained on another machine and its checkpoint or tokenizer is "
                        "still there: `lbk pull RUN` copies them here");
    // Said before the model is built from the folder's files (found by an audit: a run that failed before training
    // was refused with sentencepiece's "Not found" of its tokenizer.model, a deleted folder by its experiment.json).
    if (!fs::is_directory(runDir, ec))
        return badInput(runDir.string() + ": the run's folder is gone (deleted or moved), so it has no model to load");
    if (!weights)
        return badInput(runDir.string() + ": no checkpoints/best.pt or last.pt: the run has written none (best.pt "
                        "comes with its first evaluation; a run that failed before training has none), or they were "
                        "deleted");
    auto cfg = readJsonFile(runDir / runfiles::kExperiment);
    if (!cfg)
        return cfg.error();
    auto m = buildModel(*cfg, runDir, runDir / runfiles::kLabels);
    if (!m)
        return m.error();
    LoadedModel &lm = **m;
    const json started = latestRunStarted(runDir / runfiles::kJournal);
    lm.trainedPrecision = started.value("precision", std::string("fp32"));
    lm.runData = started.value("data", json::object());
    for (const char *kind : {"best", "last"}) {
        CheckpointCounters counters;
        if (loadCheckpoint(runfiles::checkpoint(runDir, kind), *lm.model, torch::kCPU, nullptr, &counters)) {
            lm.step = counters.step;
            lm.checkpoint = kind;
            if (lm.checkpoint == "last") // best.pt comes with the first evaluation; a run with some lost it
                lm.checkpointNote = runfiles::checkpoint(runDir, "best").string() + " is missing (deleted, or the run "
                                    "has not evaluated yet): scoring the last checkpoint, step " +
                                    std::to_string(lm.step) + ", instead of the best";
            return m;
        }
    }
    return Error{runDir.string() + ": no checkpoints/best.pt or last.pt: they were deleted meanwhile"};
}

std::string shapeText(c10::IntArrayRef sizes)
{
    std::string text;
    for (const auto n : sizes)
        text += (text.empty() ? "" : ", ") + std::to_string(n);
    return "[" + text + "]";
}

// weights.pt (a pickled dict of name -> tensor, as torch.save writes a state dict) into the model built from the
// card. Throws c10::Error for a file that is not such a pickle.
Status loadExportWeights(const fs::path &weights, torch::nn::Module &model)
{
    const auto read = readFileBytes(weights);
    if (!read)
        return Error{"cannot read the weights: " + read.message()};
    const std::vector<char> bytes(read->begin(), read->end());
    const auto dict = torch::pickle_load(bytes).toGenericDict();
    torch::NoGradGuard noGrad;
    auto copyFrom = [&](const std::string &name, torch::Tensor &dst) -> Status {
        auto it = dict.find(name);
        if (it == dict.end())
            return Error{weights.string() + ": no tensor named '" + name + "'"};
        const auto src = it->value().toTensor();
        if (src.sizes() != dst.sizes()) // the card, tokenizer and labels built a model of other sizes
            return Error{weights.string() + ": '" + name + "' is " + shapeText(src.sizes()) + ", but the model that " +
                         "model.json, the tokenizer and labels.json describe wants " + shapeText(dst.sizes())};
        dst.copy_(src);
        return Unit{};
    };
    for (auto &p : model.named_parameters())
        if (auto ok = copyFrom(p.key(), p.value()); !ok)
            return ok.error();
    for (auto &b : model.named_buffers())
        if (auto ok = copyFrom(b.key(), b.value()); !ok)
            return ok.error();
    return okStatus();
}

// The tokenizer and labels an export was written with, by the checksums its card holds (exports before them: the
// card's label list): a file swapped or edited since would score with the wrong pieces or names, without a word.
Status checkExportFiles(const fs::path &dir, const json &card)
{
    const json sums = card.value("file_checksums", json::object());
    if (!sums.is_object())
        return Error{(dir / "model.json").string() + ": \"file_checksums\" is not an object of file -> sha256"};
    for (const auto &[name, sum] : sums.items()) {
        std::error_code ec;
        if (!fs::exists(dir / name, ec))
            return Error{(dir / name).string() + ": missing; the model was exported with it (model.json lists it)"};
        const std::string now = sha256File(dir / name);
        if (now.empty())
            return Error{(dir / name).string() + ": cannot be read (" + std::strerror(errno) + ")"};
        if (!sum.is_string() || now != sum.get<std::string>())
            return Error{(dir / name).string() + ": not the file the model was exported with (its sha256 differs from "
                         "the one in model.json): replaced, edited or damaged; export the run again"};
    }
    if (const json listed = card.value("labels", json()); listed.is_array()) {
        auto labels = readLabels(dir / runfiles::kLabels);
        if (labels && json(*labels) != listed) {
            size_t i = 0;
            while (i < labels->size() && i < listed.size() && json((*labels)[i]) == listed[i])
                ++i;
            const std::string how = labels->size() != listed.size()
                                        ? std::to_string(labels->size()) + " names where model.json has " +
                                              std::to_string(listed.size())
                                        : "label " + std::to_string(i) + " is \"" + (*labels)[i] +
                                              "\" where model.json has " + listed[i].dump();
            return Error{(dir / runfiles::kLabels).string() + ": its labels differ from the ones in model.json (" +
                         how + "): the file was edited; put back the labels the model was trained on"};
        }
    }
    return okStatus();
}

Result<std::unique_ptr<LoadedModel>> loadFromExport(const fs::path &dir)
{
    auto card = readJsonFile(dir / "model.json");
    if (!card)
        return card.error();
    if (card->value("format", "") != "labbook-model")
        return Error{(dir / "model.json").string() + ": not a Labbook model card (\"format\": \"labbook-model\")"};
    if (auto files = checkExportFiles(dir, *card); !files)
        return files.error();
    auto m = buildModel(card->value("experiment", json::object()), dir, dir / runfiles::kLabels);
    if (!m)
        return m.error();
    const fs::path weights = dir / "weights.pt";
    try {
        if (auto ok = loadExportWeights(weights, *(*m)->model); !ok)
            return ok.error();
    } catch (const c10::Error &e) {
        return Error{weights.string() + ": cannot be read as the export's weights: it is damaged or truncated (" +
                     e.what_without_backtrace() + ")"};
    }
    if (const auto written = card->value("weights_checksum", std::string());
        !written.empty() && written != weightsChecksumText(*(*m)->model))
        return Error{weights.string() + ": its weights do not match the checksum in model.json: the file is damaged"};
    (*m)->checkpoint = "export";
    (*m)->step = card->value("step", int64_t(0));
    return m;
}

} // namespace

bool isExportFolder(const fs::path &folder)
{
    std::error_code ec;
    return fs::is_directory(folder, ec) && fs::exists(folder / "model.json", ec);
}

Result<std::unique_ptr<LoadedModel>> loadModel(const fs::path &folder)
{
    return isExportFolder(folder) ? loadFromExport(folder) : loadFromRunDir(folder);
}

} // namespace lbk
