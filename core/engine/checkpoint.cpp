#include "engine/checkpoint.h"

#include <cstdio>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include <ATen/Parallel.h>

#include "engine/models.h"
#include "engine/optim.h"
#include "hf/torchzip.h"

namespace lbk {

namespace fs = std::filesystem;

namespace {

// LibTorch's archive writer cannot fail cleanly: when the disk fills mid-write its destructor throws again while
// the first error unwinds, which ends the process before anything is recorded. So check first: the checkpoint
// needs about its previous size, or the weights (and two optimizer moments) the first time.
void checkSpaceFor(const fs::path &file, const torch::nn::Module &model, bool withOptimizer)
{
    std::error_code ec;
    uintmax_t need = fs::exists(file, ec) ? fs::file_size(file, ec) : 0;
    if (need == 0 || ec)
        for (const auto &p : model.parameters())
            need += uintmax_t(p.numel()) * uintmax_t(p.element_size()) * (withOptimizer ? 3 : 1);
    const uintmax_t checkpoint = need;
    need += need / 20 + (16u << 20); // margin, and room left for the journal
    const auto space = fs::space(file.parent_path(), ec);
    // The run folder (checkpoints/ is in it) is named by the run's uid, which `lbk resume` takes.
    const std::string uid = file.parent_path().parent_path().filename().string();
    if (!ec && space.available < need)
        throw std::runtime_error("not enough disk space for the checkpoint " + file.string() + ": it needs about " +
                                 std::to_string(std::max<uintmax_t>(1, checkpoint >> 20)) +
                                 " MB, and 16 MB more are kept for the run's journal; " +
                                 std::to_string(space.available >> 20) + " MB are free. Free some space, then `lbk "
                                 "resume " + uid + "` goes on from the last checkpoint");
}

// Written next to the target (named by pid, so two processes never share a temporary), flushed to disk and
// renamed: a kill or a power cut mid-write leaves the previous checkpoint whole.
void saveAtomically(torch::serialize::OutputArchive &archive, const fs::path &file)
{
    const fs::path tmp = file.string() + "." + std::to_string(::getpid()) + ".tmp";
    archive.save_to(tmp.string());
    if (const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
    fs::rename(tmp, file);
    if (const int dir = ::open(file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
        ::fsync(dir); // the rename itself
        ::close(dir);
    }
}

// A bag model's n-gram table is mostly rows no batch touched (2M buckets over 92k titles: about four in five),
// still at their initial values, which its seed regenerates (BagModelImpl::initialRows). A checkpoint writes only
// the rows that differ, their indices and the seed, under "<key>#rows", "<key>#values" and "<key>#seed"; loading
// regenerates the rest exactly.
struct CompactTable {
    std::string key; // "model.<parameter name>"; empty: the model has no bag table
    torch::Tensor weight;
    uint64_t seed = 0;
};

CompactTable compactTableOf(const torch::nn::Module &model)
{
    const BagModelImpl *bag = bagOf(model);
    if (!bag)
        return {};
    const torch::Tensor table = bag->embeddingWeight();
    for (const auto &p : model.named_parameters())
        if (p.value().is_same(table))
            return {"model." + p.key(), table, bag->initSeed()};
    return {};
}

// The indices of the rows that differ from their initial values.
torch::Tensor changedRows(const torch::Tensor &table, uint64_t seed)
{
    const int64_t rows = table.size(0), dim = table.size(1);
    const float *data = table.data_ptr<float>();
    std::vector<uint8_t> changed(size_t(rows), 0);
    at::parallel_for(0, rows, 4096, [&](int64_t begin, int64_t end) {
        std::vector<float> initial(static_cast<size_t>(dim));
        for (int64_t r = begin; r < end; ++r) {
            BagModelImpl::initialRows(initial.data(), r, 1, dim, seed);
            changed[size_t(r)] = std::memcmp(initial.data(), data + r * dim, size_t(dim) * sizeof(float)) != 0;
        }
    });
    std::vector<int64_t> indices;
    for (int64_t r = 0; r < rows; ++r)
        if (changed[size_t(r)])
            indices.push_back(r);
    return torch::from_blob(indices.data(), {int64_t(indices.size())}, torch::kLong).clone();
}

void writeCompactTable(torch::serialize::OutputArchive &archive, const CompactTable &t)
{
    const torch::Tensor table = t.weight.detach().cpu().contiguous();
    const torch::Tensor rows = changedRows(table, t.seed);
    archive.write(t.key + "#rows", rows, /*is_buffer=*/true);
    archive.write(t.key + "#values", table.index_select(0, rows), /*is_buffer=*/true);
    archive.write(t.key + "#seed", torch::tensor(int64_t(t.seed)), /*is_buffer=*/true);
}

// The table from its changed rows and its seed, into `weight` (whose shape is the model's).
void readCompactTable(torch::serialize::InputArchive &archive, const std::string &key, torch::Tensor &weight,
                      BagModelImpl &bag)
{
    torch::Tensor rows, values, seed;
    archive.read(key + "#rows", rows, /*is_buffer=*/true);
    archive.read(key + "#values", values, /*is_buffer=*/true);
    archive.read(key + "#seed", seed, /*is_buffer=*/true);
    const int64_t n = weight.size(0), dim = weight.size(1);
    if (rows.dim() != 1 || values.dim() != 2 || values.size(0) != rows.size(0) || values.size(1) != dim ||
        seed.numel() != 1 || (rows.numel() > 0 && (rows.min().item<int64_t>() < 0 || rows.max().item<int64_t>() >= n)))
        throw std::runtime_error("its table " + key + " does not fit this model (" + std::to_string(n) + " x " +
                                 std::to_string(dim) + ")");
    const auto s = uint64_t(seed.item<int64_t>());
    // In place where the weight is a plain CPU table (no second copy of it in memory while scoring).
    const bool inPlace = weight.device().is_cpu() && weight.is_contiguous() && weight.scalar_type() == torch::kFloat;
    torch::Tensor table = inPlace ? weight : torch::empty({n, dim}, torch::kFloat);
    float *data = table.data_ptr<float>();
    at::parallel_for(0, n, 4096, [&](int64_t begin, int64_t end) {
        BagModelImpl::initialRows(data + begin * dim, begin, end - begin, dim, s);
    });
    // The archive was loaded onto the run's device; the table is on the CPU unless the weight is.
    table.index_copy_(0, rows.to(table.device()), values.to(table.device(), torch::kFloat));
    if (!inPlace)
        weight.copy_(table);
    bag.setInitSeed(s);
}

bool readCheckpoint(const fs::path &file, torch::nn::Module &model, torch::Device device, TrainerOptimizer *opt,
                    CheckpointCounters *counters)
{
    torch::serialize::InputArchive archive;
    archive.load_from(file.string(), device);
    torch::NoGradGuard noGrad;
    auto *classifier = dynamic_cast<ClassifierImpl *>(&model);
    BagModelImpl *bag = classifier ? classifier->bag() : nullptr;
    for (auto &p : model.named_parameters()) {
        torch::Tensor t;
        if (bag && p.value().is_same(bag->embeddingWeight()) && !archive.try_read("model." + p.key(), t)) {
            readCompactTable(archive, "model." + p.key(), p.value(), *bag);
            continue;
        }
        if (!t.defined())
            archive.read("model." + p.key(), t);
        p.value().copy_(t);
    }
    for (auto &b : model.named_buffers()) {
        torch::Tensor t;
        archive.read("model." + b.key(), t, /*is_buffer=*/true);
        b.value().copy_(t);
    }
    // Checkpoints from before the checksum have none, and load as they did.
    if (torch::Tensor written; archive.try_read("weights_checksum", written) &&
                               uint64_t(written.item<int64_t>()) != weightsChecksum(model))
        throw std::runtime_error("its weights do not match the checksum written with them: the file is damaged");
    if (opt) {
        torch::serialize::InputArchive optArchive;
        archive.read("optimizer", optArchive);
        opt->load(optArchive);
    }
    if (counters) {
        // A fresh tensor for each read: InputArchive::read into a defined tensor keeps that tensor's dtype and
        // reinterprets the stored bytes (a double read into the step's int64 tensor came back as 4.6e18).
        torch::Tensor stepT, bestT, bestLossT, badT;
        if (archive.try_read("step", stepT))
            counters->step = stepT.item<int64_t>();
        if (archive.try_read("best", bestT))
            counters->best = bestT.item<double>();
        if (archive.try_read("best_loss", bestLossT)) // (a checkpoint from before ties were broken has none)
            counters->bestLoss = bestLossT.item<double>();
        if (archive.try_read("bad_evals", badT))
            counters->badEvals = int(badT.item<int64_t>());
    }
    return true;
}

} // namespace

uint64_t weightsChecksum(const torch::nn::Module &model)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    const auto mix = [&h](uint64_t word) { h = (h ^ word) * 0x100000001b3ULL; };
    const auto add = [&](const std::string &name, const torch::Tensor &value) {
        for (char c : name)
            mix(uint8_t(c));
        const torch::Tensor t = value.detach().cpu().contiguous();
        const auto *bytes = static_cast<const unsigned char *>(t.data_ptr());
        const size_t n = size_t(t.numel()) * t.element_size();
        size_t i = 0;
        for (uint64_t word; i + 8 <= n; i += 8) {
            std::memcpy(&word, bytes + i, 8);
            mix(word);
        }
        for (; i < n; ++i)
            mix(bytes[i]);
    };
    for (const auto &p : model.named_parameters())
        add(p.key(), p.value());
    for (const auto &b : model.named_buffers())
        add(b.key(), b.value());
    return h;
}

std::string weightsChecksumText(const torch::nn::Module &model)
{
    char text[32];
    std::snprintf(text, sizeof text, "fnv1a64:%016llx", static_cast<unsigned long long>(weightsChecksum(model)));
    return text;
}

void saveCheckpoint(const fs::path &file, const torch::nn::Module &model, const TrainerOptimizer *opt,
                    const CheckpointCounters &counters)
{
    checkSpaceFor(file, model, opt != nullptr);
    torch::serialize::OutputArchive archive;
    const CompactTable table = compactTableOf(model);
    for (const auto &p : model.named_parameters()) {
        if (!table.key.empty() && p.value().is_same(table.weight))
            writeCompactTable(archive, table);
        else
            archive.write("model." + p.key(), p.value().detach().cpu());
    }
    for (const auto &b : model.named_buffers())
        archive.write("model." + b.key(), b.value().detach().cpu(), /*is_buffer=*/true);
    if (opt) {
        torch::serialize::OutputArchive optArchive;
        opt->save(optArchive);
        archive.write("optimizer", optArchive);
    }
    archive.write("weights_checksum", torch::tensor(int64_t(weightsChecksum(model))));
    archive.write("step", torch::tensor(counters.step));
    archive.write("best", torch::tensor(counters.best, torch::kDouble));
    archive.write("best_loss", torch::tensor(counters.bestLoss, torch::kDouble));
    archive.write("bad_evals", torch::tensor(int64_t(counters.badEvals)));
    saveAtomically(archive, file);
}

bool loadCheckpoint(const fs::path &file, torch::nn::Module &model, torch::Device device, TrainerOptimizer *opt,
                    CheckpointCounters *counters)
{
    if (std::error_code ec; !fs::exists(file, ec))
        return false;
    // A resume trains on from every byte of it (the optimizer's moments have no checksum of their own): each record is
    // checked against its CRC first. Scoring reads the weights alone, which their own checksum covers.
    if (opt)
        if (const std::string damage = hf::zipDamage(file); !damage.empty())
            throw std::runtime_error(file.string() + " cannot be read as this run's checkpoint: it is damaged (" +
                                     damage + ")");
    try {
        return readCheckpoint(file, model, device, opt, counters);
    } catch (const c10::Error &err) {
        // A damaged file, or one another version wrote for a different model or optimizer layout (e.g. a bag_cnn
        // checkpoint from before its CNN had a parameter group of its own).
        throw std::runtime_error(file.string() + " cannot be read as this run's checkpoint: it is damaged, or was "
                                 "written for another model or optimizer layout than the run's experiment.json and "
                                 "labels.json describe (" + err.what_without_backtrace() + ")");
    } catch (const std::runtime_error &err) {
        throw std::runtime_error(file.string() + " cannot be loaded into this run's model (built from its "
                                 "experiment.json and labels.json): " + err.what());
    }
}

} // namespace lbk
