#include "hf/hftokenizer.h"

#include <limits>

#include "hf/bytebpe.h"
#include "hf/encoderconfig.h"
#include "hf/hffiles.h"
#include "hf/utf8text.h"
#include "hf/wordpiece.h"

namespace lbk::hf {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// vocab.txt as load_vocab reads it: a token a line, stripped; the line number is the id.
Result<std::vector<std::string>> readVocabTxt(const fs::path &file)
{
    auto text = readTextFile(file);
    if (!text)
        return text.error();
    std::string_view rest = *text;
    if (rest.substr(0, 3) == "\xEF\xBB\xBF")
        rest.remove_prefix(3);
    std::vector<std::string> tokens;
    while (!rest.empty()) {
        const size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        const auto ws = " \t\r\n\v\f";
        const size_t b = line.find_first_not_of(ws);
        line = b == std::string_view::npos ? std::string_view() : line.substr(b, line.find_last_not_of(ws) - b + 1);
        if (!isUtf8(line))
            return badInput(file.string() + ": line " + std::to_string(tokens.size() + 1) + " is not UTF-8");
        tokens.emplace_back(line);
    }
    if (tokens.empty())
        return badInput(file.string() + ": the vocabulary is empty");
    return tokens;
}

std::string where(const fs::path &file, const std::string &key)
{
    return file.string() + ": " + key;
}

// An optional bool of a JSON object; the error names the file and the key.
Status readBool(const json &obj, const char *key, const fs::path &file, bool &out)
{
    if (!obj.is_object() || !obj.contains(key) || obj[key].is_null())
        return okStatus();
    if (!obj[key].is_boolean())
        return badInput(where(file, key) + " must be true or false");
    out = obj[key].get<bool>();
    return okStatus();
}

Status readOptionalBool(const json &obj, const char *key, const fs::path &file, std::optional<bool> &out)
{
    if (!obj.is_object() || !obj.contains(key) || obj[key].is_null())
        return okStatus();
    if (!obj[key].is_boolean())
        return badInput(where(file, key) + " must be true, false or null");
    out = obj[key].get<bool>();
    return okStatus();
}

int64_t modelMaxLength(const json &config)
{
    if (!config.is_object() || !config.contains("model_max_length"))
        return 512;
    const auto &v = config["model_max_length"];
    if (v.is_number_integer())
        return v.get<int64_t>();
    if (v.is_number()) // transformers writes 1e30 for "no limit"
        return std::numeric_limits<int64_t>::max();
    return 512;
}

// tokenizer_config.json, or an empty object when the folder has none.
Result<json> readConfig(const fs::path &folder)
{
    const fs::path file = folder / "tokenizer_config.json";
    std::error_code ec;
    if (!fs::exists(file, ec))
        return json::object();
    auto config = readJsonFile(file);
    if (config && !config->is_object())
        return badInput(file.string() + ": expected a JSON object");
    return config;
}

// The BERT options of tokenizer_config.json (do_lower_case, strip_accents, tokenize_chinese_chars).
Status applyBertConfig(const json &config, const fs::path &file, WordPieceOptions &options)
{
    if (auto s = readBool(config, "do_lower_case", file, options.lowercase); !s)
        return s;
    if (auto s = readOptionalBool(config, "strip_accents", file, options.stripAccents); !s)
        return s;
    if (auto s = readBool(config, "tokenize_chinese_chars", file, options.chineseChars); !s)
        return s;
    options.modelMaxLength = modelMaxLength(config);
    return okStatus();
}

Result<std::vector<std::pair<std::string, int>>> vocabEntries(const json &vocab, const fs::path &file,
                                                              const std::string &key)
{
    if (!vocab.is_object())
        return badInput(where(file, key) + " must be an object of token: id");
    std::vector<std::pair<std::string, int>> out;
    out.reserve(vocab.size());
    for (const auto &[token, id] : vocab.items()) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= std::numeric_limits<int>::max())
            return badInput(where(file, key) + ": the id of \"" + token + "\" is not a non-negative integer");
        out.emplace_back(token, int(id.get<int64_t>()));
    }
    if (out.empty())
        return badInput(where(file, key) + ": the vocabulary is empty");
    return out;
}

Result<std::pair<std::string, std::string>> splitMerge(std::string_view line, const std::string &where)
{
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos || sp == 0 || sp + 1 >= line.size() ||
        line.find(' ', sp + 1) != std::string_view::npos)
        return badInput(where + ": expected two symbols separated by one space, got \"" + std::string(line) + "\"");
    return std::pair{std::string(line.substr(0, sp)), std::string(line.substr(sp + 1))};
}

// merges.txt: "#version: ..." first, then "left right" a line in rank order.
Result<std::vector<std::pair<std::string, std::string>>> readMergesTxt(const fs::path &file)
{
    auto text = readTextFile(file);
    if (!text)
        return text.error();
    if (!isUtf8(*text))
        return badInput(file.string() + ": not UTF-8");
    std::vector<std::pair<std::string, std::string>> merges;
    std::string_view rest = *text;
    for (int lineNo = 1; !rest.empty(); ++lineNo) {
        const size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (line.empty() || (lineNo == 1 && line.substr(0, 8) == "#version"))
            continue;
        auto m = splitMerge(line, file.string() + ": line " + std::to_string(lineNo));
        if (!m)
            return m.error();
        merges.push_back(std::move(*m));
    }
    return merges;
}

Result<std::vector<std::pair<std::string, int>>> readVocabJson(const fs::path &file)
{
    auto vocab = readJsonFile(file);
    if (!vocab)
        return vocab.error();
    return vocabEntries(*vocab, file, "the top level");
}

// The special tokens of added_tokens, added to a model vocabulary that lacks them.
void addAddedTokens(const json &root, std::vector<std::pair<std::string, int>> &vocab)
{
    if (!root.contains("added_tokens") || !root["added_tokens"].is_array())
        return;
    std::unordered_map<std::string, int> have(vocab.begin(), vocab.end());
    for (const auto &t : root["added_tokens"]) {
        if (!t.is_object() || !t.contains("content") || !t["content"].is_string() || !t.contains("id") ||
            !t["id"].is_number_integer() || t["id"].get<int64_t>() < 0 ||
            t["id"].get<int64_t>() >= std::numeric_limits<int>::max())
            continue;
        const auto content = t["content"].get<std::string>();
        if (!have.count(content))
            vocab.emplace_back(content, int(t["id"].get<int64_t>()));
    }
}

Result<std::unique_ptr<HfTokenizer>> wordPieceFromJson(const json &root, const json &config, const fs::path &file,
                                                       const fs::path &configFile)
{
    const json &model = root["model"];
    auto entries = vocabEntries(model.contains("vocab") ? model["vocab"] : json(), file, "model.vocab");
    if (!entries)
        return entries.error();
    addAddedTokens(root, *entries);
    // Ids may leave gaps, as the tokenizers library allows (its converter of a vocab.txt with a repeated line leaves
    // one): a gap is an empty token no text matches. A gap as large as the vocabulary is a damaged file.
    int maxId = 0;
    for (const auto &e : *entries)
        maxId = std::max(maxId, e.second);
    if (size_t(maxId) >= 2 * entries->size() + 1024)
        return badInput(where(file, "model.vocab") + ": ids reach " + std::to_string(maxId) + " for " +
                        std::to_string(entries->size()) + " tokens (the file is damaged)");
    std::vector<std::string> tokens(size_t(maxId) + 1);
    std::vector<bool> seen(tokens.size(), false);
    for (const auto &[token, id] : *entries) {
        if (seen[size_t(id)])
            return badInput(where(file, "model.vocab") + ": \"" + tokens[size_t(id)] + "\" and \"" + token +
                            "\" have the same id " + std::to_string(id));
        tokens[size_t(id)] = token;
        seen[size_t(id)] = true;
    }
    WordPieceOptions options;
    const auto str = [&](const char *key, std::string &out) -> Status {
        if (!model.contains(key) || model[key].is_null())
            return okStatus();
        if (!model[key].is_string())
            return badInput(where(file, std::string("model.") + key) + " must be a string");
        out = model[key].get<std::string>();
        return okStatus();
    };
    if (auto s = str("unk_token", options.unkToken); !s)
        return s.error();
    if (auto s = str("continuing_subword_prefix", options.prefix); !s)
        return s.error();
    if (model.contains("max_input_chars_per_word")) {
        const auto &m = model["max_input_chars_per_word"];
        if (!m.is_number_integer() || m.get<int64_t>() < 1 || m.get<int64_t>() > 1000000)
            return badInput(where(file, "model.max_input_chars_per_word") + " must be a positive integer");
        options.maxInputCharsPerWord = int(m.get<int64_t>());
    }
    const json &norm = root.contains("normalizer") ? root["normalizer"] : json();
    if (!norm.is_object() || norm.value("type", "") != "BertNormalizer")
        return badInput(where(file, "normalizer") +
                        ": only BERT's normalizer (\"type\": \"BertNormalizer\") is supported with WordPiece");
    bool cleanText = true;
    if (auto s = readBool(norm, "clean_text", file, cleanText); !s)
        return s.error();
    if (!cleanText)
        return badInput(where(file, "normalizer.clean_text") + ": false is not supported");
    if (auto s = readBool(norm, "lowercase", file, options.lowercase); !s)
        return s.error();
    if (auto s = readOptionalBool(norm, "strip_accents", file, options.stripAccents); !s)
        return s.error();
    if (auto s = readBool(norm, "handle_chinese_chars", file, options.chineseChars); !s)
        return s.error();
    // transformers' BertTokenizerFast puts tokenizer_config.json's settings over the normalizer's.
    if (auto s = applyBertConfig(config, configFile, options); !s)
        return s.error();
    return WordPiece::create(std::move(tokens), std::move(options), file.string());
}

Result<std::unique_ptr<HfTokenizer>> byteBpeFromJson(const json &root, const json &config, const fs::path &file)
{
    const json &model = root["model"];
    auto entries = vocabEntries(model.contains("vocab") ? model["vocab"] : json(), file, "model.vocab");
    if (!entries)
        return entries.error();
    addAddedTokens(root, *entries);
    if (!model.contains("merges") || !model["merges"].is_array())
        return badInput(where(file, "model.merges") + " is missing or not a list");
    std::vector<std::pair<std::string, std::string>> merges;
    merges.reserve(model["merges"].size());
    size_t i = 0;
    for (const auto &m : model["merges"]) {
        const std::string at = where(file, "model.merges[" + std::to_string(i++) + "]");
        if (m.is_string()) { // "left right" (tokenizers before 0.20)
            auto pair = splitMerge(m.get<std::string>(), at);
            if (!pair)
                return pair.error();
            merges.push_back(std::move(*pair));
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) { // ["left", "right"]
            merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
        } else {
            return badInput(at + " must be \"left right\" or [\"left\", \"right\"]");
        }
    }
    const json &pre = root.contains("pre_tokenizer") ? root["pre_tokenizer"] : json();
    if (!pre.is_object() || pre.value("type", "") != "ByteLevel")
        return badInput(where(file, "pre_tokenizer") +
                        ": only GPT-2's byte-level pre-tokenizer (\"type\": \"ByteLevel\") is supported with BPE");
    if (pre.contains("add_prefix_space") && pre["add_prefix_space"] == true)
        return badInput(where(file, "pre_tokenizer.add_prefix_space") + ": true is not supported (RoBERTa's is false)");
    if (pre.contains("use_regex") && pre["use_regex"] == false)
        return badInput(where(file, "pre_tokenizer.use_regex") + ": false is not supported");
    if (root.contains("normalizer") && !root["normalizer"].is_null())
        return badInput(where(file, "normalizer") + ": byte-level BPE with a normalizer is not supported");
    for (const char *key : {"continuing_subword_prefix", "end_of_word_suffix"})
        if (model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty())
            return badInput(where(file, std::string("model.") + key) + ": only \"\" is supported (GPT-2's BPE)");
    if (model.contains("byte_fallback") && model["byte_fallback"] == true)
        return badInput(where(file, "model.byte_fallback") + ": true is not supported (GPT-2's BPE)");
    return ByteBpe::create(*entries, std::move(merges), file.string(), modelMaxLength(config));
}

Result<std::unique_ptr<HfTokenizer>> fromTokenizerJson(const fs::path &file, const json &config,
                                                       const fs::path &configFile)
{
    auto root = readJsonFile(file);
    if (!root)
        return root.error();
    if (!root->is_object() || !root->contains("model") || !(*root)["model"].is_object())
        return badInput(where(file, "model") + " is missing");
    const json &model = (*root)["model"];
    if (!model.contains("type") || !model["type"].is_string())
        return badInput(where(file, "model.type") + " is missing");
    const auto type = model["type"].get<std::string>();
    if (type == "WordPiece")
        return wordPieceFromJson(*root, config, file, configFile);
    if (type == "BPE")
        return byteBpeFromJson(*root, config, file);
    return badInput(where(file, "model.type") + ": \"" + type + "\" is not supported (WordPiece or BPE)");
}

} // namespace

Result<std::unique_ptr<HfTokenizer>> loadWordPiece(const fs::path &vocabTxt, bool lowercase)
{
    auto tokens = readVocabTxt(vocabTxt);
    if (!tokens)
        return tokens.error();
    WordPieceOptions options;
    options.lowercase = lowercase;
    return WordPiece::create(std::move(*tokens), std::move(options), vocabTxt.string());
}

Result<std::unique_ptr<HfTokenizer>> loadByteBpe(const fs::path &vocabJson, const fs::path &mergesTxt)
{
    auto vocab = readVocabJson(vocabJson);
    if (!vocab)
        return vocab.error();
    auto merges = readMergesTxt(mergesTxt);
    if (!merges)
        return merges.error();
    return ByteBpe::create(*vocab, std::move(*merges), vocabJson.string());
}

Result<std::unique_ptr<HfTokenizer>> loadHfTokenizer(const fs::path &folder)
{
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
        return badInput(folder.string() + ": no such folder");
    const auto has = [&](const char *name) { return fs::exists(folder / name, ec); };
    auto config = readConfig(folder);
    if (!config)
        return config.error();
    const fs::path configFile = folder / "tokenizer_config.json";
    if (has("vocab.txt")) {
        auto tokens = readVocabTxt(folder / "vocab.txt");
        if (!tokens)
            return tokens.error();
        WordPieceOptions options;
        if (auto s = applyBertConfig(*config, configFile, options); !s)
            return s.error();
        return WordPiece::create(std::move(*tokens), std::move(options), (folder / "vocab.txt").string());
    }
    if (has("vocab.json")) {
        if (!has("merges.txt"))
            return badInput((folder / "merges.txt").string() +
                            ": no such file (vocab.json needs merges.txt beside it)");
        auto vocab = readVocabJson(folder / "vocab.json");
        if (!vocab)
            return vocab.error();
        auto merges = readMergesTxt(folder / "merges.txt");
        if (!merges)
            return merges.error();
        return ByteBpe::create(*vocab, std::move(*merges), (folder / "vocab.json").string(), modelMaxLength(*config));
    }
    if (has("tokenizer.json"))
        return fromTokenizerJson(folder / "tokenizer.json", *config, configFile);
    return badInput(noTokenizerMessage(folder));
}

std::vector<int> HfTokenizer::lookUp(const std::unordered_map<std::string, int> &ids,
                                     const std::vector<std::string> &pieces, int unk)
{
    std::vector<int> out;
    out.reserve(pieces.size());
    for (const auto &p : pieces) {
        const auto it = ids.find(p);
        out.push_back(it == ids.end() ? unk : it->second);
    }
    return out;
}

} // namespace lbk::hf
