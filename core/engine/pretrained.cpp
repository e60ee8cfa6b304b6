#include "engine/pretrained.h"

#include <fstream>

#include "data/dataset.h"
#include "experiment/checkpointfit.h"
#include "experiment/schema.h"
#include "hf/storedtensors.h"

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

Status writeRunCopy(const PretrainedEncoder &p, const fs::path &hfDir)
{
    std::error_code ec;
    fs::create_directories(hfDir, ec);
    if (ec)
        return Error{hfDir.string() + ": cannot create the folder: " + ec.message()};
    std::ofstream out(hfDir / "config.json");
    out << p.config.raw.dump(2) << '\n';
    if (!out)
        return Error{(hfDir / "config.json").string() + ": cannot write"};
    return p.tokenizer->save(hfDir, p.config.maxTokens());
}

} // namespace

Result<PretrainedEncoder> openPretrained(const Experiment &e, const std::string &dataRoot, const fs::path &runDir)
{
    const fs::path folder = resolveDataPath(e.model.initFrom, dataRoot);
    auto inspected = hf::inspectCheckpointFolder(folder);
    if (!inspected)
        return Error{inspected.error().message, true};
    if (!inspected->weights)
        return badInput(folder.string() + ": model.init_from holds no weights (model.safetensors or pytorch_model.bin)");
    PretrainedEncoder p;
    p.config = inspected->config;
    p.folder = std::move(*inspected);
    if (auto bad = checkpointContradictions(e, p.config, (folder / "config.json").string()))
        return badInput(*bad);
    // The weights files as lbk validate checks them (hf/storedtensors), before loading: the same messages.
    if (auto weights = hf::checkWeightsFiles(*p.folder, e.model.allowMissingWeights); !weights)
        return weights.error();
    auto tok = hf::loadHfTokenizer(folder);
    if (!tok)
        return Error{tok.error().message, true};
    p.tokenizer = std::move(*tok);
    if (auto vocab = checkTokenizerFits(*p.tokenizer, p.config, folder); !vocab)
        return vocab.error();
    if (auto copied = writeRunCopy(p, runHfDir(runDir)); !copied)
        return copied.error();
    return p;
}

Result<PretrainedEncoder> readRunPretrained(const fs::path &hfDir)
{
    auto config = hf::readEncoderConfig(hfDir);
    if (!config)
        return config.error();
    auto tok = hf::loadHfTokenizer(hfDir);
    if (!tok)
        return tok.error();
    PretrainedEncoder p;
    p.config = std::move(*config);
    p.tokenizer = std::move(*tok);
    return p;
}

Result<PretrainedEncoder> prepareRunPretrained(const Experiment &e, const std::string &dataRoot, const fs::path &runDir,
                                               bool continuing)
{
    const fs::path hfDir = runHfDir(runDir);
    if (continuing && fs::exists(hfDir / "config.json"))
        return readRunPretrained(hfDir);
    return openPretrained(e, dataRoot, runDir);
}

std::string describeEncoder(const PretrainedEncoder &p, const std::string &initFrom)
{
    const hf::EncoderConfig &c = p.config;
    return std::string(hf::familyName(c.family)) + ": " + std::to_string(c.layers) + " layers, hidden " +
           std::to_string(c.hiddenSize) + ", " + p.tokenizer->kind() + " vocabulary of " +
           std::to_string(p.tokenizer->vocabSize()) + (p.folder ? " from " + initFrom : " (the run's copy)");
}

} // namespace lbk
