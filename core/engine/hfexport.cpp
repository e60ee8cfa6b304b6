// `lbk export RUN --format hf --out DIR`: a fine-tuned encoder as transformers writes one (config.json with the
// labels, model.safetensors, the tokenizer's files), so AutoModelForSequenceClassification.from_pretrained(DIR)
// and AutoTokenizer.from_pretrained(DIR) load it.
#include <fstream>

#include "engine/encoder.h"
#include "engine/engine.h"
#include "engine/guarded.h"
#include "engine/hfweights.h"
#include "engine/loadedmodel.h"
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
    std::ofstream config(out / "config.json");
    config << hf::encoderConfigJson(encoder->config(), lm.labels, problem).dump(2) << '\n';
    if (!config)
        return Error{(out / "config.json").string() + ": write failed"};
    if (auto tok = lm.pretrained->tokenizer->save(out); !tok)
        return tok.error();
    return ModelExport{lm.checkpoint, lm.step};
}

} // namespace

Result<ModelExport> exportHuggingFace(const RunDetail &run, const fs::path &out)
{
    return guarded<ModelExport>([&] { return writeHfExport(run, out); });
}

} // namespace lbk
