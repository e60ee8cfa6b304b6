// config.json of BERT-family checkpoints: read with checks a user can act on, written back for an export; and what a
// checkpoint folder holds.
#include "hf/encoderconfig.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

namespace lbk::hf {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr uintmax_t kMaxConfigBytes = 16u << 20; // a config.json is a few kB; anything this big is not one
constexpr size_t kMaxListedFiles = 12;           // files named when a folder has no weights

// Thrown by ConfigReader at the first problem; caught in encoderConfigFromJson.
struct ConfigError {
    std::string message;
};

// The activations by the names transformers gives them in hidden_act (ACT2FN), with the same maths.
struct ActivationName {
    std::string_view name;
    Activation activation;
};
constexpr ActivationName kActivations[] = {
    {"gelu", Activation::GeluErf},       {"gelu_python", Activation::GeluErf},
    {"gelu_new", Activation::GeluTanh},  {"gelu_pytorch_tanh", Activation::GeluTanh},
    {"gelu_fast", Activation::GeluTanh}, // the same tanh approximation, written differently
    {"relu", Activation::Relu},
};

class ConfigReader {
public:
    ConfigReader(const json &j, const std::string &where) : m_j(j), m_where(where) {}

    [[noreturn]] void fail(const std::string &what) const { throw ConfigError{m_where + ": " + what}; }

    const json *find(const char *key) const
    {
        const auto it = m_j.find(key);
        return it == m_j.end() || it->is_null() ? nullptr : &*it;
    }

    // An integer at least `min`; `fallback` when the key is absent, else the key is required.
    int integer(const char *key, int min, std::optional<int> fallback = std::nullopt) const
    {
        const json *v = find(key);
        if (!v) {
            if (fallback)
                return *fallback;
            fail(std::string(key) + " is missing");
        }
        const std::string kind = min > 0 ? "a positive integer" : "a non-negative integer";
        if (!v->is_number_integer())
            fail(std::string(key) + " must be " + kind + ", not " + v->dump());
        const int64_t n =
            v->is_number_unsigned() ? int64_t(std::min<uint64_t>(v->get<uint64_t>(), INT64_MAX)) : v->get<int64_t>();
        if (n < min || n > std::numeric_limits<int>::max())
            fail(std::string(key) + " must be " + kind + ", not " + v->dump());
        return int(n);
    }

    // A number in [min, max) (or (0, max) when min is 0 and zero is excluded).
    double number(const char *key, double fallback, double min, double max, bool zeroAllowed) const
    {
        const json *v = find(key);
        if (!v)
            return fallback;
        const std::string range =
            zeroAllowed ? "a number from 0 up to " + fmt(max) : "a positive number below " + fmt(max);
        if (!v->is_number())
            fail(std::string(key) + " must be " + range + ", not " + v->dump());
        const double x = v->get<double>();
        if (!(x >= min && x < max) || (!zeroAllowed && x == 0))
            fail(std::string(key) + " must be " + range + ", not " + v->dump());
        return x;
    }

    bool boolean(const char *key, bool fallback) const
    {
        const json *v = find(key);
        if (!v)
            return fallback;
        if (!v->is_boolean())
            fail(std::string(key) + " must be true or false, not " + v->dump());
        return v->get<bool>();
    }

    std::string string(const char *key, const std::string &fallback) const
    {
        const json *v = find(key);
        if (!v)
            return fallback;
        if (!v->is_string())
            fail(std::string(key) + " must be a string, not " + v->dump());
        return v->get<std::string>();
    }

private:
    static std::string fmt(double x)
    {
        std::ostringstream out;
        out << x;
        return out.str();
    }

    const json &m_j;
    const std::string &m_where;
};

// "0": "LABEL_0", "1": "LABEL_1" -> the labels by id; the ids must be 0..n-1.
std::vector<std::string> readId2Label(const ConfigReader &r)
{
    const json *v = r.find("id2label");
    if (!v)
        return {};
    if (!v->is_object())
        r.fail("id2label must be an object of \"id\": \"label\", not " + v->dump());
    std::vector<std::pair<int, std::string>> byId;
    for (auto it = v->begin(); it != v->end(); ++it) {
        const std::string &key = it.key();
        int id = -1;
        const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
        if (ec != std::errc() || end != key.data() + key.size() || id < 0)
            r.fail("id2label key '" + key + "' is not a label id (0, 1, 2, ...)");
        if (!it.value().is_string())
            r.fail("id2label '" + key + "' must be a label name, not " + it.value().dump());
        byId.emplace_back(id, it.value().get<std::string>());
    }
    std::sort(byId.begin(), byId.end());
    std::vector<std::string> labels;
    for (size_t i = 0; i < byId.size(); ++i) {
        if (byId[i].first != int(i))
            r.fail("id2label has no label for id " + std::to_string(i) + " (ids must run 0.." +
                   std::to_string(byId.size() - 1) + ")");
        labels.push_back(byId[i].second);
    }
    return labels;
}

std::string supportedActivations()
{
    std::string out;
    for (const auto &a : kActivations)
        out += (out.empty() ? "" : ", ") + std::string(a.name);
    return out;
}

std::string groupDigits(long long n)
{
    std::string digits = std::to_string(n < 0 ? -n : n), out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return n < 0 ? "-" + out : out;
}

bool isFile(const fs::path &p)
{
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

// The folder's file names, sorted, for a message: "config.json, vocab.txt" or "nothing".
std::string folderListing(const fs::path &folder)
{
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
        names.push_back(it->path().filename().string() + (it->is_directory(ec) ? "/" : ""));
    if (names.empty())
        return "nothing";
    std::sort(names.begin(), names.end());
    std::string out;
    for (size_t i = 0; i < names.size() && i < kMaxListedFiles; ++i)
        out += (i ? ", " : "") + names[i];
    if (names.size() > kMaxListedFiles)
        out += " and " + std::to_string(names.size() - kMaxListedFiles) + " more";
    return out;
}

} // namespace

std::string_view familyName(EncoderFamily f)
{
    return f == EncoderFamily::Roberta ? "roberta" : "bert";
}

Result<EncoderConfig> encoderConfigFromJson(const json &j, const std::string &where)
{
    if (!j.is_object())
        return badInput(where + ": is not a JSON object (a config.json maps keys to values)");
    const ConfigReader r(j, where);
    EncoderConfig c;
    try {
        const json *type = r.find("model_type");
        if (!type)
            r.fail("model_type is missing (supported: bert, roberta); an older checkpoint may lack it: add "
                   "\"model_type\": \"bert\" (or \"roberta\") to the file");
        if (!type->is_string())
            r.fail("model_type " + type->dump() + " is not supported (supported: bert, roberta)");
        const std::string modelType = type->get<std::string>();
        if (modelType == "bert")
            c.family = EncoderFamily::Bert;
        else if (modelType == "roberta")
            c.family = EncoderFamily::Roberta;
        else
            r.fail("model_type '" + modelType + "' is not supported (supported: bert, roberta)");

        c.vocabSize = r.integer("vocab_size", 1);
        c.hiddenSize = r.integer("hidden_size", 1);
        c.layers = r.integer("num_hidden_layers", 1);
        c.heads = r.integer("num_attention_heads", 1);
        c.intermediateSize = r.integer("intermediate_size", 1);
        c.maxPositions = r.integer("max_position_embeddings", 1);
        c.typeVocabSize = r.integer("type_vocab_size", 1, 2); // transformers' default for both families
        c.padTokenId = r.integer("pad_token_id", 0, c.family == EncoderFamily::Roberta ? 1 : 0);
        if (c.hiddenSize % c.heads != 0)
            r.fail("hidden_size " + std::to_string(c.hiddenSize) + " is not divisible by num_attention_heads " +
                   std::to_string(c.heads));
        if (c.padTokenId >= c.vocabSize)
            r.fail("pad_token_id " + std::to_string(c.padTokenId) + " is not below vocab_size " +
                   std::to_string(c.vocabSize));
        if (c.maxTokens() < 1)
            r.fail("max_position_embeddings " + std::to_string(c.maxPositions) +
                   " leaves no positions: RoBERTa's start at pad_token_id + 1 = " + std::to_string(c.positionOffset()));

        c.hiddenAct = r.string("hidden_act", "gelu");
        const auto act = std::find_if(std::begin(kActivations), std::end(kActivations),
                                      [&](const ActivationName &a) { return a.name == c.hiddenAct; });
        if (act == std::end(kActivations))
            r.fail("hidden_act '" + c.hiddenAct + "' is not supported (supported: " + supportedActivations() + ")");
        c.activation = act->activation;

        // Labbook's encoders have absolute position embeddings only; a relative one would load and compute wrong.
        const std::string positions = r.string("position_embedding_type", "absolute");
        if (positions != "absolute")
            r.fail("position_embedding_type '" + positions + "' is not supported (supported: absolute)");

        c.layerNormEps = r.number("layer_norm_eps", 1e-12, 0, 1, false);
        c.hiddenDropout = r.number("hidden_dropout_prob", 0.1, 0, 1, true);
        c.attentionDropout = r.number("attention_probs_dropout_prob", 0.1, 0, 1, true);
        c.tieWordEmbeddings = r.boolean("tie_word_embeddings", true);
        c.id2label = readId2Label(r);
    } catch (const ConfigError &e) {
        return badInput(e.message);
    }
    c.raw = j;
    return c;
}

Result<EncoderConfig> readEncoderConfig(const fs::path &folder)
{
    const fs::path file = folder / "config.json";
    const std::string where = file.string();
    std::error_code ec;
    if (!fs::exists(file, ec))
        return badInput(where + ": not found; a Hugging Face checkpoint folder has a config.json beside its weights");
    if (!fs::is_regular_file(file, ec))
        return badInput(where + ": is not a file");
    if (const uintmax_t size = fs::file_size(file, ec); !ec && size > kMaxConfigBytes)
        return badInput(where + ": " + std::to_string(size) + " bytes is far too large for a config.json");
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in)
        return badInput(where + ": cannot read the file");
    json j;
    try {
        j = json::parse(text.str());
    } catch (const json::exception &e) {
        std::string why = e.what();
        if (const size_t close = why.find("] "); close != std::string::npos)
            why = why.substr(close + 2);
        return badInput(where + ": not valid JSON (" + why.substr(0, 160) + ")");
    }
    return encoderConfigFromJson(j, where);
}

json encoderConfigJson(const EncoderConfig &c, const std::vector<std::string> &labels, const std::string &problemType)
{
    json j = c.raw.is_object() ? c.raw : json::object();
    const bool roberta = c.family == EncoderFamily::Roberta;
    j["model_type"] = familyName(c.family);
    j["vocab_size"] = c.vocabSize;
    j["hidden_size"] = c.hiddenSize;
    j["num_hidden_layers"] = c.layers;
    j["num_attention_heads"] = c.heads;
    j["intermediate_size"] = c.intermediateSize;
    j["max_position_embeddings"] = c.maxPositions;
    j["type_vocab_size"] = c.typeVocabSize;
    j["pad_token_id"] = c.padTokenId;
    j["layer_norm_eps"] = c.layerNormEps;
    j["hidden_act"] = c.hiddenAct;
    j["hidden_dropout_prob"] = c.hiddenDropout;
    j["attention_probs_dropout_prob"] = c.attentionDropout;
    j["tie_word_embeddings"] = c.tieWordEmbeddings;
    if (labels.empty()) {
        // The encoder alone: whatever head the source had is not in the exported weights.
        j["architectures"] = json::array({roberta ? "RobertaModel" : "BertModel"});
        return j;
    }
    j["architectures"] = json::array({roberta ? "RobertaForSequenceClassification" : "BertForSequenceClassification"});
    json id2label = json::object(), label2id = json::object();
    for (size_t i = 0; i < labels.size(); ++i) {
        id2label[std::to_string(i)] = labels[i];
        label2id[labels[i]] = int(i);
    }
    j["id2label"] = std::move(id2label);
    j["label2id"] = std::move(label2id);
    if (problemType.empty())
        j.erase("problem_type"); // a stale one from the source would tell transformers the wrong loss
    else
        j["problem_type"] = problemType;
    return j;
}

std::string CheckpointFolder::describe() const
{
    std::string tokenizerName;
    switch (tokenizer) {
    case TokenizerFiles::WordPiece:
        tokenizerName = "WordPiece";
        break;
    case TokenizerFiles::ByteBpe:
        tokenizerName = "byte-level BPE";
        break;
    case TokenizerFiles::TokenizerJson:
        tokenizerName = tokenizerJsonModel == "WordPiece" ? "WordPiece, tokenizer.json"
                        : tokenizerJsonModel == "BPE"     ? "byte-level BPE, tokenizer.json"
                                                          : "tokenizer.json";
        break;
    case TokenizerFiles::None:
        tokenizerName = "no tokenizer files";
        break;
    }
    return std::string(familyName(config.family)) + ", " + std::to_string(config.layers) + " layers, hidden size " +
           std::to_string(config.hiddenSize) + ", " + std::to_string(config.heads) + " heads, vocabulary " +
           groupDigits(config.vocabSize) + " (" + tokenizerName + "), " +
           (!weights                ? std::string("no weights")
            : weightShards.empty() ? weightsPath.filename().string()
                                   : weightsPath.stem().stem().string() + " in " + std::to_string(weightShards.size()) +
                                         " shards");
}

std::vector<fs::path> CheckpointFolder::weightFiles() const
{
    return weightShards.empty() ? std::vector<fs::path>{weightsPath} : weightShards;
}

namespace {

// A sharded checkpoint's index (save_pretrained's model.safetensors.index.json or pytorch_model.bin.index.json):
// {"weight_map": {"tensor name": "shard file", ...}}. The shards in the order the map first names them, each a file
// of the folder.
Result<std::vector<fs::path>> readShardIndex(const fs::path &index)
{
    std::ifstream in(index);
    const json j = json::parse(in, nullptr, false);
    const auto map = j.is_object() ? j.find("weight_map") : j.end();
    if (!j.is_object() || map == j.end() || !map->is_object() || map->empty())
        return badInput(index.string() + ": not a checkpoint index (an object whose \"weight_map\" names each "
                        "tensor's shard)");
    std::vector<fs::path> shards;
    for (const auto &[tensor, file] : map->items()) {
        if (!file.is_string() || file.get<std::string>().empty() ||
            file.get<std::string>().find('/') != std::string::npos || file.get<std::string>() == "..")
            return badInput(index.string() + ": the shard of '" + tensor + "' is not a file name of this folder");
        const fs::path shard = index.parent_path() / file.get<std::string>();
        if (std::find(shards.begin(), shards.end(), shard) != shards.end())
            continue;
        if (!isFile(shard))
            return badInput(index.string() + ": names the shard " + shard.filename().string() +
                            ", which is not in the folder (a download stopped early?)");
        shards.push_back(shard);
    }
    return shards;
}

// The weights: model.safetensors, pytorch_model.bin, or either split into shards with an index, in that order.
Status findWeights(CheckpointFolder &out)
{
    const fs::path &folder = out.folder;
    for (const auto &[name, format] : {std::pair{"model.safetensors", WeightsFormat::Safetensors},
                                       std::pair{"pytorch_model.bin", WeightsFormat::PytorchBin}}) {
        if (isFile(folder / name)) {
            out.weights = format;
            out.weightsPath = folder / name;
            return okStatus();
        }
    }
    for (const auto &[name, format] : {std::pair{"model.safetensors.index.json", WeightsFormat::Safetensors},
                                       std::pair{"pytorch_model.bin.index.json", WeightsFormat::PytorchBin}}) {
        if (!isFile(folder / name))
            continue;
        auto shards = readShardIndex(folder / name);
        if (!shards)
            return shards.error();
        out.weights = format;
        out.weightsPath = folder / name;
        out.weightShards = std::move(*shards);
        return okStatus();
    }
    return badInput(folder.string() + ": no model.safetensors or pytorch_model.bin (or their *.index.json with "
                    "shards); the folder holds " + folderListing(folder));
}

} // namespace

Result<CheckpointFolder> inspectCheckpointFolder(const fs::path &folder)
{
    std::error_code ec;
    if (!fs::exists(folder, ec))
        return badInput(folder.string() + ": no such folder");
    if (!fs::is_directory(folder, ec))
        return badInput(folder.string() + ": is not a folder; pick the folder that holds config.json");
    CheckpointFolder out;
    out.folder = folder;
    auto config = readEncoderConfig(folder);
    if (!config)
        return config.error();
    out.config = std::move(config.value());

    if (auto s = findWeights(out); !s)
        return s.error();

    if (isFile(folder / "vocab.txt"))
        out.tokenizer = TokenizerFiles::WordPiece;
    else if (isFile(folder / "vocab.json") && isFile(folder / "merges.txt"))
        out.tokenizer = TokenizerFiles::ByteBpe;
    else if (isFile(folder / "tokenizer.json")) {
        out.tokenizer = TokenizerFiles::TokenizerJson;
        std::ifstream in(folder / "tokenizer.json");
        const json j = json::parse(in, nullptr, false);
        const json *type = j.is_object() && j.contains("model") && j["model"].is_object() ? &j["model"] : nullptr;
        if (type && type->contains("type") && (*type)["type"].is_string())
            out.tokenizerJsonModel = (*type)["type"].get<std::string>();
    } else
        return badInput(noTokenizerMessage(folder));
    return out;
}

std::string noTokenizerMessage(const fs::path &folder)
{
    std::string msg = folder.string() + ": no tokenizer: expected vocab.txt (WordPiece), vocab.json + merges.txt " +
                      "(byte-level BPE) or tokenizer.json; the folder holds " + folderListing(folder);
    if (isFile(folder / "tokenizer.model"))
        msg += " (a tokenizer.model is Labbook's export of a pre-training run, whose sentencepiece tokenizer "
               "transformers' BERT and RoBERTa loaders do not read: fine-tune from the run itself, "
               "model.init_from \"run:ID\")";
    return msg;
}

} // namespace lbk::hf
