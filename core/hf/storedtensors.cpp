#include "hf/storedtensors.h"

#include <charconv>
#include <map>
#include <optional>
#include <set>

#include "hf/pytorchbin.h"
#include "hf/safetensors.h"

namespace lbk::hf {

namespace fs = std::filesystem;

namespace {

Status addSafetensors(const fs::path &file, std::vector<StoredTensor> &out)
{
    auto st = SafetensorsFile::open(file);
    if (!st)
        return st.error();
    for (const auto &t : (*st)->header().tensors)
        out.push_back({file, t.name, std::string(dtypeName(t.dtype)), t.dtype != DType::I64, t.shape});
    return okStatus();
}

Status addPytorchBin(const fs::path &file, std::vector<StoredTensor> &out)
{
    auto bin = PytorchBin::open(file);
    if (!bin)
        return bin.error();
    const auto &dict = (*bin)->dict();
    for (const auto &t : dict.tensors) {
        const std::string &type = dict.storages.at(t.storage).type;
        out.push_back({file, t.name, type, isFloatingStorage(type), t.shape});
    }
    return okStatus();
}

// A backbone tensor's name without the family's prefix ("embeddings...", "encoder.layer..."); "" for the heads'
// and another family's tensors.
std::string backboneName(const std::string &name, const std::string &prefix)
{
    const std::string bare = name.starts_with(prefix) ? name.substr(prefix.size()) : name;
    return bare.starts_with("embeddings.") || bare.starts_with("encoder.") ? bare : std::string();
}

// "encoder.layer.N.REST": N, and REST in `rest`.
std::optional<int> layerOf(const std::string &bare, std::string &rest)
{
    static const std::string head = "encoder.layer.";
    if (!bare.starts_with(head))
        return std::nullopt;
    int n = -1;
    const char *begin = bare.data() + head.size(), *end = bare.data() + bare.size();
    const auto [p, ec] = std::from_chars(begin, end, n);
    if (ec != std::errc() || p == end || *p != '.' || n < 0)
        return std::nullopt;
    rest = std::string(p + 1, end);
    return n;
}

// The shape config.json gives the backbone tensors checked here; nothing for the others.
std::optional<std::vector<int64_t>> configShape(const EncoderConfig &c, const std::string &bare)
{
    const int64_t h = c.hiddenSize;
    static const std::map<std::string, int EncoderConfig::*> embeddings = {
        {"embeddings.word_embeddings.weight", &EncoderConfig::vocabSize},
        {"embeddings.position_embeddings.weight", &EncoderConfig::maxPositions},
        {"embeddings.token_type_embeddings.weight", &EncoderConfig::typeVocabSize}};
    if (const auto it = embeddings.find(bare); it != embeddings.end())
        return std::vector<int64_t>{c.*(it->second), h};
    std::string rest;
    if (!layerOf(bare, rest))
        return std::nullopt;
    if (rest == "attention.self.query.weight" || rest == "attention.output.dense.weight")
        return std::vector<int64_t>{h, h};
    if (rest == "intermediate.dense.weight")
        return std::vector<int64_t>{c.intermediateSize, h};
    if (rest == "output.dense.weight")
        return std::vector<int64_t>{h, c.intermediateSize};
    return std::nullopt;
}

std::string sizesNote(const EncoderConfig &c)
{
    return "vocab_size " + std::to_string(c.vocabSize) + ", hidden_size " + std::to_string(c.hiddenSize) +
           ", intermediate_size " + std::to_string(c.intermediateSize) + ", max_position_embeddings " +
           std::to_string(c.maxPositions);
}

} // namespace

std::string shapeText(const std::vector<int64_t> &shape)
{
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

Result<std::vector<StoredTensor>> readStoredTensors(const CheckpointFolder &folder)
{
    std::vector<StoredTensor> out;
    for (const auto &file : folder.weightFiles()) {
        const Status read = folder.weights == WeightsFormat::PytorchBin ? addPytorchBin(file, out)
                                                                         : addSafetensors(file, out);
        if (!read)
            return read.error();
    }
    return out;
}

namespace {

// What the backbone's tensors showed, for the checks of what is missing.
struct Seen {
    std::set<int> layers;
    std::set<std::string> otherPrefixes; // "bert." of a file read under a roberta config
    bool wordEmbeddings = false;
    size_t backbone = 0;
};

// Each backbone tensor against config.json (a float weight of the shape its sizes give), and what was seen.
Result<Seen> scanTensors(const CheckpointFolder &folder, const std::vector<StoredTensor> &tensors)
{
    const EncoderConfig &c = folder.config;
    const std::string prefix = std::string(familyName(c.family)) + ".";
    Seen seen;
    for (const auto &t : tensors) {
        const std::string bare = backboneName(t.name, prefix);
        if (bare.empty() && t.name.find('.') != std::string::npos)
            seen.otherPrefixes.insert(t.name.substr(0, t.name.find('.') + 1));
        if (bare.empty() || bare.ends_with("position_ids") || bare.ends_with("token_type_ids"))
            continue; // a head (replaced when it does not fit) or a buffer transformers ignores
        ++seen.backbone;
        if (!t.floating)
            return badInput(t.file.string() + ": '" + t.name + "' holds integers (" + t.dtype +
                            "), not a weight: the checkpoint is damaged or not an encoder's");
        if (const auto want = configShape(c, bare); want && *want != t.shape)
            return badInput(t.file.string() + ": '" + t.name + "' has shape " + shapeText(t.shape) + " but " +
                            (folder.folder / "config.json").string() + " needs " + shapeText(*want) + " (" +
                            sizesNote(c) + "): the weights are another model's, or config.json is");
        std::string rest;
        if (const auto n = layerOf(bare, rest))
            seen.layers.insert(*n);
        seen.wordEmbeddings |= bare == "embeddings.word_embeddings.weight";
    }
    return seen;
}

// The layers config.json promises that the file does not hold: "layer 1", "layers 2, 3", or empty.
std::string missingLayers(const EncoderConfig &c, const Seen &seen)
{
    std::string list;
    int count = 0;
    for (int n = 0; n < c.layers; ++n)
        if (!seen.layers.count(n)) {
            list += (list.empty() ? "" : ", ") + std::to_string(n);
            ++count;
        }
    return count == 0 ? "" : (count == 1 ? "layer " : "layers ") + list;
}

// Nothing of the encoder (always an error: model.allow_missing_weights would train a random one), or, unless
// allowed, the word embeddings or a layer config.json promises.
Status checkMissing(const CheckpointFolder &folder, const Seen &seen, bool allowMissing)
{
    const EncoderConfig &c = folder.config;
    const std::string family(familyName(c.family));
    const std::string file = folder.weightsPath.string();
    if (seen.backbone == 0) {
        std::string held;
        for (const auto &p : seen.otherPrefixes)
            held += (held.empty() ? "" : ", ") + p + "*";
        return badInput(file + ": none of its tensors is a weight of a " + family + " encoder (config.json's "
                        "model_type); it holds " + (held.empty() ? "no encoder" : held) + " tensors: config.json "
                        "is another model's, or the weights are");
    }
    if (allowMissing)
        return okStatus();
    if (!seen.wordEmbeddings)
        return badInput(file + ": no " + family + ".embeddings.word_embeddings.weight: not the weights of a " + family +
                        " encoder (config.json's model_type) (set model.allow_missing_weights to start what is "
                        "missing at random)");
    if (const std::string layers = missingLayers(c, seen); !layers.empty())
        return badInput(file + ": holds no weights of encoder " + layers + " where config.json has "
                        "num_hidden_layers " + std::to_string(c.layers) + " (the file has " +
                        std::to_string(seen.layers.size()) + (seen.layers.size() == 1 ? " layer" : " layers") +
                        "; set model.allow_missing_weights to start the missing ones at random)");
    return okStatus();
}

} // namespace

Status checkStoredTensors(const CheckpointFolder &folder, const std::vector<StoredTensor> &tensors,
                          bool allowMissing)
{
    auto seen = scanTensors(folder, tensors);
    if (!seen)
        return seen.error();
    return checkMissing(folder, *seen, allowMissing);
}

Result<std::string> weightsLeftOut(const CheckpointFolder &folder)
{
    auto tensors = readStoredTensors(folder);
    if (!tensors)
        return tensors.error();
    auto seen = scanTensors(folder, *tensors);
    if (!seen)
        return seen.error();
    std::string out;
    if (!seen->wordEmbeddings)
        out = "the word embeddings";
    if (const std::string layers = missingLayers(folder.config, *seen); !layers.empty())
        out += (out.empty() ? "" : " and ") + std::string("encoder ") + layers;
    return out;
}

Status checkWeightsFiles(const CheckpointFolder &folder, bool allowMissing)
{
    auto tensors = readStoredTensors(folder);
    if (!tensors)
        return tensors.error();
    return checkStoredTensors(folder, *tensors, allowMissing);
}

} // namespace lbk::hf
