#include "engine/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include "engine/optim.h"

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
    need += need / 20 + (16u << 20); // margin, and room left for the journal
    const auto space = fs::space(file.parent_path(), ec);
    if (!ec && space.available < need)
        throw std::runtime_error("not enough disk space for the checkpoint " + file.string() + ": it needs about " +
                                 std::to_string(need >> 20) + " MB and " + std::to_string(space.available >> 20) +
                                 " MB are free; free some space and `lbk resume` the run (smaller checkpoints: "
                                 "fewer model.ngram_buckets)");
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

bool readCheckpoint(const fs::path &file, torch::nn::Module &model, torch::Device device, TrainerOptimizer *opt,
                    CheckpointCounters *counters)
{
    torch::serialize::InputArchive archive;
    archive.load_from(file.string(), device);
    torch::NoGradGuard noGrad;
    for (auto &p : model.named_parameters()) {
        torch::Tensor t;
        archive.read("model." + p.key(), t);
        p.value().copy_(t);
    }
    for (auto &b : model.named_buffers()) {
        torch::Tensor t;
        archive.read("model." + b.key(), t, /*is_buffer=*/true);
        b.value().copy_(t);
    }
    if (opt) {
        torch::serialize::InputArchive optArchive;
        archive.read("optimizer", optArchive);
        opt->load(optArchive);
    }
    if (counters) {
        // A fresh tensor for each read: InputArchive::read into a defined tensor keeps that tensor's dtype and
        // reinterprets the stored bytes (a double read into the step's int64 tensor came back as 4.6e18).
        torch::Tensor stepT, bestT, badT;
        if (archive.try_read("step", stepT))
            counters->step = stepT.item<int64_t>();
        if (archive.try_read("best", bestT))
            counters->best = bestT.item<double>();
        if (archive.try_read("bad_evals", badT))
            counters->badEvals = int(badT.item<int64_t>());
    }
    return true;
}

} // namespace

void saveCheckpoint(const fs::path &file, const torch::nn::Module &model, const TrainerOptimizer *opt,
                    const CheckpointCounters &counters)
{
    checkSpaceFor(file, model, opt != nullptr);
    torch::serialize::OutputArchive archive;
    for (const auto &p : model.named_parameters())
        archive.write("model." + p.key(), p.value().detach().cpu());
    for (const auto &b : model.named_buffers())
        archive.write("model." + b.key(), b.value().detach().cpu(), /*is_buffer=*/true);
    if (opt) {
        torch::serialize::OutputArchive optArchive;
        opt->save(optArchive);
        archive.write("optimizer", optArchive);
    }
    archive.write("step", torch::tensor(counters.step));
    archive.write("best", torch::tensor(counters.best, torch::kDouble));
    archive.write("bad_evals", torch::tensor(int64_t(counters.badEvals)));
    saveAtomically(archive, file);
}

bool loadCheckpoint(const fs::path &file, torch::nn::Module &model, torch::Device device, TrainerOptimizer *opt,
                    CheckpointCounters *counters)
{
    if (!fs::exists(file))
        return false;
    try {
        return readCheckpoint(file, model, device, opt, counters);
    } catch (const c10::Error &err) {
        // A damaged file, or one another version wrote for a different model or optimizer layout (e.g. a bag_cnn
        // checkpoint from before its CNN had a parameter group of its own).
        throw std::runtime_error(file.string() + " cannot be loaded into this run's model and optimizer (" +
                                 err.what_without_backtrace() + "); start the experiment again as a new run");
    }
}

} // namespace lbk
