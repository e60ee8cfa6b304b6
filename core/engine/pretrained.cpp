#include "engine/pretrained.h"

#include <fstream>

#include "data/dataset.h"
#include "experiment/schema.h"

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

std::optional<std::string> contradictions(const Experiment &e, const hf::EncoderConfig &c, const std::string &where)
{
    struct Size {
        const char *field, *key;
        int value;
    };
    const Size sizes[] = {{"model.layers", "num_hidden_layers", c.layers},
                          {"model.embedding_dim", "hidden_size", c.hiddenSize},
                          {"model.heads", "num_attention_heads", c.heads},
                          {"model.hidden", "intermediate_size", c.intermediateSize}};
    std::string msg;
    for (const auto &s : sizes) {
        // The recorded config has every default filled in: a value other than the field's default was set.
        const json set = valueAt(e.config, s.field);
        const FieldSpec *f = findField(s.field);
        if (set.is_number_integer() && f && set != f->defaultValue && set.get<int>() != s.value)
            msg += std::string(msg.empty() ? "" : "; ") + s.field + " is " + std::to_string(set.get<int>()) +
                   " but " + where + " has " + s.key + " " + std::to_string(s.value);
    }
    if (e.tokenizer.maxTokens > c.maxTokens())
        msg += std::string(msg.empty() ? "" : "; ") + "tokenizer.max_tokens is " +
               std::to_string(e.tokenizer.maxTokens) + " but " + where + " has position embeddings for " +
               std::to_string(c.maxTokens()) + " tokens (max_position_embeddings " + std::to_string(c.maxPositions) +
               ")";
    if (msg.empty())
        return std::nullopt;
    return msg + " (remove the model fields to take the checkpoint's sizes)";
}

namespace {

Status checkVocabulary(const PretrainedEncoder &p, const fs::path &folder)
{
    if (p.tokenizer->vocabSize() <= p.config.vocabSize)
        return okStatus();
    return badInput((folder / "config.json").string() + ": vocab_size " + std::to_string(p.config.vocabSize) +
                    " is smaller than the tokenizer's " + std::to_string(p.tokenizer->vocabSize()) +
                    " pieces (" + p.tokenizer->kind() + " in " + folder.string() +
                    "): the folder's tokenizer and weights do not belong together");
}

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
    return p.tokenizer->save(hfDir);
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
    if (auto bad = contradictions(e, p.config, (folder / "config.json").string()))
        return badInput(*bad);
    auto tok = hf::loadHfTokenizer(folder);
    if (!tok)
        return Error{tok.error().message, true};
    p.tokenizer = std::move(*tok);
    if (auto vocab = checkVocabulary(p, folder); !vocab)
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

} // namespace lbk
