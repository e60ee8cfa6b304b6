// `lbk export RUN --format hf --out DIR`: a fine-tuned encoder as transformers writes one (config.json with the
// labels, model.safetensors, the tokenizer's files), so AutoModelForSequenceClassification.from_pretrained(DIR)
// and AutoTokenizer.from_pretrained(DIR) load it; an MLM pre-training run as BertForMaskedLM with its
// sentencepiece model.
#include <algorithm>
#include <fstream>

#include "engine/encoder.h"
#include "engine/engine.h"
#include "engine/guarded.h"
#include "engine/hfweights.h"
#include "engine/loadedmodel.h"
#include "engine/mlm.h"
#include "experiment/schema.h"
#include "store/runfiles.h"
#include "store/store.h"

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// What --format hf needs of a run: an encoder, transformers' own head, and a tokenizer transformers has.
Status checkExportable(const LoadedModel &lm, const std::string &runName)
{
    const std::string run = "run '" + runName + "'";
    if (lm.exp.model.type != ModelType::Encoder)
        return badInput(run + " is a " + std::string(toString(lm.exp.model.type)) +
                        " model; --format hf exports encoders (model.type \"encoder\"); use --format model");
    if (!lm.pretrained)
        return badInput(run + " trained its encoder with Labbook's sentencepiece tokenizer, which transformers' "
                              "BERT and RoBERTa tokenizers cannot load; use --format model");
    if (lm.exp.model.pooling != Pooling::Pooler)
        return badInput(run + " pools with \"" + toString(lm.exp.model.pooling) + "\"; transformers' " +
                        "*ForSequenceClassification heads are model.pooling \"pooler\"; use --format model");
    return okStatus();
}

Result<ModelExport> writeHfExport(const RunDetail &run, const fs::path &out)
{
    auto m = loadModel(run.runDir);
    if (!m)
        return m.error();
    const LoadedModel &lm = **m;
    if (auto ok = checkExportable(lm, run.name); !ok)
        return ok.error();
    auto *encoder = dynamic_cast<EncoderClassifierImpl *>(lm.model.get());
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec)
        return Error{out.string() + ": cannot create the export folder: " + ec.message()};
    const bool binary = lm.kind == TaskKind::Binary;
    if (auto saved = saveEncoderWeights(*encoder, out / "model.safetensors", binary); !saved)
        return saved.error();
    // Binary: two logits [0, z] (saveEncoderWeights), a single-label classifier over both names.
    const std::string problem = lm.kind == TaskKind::MultiLabel ? "multi_label_classification"
                                                                 : "single_label_classification";
    // Found by an audit: nothing in the folder said which text the model read, and the tokenizer's model_max_length
    // was the position table's (64) where the run cut at its tokenizer.max_tokens (32): longer inputs, other
    // probabilities. "labbook_input" says the recipe; the tokenizer cuts where the run did.
    json hfConfig = hf::encoderConfigJson(encoder->config(), lm.labels, problem);
    hfConfig["labbook_input"] = inputRules(lm);
    std::ofstream config(out / "config.json");
    config << hfConfig.dump(2) << '\n';
    if (!config)
        return Error{(out / "config.json").string() + ": write failed"};
    if (auto tok = lm.pretrained->tokenizer->save(out, exportedTokenizerCut(lm)); !tok)
        return tok.error();
    return ModelExport{lm.checkpoint, lm.step};
}

// Continued pre-training of a Hugging Face checkpoint: its own layout (BertForMaskedLM or RobertaForMaskedLM), its
// config with the trained weights, its tokenizer's files.
Status writeHfMlmFiles(const PretrainedMlm &pre, const fs::path &out, json &config)
{
    config = pre.hf->config.raw.is_object() ? pre.hf->config.raw : hf::encoderConfigJson(pre.model->config(), {}, "");
    const bool roberta = pre.hf->config.family == hf::EncoderFamily::Roberta;
    config["architectures"] = json::array({roberta ? "RobertaForMaskedLM" : "BertForMaskedLM"});
    return pre.hf->tokenizer->save(out, pre.model->config().maxTokens());
}

// A run pre-trained from scratch: BertForMaskedLM's names, config.json records where Labbook put the special
// tokens; tokenizer.model is the run's sentencepiece model, whose pieces are ids 0..N-1 (docs/PRETRAINING.md:
// using the export in Python).
Status writeScratchMlmFiles(const PretrainedMlm &pre, const RunDetail &run, const fs::path &out, json &config)
{
    config = hf::encoderConfigJson(pre.model->config(), {}, "");
    config["architectures"] = json::array({"BertForMaskedLM"});
    const MlmSpecialIds &s = pre.special;
    config["labbook_tokenizer"] = {{"file", "tokenizer.model"},
                                   {"kind", "sentencepiece"},
                                   {"pieces", pre.tokenizer->vocabSize()},
                                   {"lowercase", pre.exp.tokenizer.lowercase},
                                   {"special_ids", {{"pad", s.pad}, {"cls", s.cls}, {"sep", s.sep}, {"mask", s.mask}}}};
    std::error_code ec;
    fs::copy_file(fs::path(run.runDir) / runfiles::kTokenizer, out / "tokenizer.model",
                  fs::copy_options::overwrite_existing, ec);
    if (ec)
        return Error{(out / "tokenizer.model").string() + ": cannot copy the run's tokenizer: " + ec.message()};
    return okStatus();
}

// Where the folder came from, in config.json (transformers keeps a key it does not know as an attribute) and in a
// README for whoever finds the folder (found by an audit: nothing in it named the run or the step).
json mlmOrigin(const RunDetail &run, const PretrainedMlm &pre)
{
    return {{"id", run.id}, {"uid", run.uid}, {"name", run.name}, {"experiment", run.experiment},
            {"checkpoint", pre.checkpoint}, {"step", pre.step}};
}

std::string mlmReadme(const RunDetail &run, const PretrainedMlm &pre)
{
    const std::string id = std::to_string(run.id);
    std::string s = "# " + run.name + ": a masked-language model pre-trained with Labbook\n\n";
    s += "Exported from run " + id + " (" + run.uid + ") of experiment `" + run.experiment + "`, the weights of step " +
         std::to_string(pre.step) + " (the run's " + pre.checkpoint + " checkpoint). `lbk show " + id +
         "` in the store it was trained in gives its curves and figures; config.json names the run under "
         "`labbook_run`.\n\n";
    s += "## Use\n\n```python\nfrom transformers import AutoModelForMaskedLM\n"
         "model = AutoModelForMaskedLM.from_pretrained(THIS_FOLDER)\n```\n\n";
    s += pre.hf ? "The tokenizer's files are the pre-trained checkpoint's it continued from: "
                  "`AutoTokenizer.from_pretrained(THIS_FOLDER)` loads them.\n\n"
                : "The tokenizer is the run's sentencepiece model, `tokenizer.model` (its special ids in config.json "
                  "under `labbook_tokenizer`: [CLS] pieces [SEP], masked with [MASK]); transformers has no class "
                  "for it, sentencepiece reads it.\n\n";
    s += "To fine-tune a classifier from it in Labbook, set `model.init_from` to `\"run:" + run.uid +
         "\"` in the store it was trained in (docs/PRETRAINING.md).\n";
    return s;
}

// The masked-language model in transformers' names; a tied decoder is written out as a copy of the word embeddings.
Result<ModelExport> writeMlmExport(const RunDetail &run, const fs::path &out)
{
    auto pre = loadMlmRun(run.runDir);
    if (!pre)
        return pre.error();
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec)
        return Error{out.string() + ": cannot create the export folder: " + ec.message()};
    const std::string prefix = pre->model->backbonePrefix();
    const std::string decoder = prefix == "roberta." ? "lm_head.decoder.weight" : "cls.predictions.decoder.weight";
    std::vector<std::pair<std::string, torch::Tensor>> named;
    const bool tied = pre->model->config().tieWordEmbeddings;
    for (const auto &p : pre->model->named_parameters()) {
        named.emplace_back(p.key(), p.value());
        if (tied && p.key() == prefix + "embeddings.word_embeddings.weight")
            named.emplace_back(decoder, p.value());
    }
    if (auto saved = saveTensors(named, out / "model.safetensors"); !saved)
        return saved.error();
    json config;
    if (auto files = pre->hf ? writeHfMlmFiles(*pre, out, config) : writeScratchMlmFiles(*pre, run, out, config); !files)
        return files.error();
    config["tie_word_embeddings"] = tied;
    config["labbook_run"] = mlmOrigin(run, *pre);
    std::ofstream file(out / "config.json");
    file << config.dump(2) << '\n';
    if (!file)
        return Error{(out / "config.json").string() + ": write failed"};
    std::ofstream readme(out / "README.md");
    readme << mlmReadme(run, *pre);
    if (!readme)
        return Error{(out / "README.md").string() + ": write failed"};
    return ModelExport{pre->checkpoint, pre->step};
}

bool isMlmRun(const RunDetail &run)
{
    const json objective = valueAt(run.config, "training.objective");
    return objective.is_string() && objective.get<std::string>() == toString(TrainingObjective::Mlm);
}

} // namespace

Result<ModelExport> exportHuggingFace(const RunDetail &run, const fs::path &out)
{
    return guarded<ModelExport>([&] { return isMlmRun(run) ? writeMlmExport(run, out) : writeHfExport(run, out); });
}

} // namespace lbk
