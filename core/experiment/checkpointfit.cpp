#include "experiment/checkpointfit.h"

#include "experiment/schema.h"
#include "hf/storedtensors.h"

namespace lbk {

using nlohmann::json;

std::vector<CheckpointSize> checkpointSizes(const hf::EncoderConfig &c)
{
    return {{"model.layers", "num_hidden_layers", c.layers},
            {"model.embedding_dim", "hidden_size", c.hiddenSize},
            {"model.heads", "num_attention_heads", c.heads},
            {"model.hidden", "intermediate_size", c.intermediateSize}};
}

std::optional<std::string> checkpointContradictions(const Experiment &e, const hf::EncoderConfig &c,
                                                    const std::string &where)
{
    std::string msg;
    for (const auto &s : checkpointSizes(c)) {
        // The recorded config has every default filled in: a value other than the field's default was set.
        const json set = valueAt(e.config, s.field);
        const FieldSpec *f = findField(s.field);
        if (set.is_number_integer() && f && set != f->defaultValue && set.get<int>() != s.value)
            msg += std::string(msg.empty() ? "" : "; ") + s.field + " is " + std::to_string(set.get<int>()) +
                   " but " + where + " has " + s.key + " " + std::to_string(s.value);
    }
    if (!msg.empty())
        msg += " (remove the model fields to take the checkpoint's sizes)";
    if (e.tokenizer.maxTokens > c.maxTokens())
        msg += std::string(msg.empty() ? "" : "; ") + "tokenizer.max_tokens is " +
               std::to_string(e.tokenizer.maxTokens) + " but " + where + " has position embeddings for " +
               std::to_string(c.maxTokens()) + " tokens (max_position_embeddings " + std::to_string(c.maxPositions) +
               "): lower tokenizer.max_tokens to " + std::to_string(c.maxTokens()) + " or less";
    if (msg.empty())
        return std::nullopt;
    return msg;
}

Status checkTokenizerFits(const hf::HfTokenizer &tokenizer, const hf::EncoderConfig &c,
                          const std::filesystem::path &folder)
{
    if (tokenizer.vocabSize() <= c.vocabSize)
        return okStatus();
    return badInput((folder / "config.json").string() + ": vocab_size " + std::to_string(c.vocabSize) +
                    " is smaller than the tokenizer's " + std::to_string(tokenizer.vocabSize()) + " pieces (" +
                    tokenizer.kind() + " in " + folder.string() +
                    "): the folder's tokenizer and weights do not belong together");
}

std::optional<std::string> checkpointProblem(const Experiment *e, const hf::CheckpointFolder &folder,
                                             const std::string &configWhere)
{
    std::vector<std::string> found; // all of them at once: fixing one should not reveal the next
    if (e)
        if (auto bad = checkpointContradictions(*e, folder.config, configWhere))
            found.push_back(*bad);
    if (auto weights = hf::checkWeightsFiles(folder, e && e->model.allowMissingWeights); !weights)
        found.push_back(weights.message());
    auto tokenizer = hf::loadHfTokenizer(folder.folder);
    if (!tokenizer)
        found.push_back(tokenizer.message());
    else if (auto fits = checkTokenizerFits(**tokenizer, folder.config, folder.folder); !fits)
        found.push_back(fits.message());
    if (found.empty())
        return std::nullopt;
    std::string all = found.front();
    for (size_t i = 1; i < found.size(); ++i)
        all += "; " + found[i];
    return all;
}

std::optional<std::string> leftAtRandomNote(const Experiment &e, const hf::CheckpointFolder &folder)
{
    if (!e.model.allowMissingWeights)
        return std::nullopt;
    auto missing = hf::weightsLeftOut(folder); // a file that cannot be read is checkpointProblem's to say
    if (!missing || missing->empty())
        return std::nullopt;
    return "model.allow_missing_weights: the run starts " + *missing + " at random (not in " +
           folder.weightsPath.string() + ")";
}

std::optional<ValidationIssue> checkInitFrom(const Experiment &e, const std::filesystem::path &folder)
{
    auto checkpoint = hf::inspectCheckpointFolder(folder);
    if (!checkpoint)
        return ValidationIssue{"model.init_from", "model.init_from: " + checkpoint.message()};
    if (auto bad = checkpointProblem(&e, *checkpoint, (folder / "config.json").string()))
        return ValidationIssue{"model.init_from", bad->starts_with("model.") ? *bad : "model.init_from: " + *bad};
    return std::nullopt;
}

} // namespace lbk
