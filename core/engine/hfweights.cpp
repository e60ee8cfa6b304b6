// Encoder weights in and out of Hugging Face's files.
#include "engine/hfweights.h"

#include <algorithm>
#include <functional>
#include <map>

#include "hf/pytorchbin.h"
#include "hf/safetensors.h"
#include "hf/storedtensors.h"

namespace lbk {

namespace fs = std::filesystem;

std::string shapeText(at::IntArrayRef shape)
{
    return hf::shapeText(shape.vec());
}

namespace {

std::string listed(const std::vector<std::string> &names)
{
    std::string s = "[";
    for (size_t i = 0; i < names.size(); ++i)
        s += (i ? ", '" : "'") + names[i] + "'";
    return s + "]";
}

bool endsWith(const std::string &s, std::string_view tail)
{
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// A file key in the model's names: the family prefix added to a bare BertModel's keys, TensorFlow-era layer-norm
// names made today's. "" for keys transformers ignores (the position_ids buffer).
std::string canonicalKey(std::string key, const std::string &prefix)
{
    if (endsWith(key, "position_ids"))
        return "";
    if (endsWith(key, "LayerNorm.gamma"))
        key.replace(key.size() - 5, 5, "weight");
    else if (endsWith(key, "LayerNorm.beta"))
        key.replace(key.size() - 4, 4, "bias");
    static const std::vector<std::string> heads = {"bert.", "roberta.", "classifier.", "cls.", "lm_head.", "pooler."};
    for (const auto &h : heads)
        if (key.rfind(h, 0) == 0)
            return h == "pooler." ? prefix + key : key;
    return prefix + key;
}

using TensorVisitor = std::function<Status(const std::string &key, const torch::Tensor &value)>;

torch::ScalarType torchType(hf::DType d)
{
    switch (d) {
    case hf::DType::F16: return torch::kHalf;
    case hf::DType::BF16: return torch::kBFloat16;
    case hf::DType::I64: return torch::kLong;
    case hf::DType::F32: break;
    }
    return torch::kFloat;
}

// Every tensor of a safetensors file, viewed in place (the mapping lives while the visitor runs).
Status visitSafetensors(const fs::path &file, const TensorVisitor &visit)
{
    auto st = hf::SafetensorsFile::open(file);
    if (!st)
        return st.error();
    for (const auto &t : (*st)->header().tensors) {
        const auto bytes = (*st)->bytes(t);
        auto view = torch::from_blob(const_cast<char *>(bytes.data()), t.shape,
                                     torch::TensorOptions(torchType(t.dtype)));
        if (auto s = visit(t.name, view); !s)
            return s;
    }
    return okStatus();
}

// torch's storage type names as LibTorch's scalar types.
std::optional<torch::ScalarType> storageScalarType(const std::string &type)
{
    static const std::map<std::string, torch::ScalarType> types = {
        {"FloatStorage", torch::kFloat}, {"DoubleStorage", torch::kDouble}, {"HalfStorage", torch::kHalf},
        {"BFloat16Storage", torch::kBFloat16}, {"LongStorage", torch::kLong}, {"IntStorage", torch::kInt},
        {"ShortStorage", torch::kShort}, {"CharStorage", torch::kChar}, {"ByteStorage", torch::kByte},
        {"BoolStorage", torch::kBool}};
    if (auto it = types.find(type); it != types.end())
        return it->second;
    return std::nullopt;
}

// Every tensor of a pytorch_model.bin (either layout), a view of its storage's bytes read into a tensor of the
// storage's type. A storage several tensors share (a tied decoder, views) is read once and kept until its last
// tensor is visited.
Status visitPytorchBin(const fs::path &file, const TensorVisitor &visit)
{
    const std::string where = file.string();
    auto bin = hf::PytorchBin::open(file);
    if (!bin)
        return bin.error();
    const hf::PickledStateDict &dict = (*bin)->dict();
    std::map<std::string, int> uses;
    for (const auto &t : dict.tensors)
        ++uses[t.storage];
    std::map<std::string, torch::Tensor> kept;
    for (const auto &t : dict.tensors) {
        const auto &s = dict.storages.at(t.storage);
        const auto type = storageScalarType(s.type);
        if (!type)
            return badInput(where + ": tensor '" + t.name + "' is stored as " + s.type +
                            ", which Labbook does not read");
        torch::Tensor &storage = kept[t.storage];
        if (!storage.defined()) {
            try {
                storage = torch::empty({s.elements}, torch::TensorOptions(*type));
            } catch (const c10::Error &) {
                return badInput(where + ": storage " + t.storage + " claims " + std::to_string(s.elements) +
                                " elements, more than this machine can hold (the file is damaged)");
            }
            if (auto read = (*bin)->readStorage(t.storage, storage.data_ptr()); !read)
                return read;
        }
        const torch::Tensor view = storage.as_strided(t.shape, t.stride, t.offset); // inside it: hf::viewFits
        if (--uses[t.storage] == 0)
            kept.erase(t.storage);
        if (auto st = visit(t.name, view); !st)
            return st;
    }
    return okStatus();
}

} // namespace

std::vector<std::string> WeightsReport::messages(const std::string &file) const
{
    std::vector<std::string> out;
    if (!unused.empty())
        out.push_back("Some weights of the model checkpoint at " + file + " were not used: " + listed(unused) +
                      " (expected when the checkpoint was trained with another head, such as masked-language "
                      "modelling)");
    if (!newlyInitialized.empty())
        out.push_back("Some weights were not initialized from the model checkpoint at " + file +
                      " and are newly initialized: " + listed(newlyInitialized) +
                      "; this run trains them");
    if (!missing.empty())
        out.push_back("Weights missing from " + file + " start at random (model.allow_missing_weights): " +
                      listed(missing));
    return out;
}

// The folder's tensors into model's parameters of the same (canonical) names; isHead: the parameters a task adds.
// keepHead false: the file's head tensors are reported unused and the model's head stays as initialized.
static Result<WeightsReport> loadModuleWeights(torch::nn::Module &model, const std::string &backbonePrefix,
                                         const std::function<bool(const std::string &)> &isHead,
                                         const hf::CheckpointFolder &folder, bool allowMissing, bool keepHead)
{
    fs::path file = folder.weightsPath; // for messages: the file (the shard) being read
    std::map<std::string, torch::Tensor> params;
    for (auto &p : model.named_parameters())
        params.emplace(p.key(), p.value());
    WeightsReport report;
    struct Source {
        std::string key;
        bool bare; // named without the backbone's prefix ("encoder.layer..." for "bert.encoder.layer...")
    };
    std::map<std::string, Source> loaded; // parameter name -> the checkpoint's key it was loaded from
    torch::NoGradGuard noGrad;
    const TensorVisitor copyOne = [&](const std::string &key, const torch::Tensor &value) -> Status {
        const std::string name = canonicalKey(key, backbonePrefix);
        if (name.empty())
            return okStatus();
        auto it = params.find(name);
        if (it == params.end() || (!keepHead && isHead(name))) {
            report.unused.push_back(key);
            return okStatus();
        }
        const bool bare = name.starts_with(backbonePrefix) && !key.starts_with(backbonePrefix);
        if (const auto seen = loaded.find(name); seen != loaded.end()) {
            // Two tensors for one weight (bert.X and X): the prefixed one is loaded, as transformers does.
            if (bare || !seen->second.bare) {
                report.unused.push_back(key);
                return okStatus();
            }
            report.unused.push_back(seen->second.key);
        }
        if (!value.is_floating_point())
            return badInput(file.string() + ": '" + key + "' holds integers (" + std::string(c10::toString(
                            value.scalar_type())) + "), not a weight: the checkpoint is damaged or not an encoder's");
        // The shape first: a strided view of a small storage may claim a huge one, which checking its values
        // would allocate.
        if (it->second.sizes() != value.sizes()) {
            if (isHead(name)) { // a classifier for other labels: this task's head starts anew
                report.unused.push_back(key);
                return okStatus();
            }
            return badInput(file.string() + ": '" + key + "' has shape " + shapeText(value.sizes()) +
                            " but the model built from config.json needs " + shapeText(it->second.sizes()));
        }
        if (!torch::isfinite(value).all().item<bool>())
            return badInput(file.string() + ": '" + key + "' holds NaN or infinite values: the checkpoint is damaged "
                            "(or was saved from a run that diverged)");
        it->second.copy_(value);
        loaded[name] = Source{key, bare};
        return okStatus();
    };
    for (const auto &shard : folder.weightFiles()) {
        file = shard;
        const Status read = folder.weights == hf::WeightsFormat::PytorchBin ? visitPytorchBin(file, copyOne)
                                                                             : visitSafetensors(file, copyOne);
        if (!read)
            return read.error();
    }
    file = folder.weightsPath;
    for (const auto &[name, _] : params) {
        if (loaded.count(name))
            continue;
        const bool expected = isHead(name) || name.find(".pooler.") != std::string::npos;
        (expected ? report.newlyInitialized : report.missing).push_back(name);
    }
    report.loaded = loaded.size();
    if (!report.missing.empty() && !allowMissing)
        return badInput(file.string() + ": " + std::to_string(report.missing.size()) +
                        " weights of the encoder are missing: " + listed(report.missing) +
                        " (set model.allow_missing_weights to start them at random)");
    return report;
}

Result<WeightsReport> loadEncoderWeights(EncoderClassifierImpl &model, const hf::CheckpointFolder &folder,
                                         bool allowMissing, bool keepHead)
{
    const auto isHead = [&model](const std::string &name) { return model.isHead(name); };
    return loadModuleWeights(model, model.backbonePrefix(), isHead, folder, allowMissing, keepHead);
}

Result<WeightsReport> loadEncoderWeights(EncoderMaskedLMImpl &model, const hf::CheckpointFolder &folder,
                                         bool allowMissing)
{
    const auto isHead = [](const std::string &name) { return name.rfind("cls.", 0) == 0 || name.rfind("lm_head.", 0) == 0; };
    auto report = loadModuleWeights(model, model.backbonePrefix(), isHead, folder, allowMissing, true);
    // The file's copies of tied weights are not weights left unused (transformers does not list them either): the
    // decoder's bias is the head's bias, and a tied decoder's weight is the word embeddings, both loaded.
    const auto params = model.named_parameters();
    const bool tied = std::none_of(params.begin(), params.end(),
                                   [](const auto &p) { return p.key().ends_with("decoder.weight"); });
    if (report)
        std::erase_if(report->unused, [tied](const std::string &key) {
            return key.ends_with("decoder.bias") || (tied && key.ends_with("decoder.weight"));
        });
    return report;
}

Status saveTensors(const std::vector<std::pair<std::string, torch::Tensor>> &named, const fs::path &file)
{
    std::vector<torch::Tensor> keep; // owns the bytes the views point at
    std::vector<hf::TensorView> views;
    for (const auto &[name, tensor] : named) {
        const torch::Tensor t = tensor.detach().to(torch::kCPU, torch::kFloat).contiguous();
        keep.push_back(t);
        views.push_back({name, hf::DType::F32, t.sizes().vec(), t.data_ptr(), size_t(t.nbytes())});
    }
    return hf::writeSafetensors(file, views, {{"format", "pt"}});
}

Status saveEncoderWeights(EncoderClassifierImpl &model, const fs::path &file, bool binaryAsTwo)
{
    std::vector<std::pair<std::string, torch::Tensor>> named;
    for (const auto &p : model.named_parameters()) {
        torch::Tensor t = p.value();
        if (binaryAsTwo && model.isLogits(p.key()))
            t = torch::cat({torch::zeros_like(t), t}, 0);
        named.emplace_back(p.key(), t);
    }
    return saveTensors(named, file);
}

} // namespace lbk
