// `lbk export RUN --format model`: a run's weights as a state dict Python's torch.load reads, its tokenizer, its
// labels and a model card that spells out every rule another implementation needs to reproduce its inputs.
#include <fstream>

#include "engine/checkpoint.h"
#include "engine/encoder.h"
#include "engine/engine.h"
#include "engine/guarded.h"
#include "engine/loadedmodel.h"
#include "engine/modelreadme.h"
#include "store/runfiles.h"
#include "store/store.h"
#include "util/sha256.h"

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// 2: bag n-gram hash named in architecture.ngram_hash, character n-grams, the word tokenizer.
// 3: bag_cnn; the CNN's max pooling skips padded windows (architecture.cnn_pooling).
constexpr int kExportFormatVersion = 3;

std::string bagIdsText(const ModelSpec &ms)
{
    std::string t = "token ids, then for each order n = 2..ngrams and each window: vocab_rows + (h mod "
                    "ngram_buckets) in uint64 arithmetic, h = 0, then over the window ";
    t += ms.ngramHash == NgramHash::Multiplicative
             ? "h = h * 1000003 + (token + 1)"
             : "h = (h xor (token + 1)) * 0x9E3779B97F4A7C15, then h ^= h >> 33; h *= 0xFF51AFD7ED558CCD; "
               "h ^= h >> 33; h *= 0xC4CEB93FE53F2E5B; h ^= h >> 33";
    if (ms.charNgrams > 0)
        t += "; then for each token its character n-gram rows (architecture.char_ngrams = [min, max]): the "
             "piece with a leading U+2581 made a space and a space appended, every run of min..max code points "
             "as UTF-8 bytes through FNV-1a 64 and the same finaliser, vocab_rows + (h mod ngram_buckets)";
    return t;
}

// An encoder: transformers' BERT or RoBERTa with the sizes of its config; the weights carry transformers' names.
json encoderArchitecture(const LoadedModel &lm, json arch)
{
    const auto *encoder = dynamic_cast<const EncoderClassifierImpl *>(lm.model.get());
    const hf::EncoderConfig &c = encoder->config();
    arch["family"] = hf::familyName(c.family);
    arch["layers"] = c.layers;
    arch["hidden_size"] = c.hiddenSize;
    arch["heads"] = c.heads;
    arch["intermediate_size"] = c.intermediateSize;
    arch["hidden_act"] = c.hiddenAct;
    arch["layer_norm_eps"] = c.layerNormEps;
    arch["position_offset"] = c.positionOffset();
    arch["pooling"] = toString(lm.exp.model.pooling);
    arch["cls_id"] = lm.rows.clsId;
    arch["sep_id"] = lm.rows.sepId; // >= 0: appended after the pieces (an encoder from an MLM run)
    arch["norm"] = "post";
    arch["config"] = lm.pretrained ? "hf/config.json" : "";
    return arch;
}

// The card's "architecture": what the weights mean, model type by model type.
json architecture(const LoadedModel &lm)
{
    const auto &ms = lm.exp.model;
    json arch = {{"type", toString(ms.type)}, {"embedding_dim", ms.embeddingDim}, {"dropout", ms.dropout},
                 {"vocab_rows", lm.rows.vocab}, {"outputs", lm.outputs}, {"max_tokens", lm.exp.tokenizer.maxTokens}};
    if (ms.hasBag()) {
        arch["ngrams"] = lm.inputs.ngrams;
        arch["ngram_buckets"] = ms.ngramBuckets;
        arch["ngram_hash"] = toString(ms.ngramHash);
        if (ms.charNgrams > 0) // rows from the pieces of tokenizer.model: see charNgramRows in models.h
            arch["char_ngrams"] = {ms.charNgramsMin, ms.charNgrams};
        arch["embedding_rows"] = int64_t(lm.rows.vocab) + (ms.ngrams > 1 || ms.charNgrams > 0 ? ms.ngramBuckets : 0);
        // tfidf: each id once per text with its count; weights (1 + log count) x idf (buffer "idf"),
        // L2-normalised per text; EmbeddingBag in sum mode with those per-sample weights.
        arch["bag_mode"] = toString(ms.weighting);
    }
    if (ms.hasCnn()) {
        arch["kernel_sizes"] = ms.kernelSizes;
        arch["channels"] = ms.channels;
        // relu(conv) per kernel k, max over window positions < max(1, length - k + 1) only
        arch["cnn_pooling"] = "max over the windows inside the text";
    }
    if (ms.type == ModelType::BagCnn) { // weights "bag.*" and "cnn.*"; logits bag_weight x bag + (1 - bag_weight) x cnn
        arch["bag_weight"] = ms.bagWeight;
        arch["cnn_embedding_dim"] = ms.cnnEmbeddingDim > 0 ? ms.cnnEmbeddingDim : ms.embeddingDim;
    }
    if (lm.pretrained || ms.type == ModelType::Encoder)
        return encoderArchitecture(lm, arch);
    if (ms.type == ModelType::Gru || ms.type == ModelType::Transformer) {
        arch["hidden"] = ms.hidden;
        arch["layers"] = ms.layers;
        arch["pooling"] = toString(ms.pooling);
        if (ms.type == ModelType::Transformer) {
            arch["heads"] = ms.heads;
            arch["cls_id"] = lm.rows.clsId;
            arch["norm"] = "pre";
            arch["activation"] = "gelu";
        } else {
            arch["bidirectional"] = true;
        }
    }
    return arch;
}

// The validation figures of the exported weights, as the store noted them at their checkpoint (a "best" of the
// run's summary is each metric's own best, perhaps at another step); empty where it noted none for that step.
json checkpointFigures(const RunDetail &run, int64_t step)
{
    const json kept = run.summary.value("kept_checkpoint", json());
    if (!kept.is_object() || kept.value("step", json()) != json(step) || !kept.value("val", json()).is_object())
        return json::object();
    return kept["val"];
}

json modelCard(const RunDetail &run, const LoadedModel &lm, const json &params)
{
    return {
        {"format", "labbook-model"},
        {"format_version", kExportFormatVersion},
        {"labbook_version", LABBOOK_VERSION},
        {"engine", engineDescription()},
        {"run", {{"id", run.id}, {"uid", run.uid}, {"name", run.name}, {"experiment", run.experiment}}},
        {"checkpoint", lm.checkpoint},
        {"step", lm.step},
        {"task", toString(lm.kind)},
        {"labels", lm.labels},
        {"output", lm.kind == TaskKind::MultiClass ? "softmax over labels"
                   : lm.kind == TaskKind::Binary   ? "sigmoid: probability of labels[1]"
                                                   : "sigmoid per label"},
        {"architecture", architecture(lm)},
        {"parameters", params},
        {"input", inputRules(lm)},
        {"experiment", lm.exp.config},
        {"data", lm.runData},
        {"checkpoint_metrics", checkpointFigures(run, lm.step)},
        {"metrics", run.summary},
        {"weights_checksum", weightsChecksumText(*lm.model)},
        {"files", {{"weights", "weights.pt (torch.load: dict name -> tensor; Labbook's reference/load_export.py "
                               "rebuilds the model in PyTorch)"},
                   {"tokenizer", lm.pretrained ? "hf (config.json and the tokenizer's files)" : "tokenizer.model"},
                   {"labels", "labels.json"}}},
    };
}

// sha256 of the files beside the weights that the model is built from (the tokenizer's, whole folders file by
// file, and labels.json), by their path in the export: loadModel refuses a folder whose files were swapped.
Result<json> fileChecksums(const fs::path &out, const std::vector<fs::path> &paths)
{
    std::vector<fs::path> files;
    std::error_code ec;
    for (const auto &p : paths) {
        if (!fs::is_directory(out / p, ec))
            files.push_back(p);
        else
            for (const auto &f : fs::recursive_directory_iterator(out / p, ec))
                if (f.is_regular_file(ec))
                    files.push_back(fs::relative(f.path(), out, ec));
    }
    json sums = json::object();
    for (const auto &f : files) {
        const std::string sum = sha256File(out / f);
        if (sum.empty())
            return Error{(out / f).string() + ": cannot be read back to checksum it"};
        sums[f.generic_string()] = sum;
    }
    return sums;
}

// A state dict as Python's torch.save writes it: a dict of parameter name -> tensor. Returns the parameters'
// names and shapes for the card.
Result<json> writeWeights(const LoadedModel &lm, const fs::path &file)
{
    c10::Dict<std::string, at::Tensor> dict;
    json params = json::array();
    for (const auto &p : lm.model->named_parameters()) {
        dict.insert(p.key(), p.value().detach().cpu().contiguous());
        params.push_back({{"name", p.key()}, {"shape", p.value().sizes().vec()}});
    }
    for (const auto &b : lm.model->named_buffers())
        dict.insert(b.key(), b.value().detach().cpu().contiguous());
    const auto bytes = torch::pickle_save(c10::IValue(dict));
    std::ofstream out(file, std::ios::binary);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    if (!out)
        return Error{file.string() + ": write failed"};
    return params;
}

Result<ModelExport> writeExport(const RunDetail &run, const fs::path &out, const json &encoderFrom)
{
    auto m = loadModel(run.runDir);
    if (!m)
        return m.error();
    const LoadedModel &lm = **m;
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec)
        return Error{out.string() + ": cannot create the export folder: " + ec.message()};
    auto params = writeWeights(lm, out / "weights.pt");
    if (!params)
        return params.error();
    const fs::path tokenizer = runfiles::tokenizerEntry(lm.pretrained.has_value());
    fs::copy(fs::path(run.runDir) / tokenizer, out / tokenizer,
             fs::copy_options::overwrite_existing | fs::copy_options::recursive, ec);
    if (ec)
        return Error{(out / tokenizer).string() + ": " + ec.message()};
    // The run's hf/ cuts at the position table (its source's length); the export cuts where the run did.
    if (lm.pretrained)
        if (auto saved = lm.pretrained->tokenizer->save(out / tokenizer, exportedTokenizerCut(lm)); !saved)
            return saved.error();
    std::ofstream labelsOut(out / runfiles::kLabels);
    labelsOut << json(lm.labels).dump(2) << '\n';
    labelsOut.close();
    if (!labelsOut)
        return Error{(out / runfiles::kLabels).string() + ": write failed"};
    auto sums = fileChecksums(out, {tokenizer, runfiles::kLabels});
    if (!sums)
        return sums.error();
    json cardJson = modelCard(run, lm, *params);
    cardJson["file_checksums"] = std::move(*sums);
    if (!encoderFrom.is_null())
        cardJson["encoder_from"] = encoderFrom;
    std::ofstream card(out / "model.json");
    card << cardJson.dump(2) << '\n';
    if (!card)
        return Error{(out / "model.json").string() + ": write failed"};
    std::ofstream readme(out / "README.md"); // the card in words, for whoever finds the folder
    readme << modelReadme(cardJson);
    if (!readme)
        return Error{(out / "README.md").string() + ": write failed"};
    return ModelExport{lm.checkpoint, lm.step};
}

} // namespace

int64_t exportedTokenizerCut(const LoadedModel &lm)
{
    return std::min<int64_t>(lm.pretrained->config.maxTokens(), lm.exp.tokenizer.maxTokens);
}

// The text the model reads, in words (found by an audit: the README listed every choice, not the run's).
static const char *textRule(TextField text)
{
    switch (text) {
    case TextField::Title: return "the paper's title";
    case TextField::Abstract: return "the paper's abstract";
    case TextField::TitleAbstract: break;
    }
    return "the paper's title + \". \" + abstract (either alone when the other is empty)";
}

json inputRules(const LoadedModel &lm)
{
    const auto &tok = lm.exp.tokenizer;
    const char *rule = textRule(lm.exp.data.text);
    if (lm.pretrained)
        return {{"text", toString(lm.exp.data.text)},
                {"text_rule", rule},
                {"tokenizer",
                 {{"folder", "hf"},
                  {"type", lm.pretrained->tokenizer->kind()},
                  {"max_tokens", tok.maxTokens},
                  {"special", "[CLS] ... [SEP] (RoBERTa: <s> ... </s>), cut to max_tokens"},
                  {"pieces", lm.tokenizer->vocabSize()}}}};
    return {{"text", toString(lm.exp.data.text)},
            {"text_rule", rule},
            {"tokenizer",
             {{"file", "tokenizer.model"},
              {"type", toString(tok.type)},
              {"lowercase_ascii_first", tok.lowercase},
              {"max_tokens", tok.maxTokens},
              {"pad_id", 0},
              {"unk_id", 1},
              {"pieces", lm.tokenizer->vocabSize()}}},
            {"empty_text", "bag: the ids [1]; sequence models: one unknown token (1) unless a CLS id leads"},
            {"words", tok.type == TokenizerType::Word ? json("before sentencepiece, the (lowercased) text becomes its words joined "
                                                "by single spaces: runs of ASCII letters, digits, '_' and bytes >= 0x80")
                                         : json()},
            {"bag_ids", lm.exp.model.hasBag() ? json(bagIdsText(lm.exp.model)) : json()}};
}

Result<ModelExport> exportModel(const RunDetail &run, const fs::path &out, const json &encoderFrom)
{
    return guarded<ModelExport>([&] { return writeExport(run, out, encoderFrom); });
}

} // namespace lbk
