// The worker process: loads the run's experiment, picks the device, joins or starts the other processes of a
// data-parallel run, lets the objective prepare its data, and hands over to the step loop or the LR range test.
// Whatever goes wrong ends as a failed event in the journal, never as an exception out of runWorker.
#include <atomic>
#include <csignal>
#include <thread>
#include <unistd.h>

#include "engine/distributed.h"
#include "engine/engine.h"
#include "engine/objective.h"
#include "engine/optim.h"
#include "engine/peers.h"
#include "engine/runcontext.h"
#include "engine/threads.h"
#include "engine/trainer.h"
#include "experiment/schema.h"
#include "launch/process.h"
#include "store/runfiles.h"

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::atomic<bool> g_cancel{false};

std::string hostName()
{
    char buf[256] = {0};
    ::gethostname(buf, sizeof buf - 1);
    return buf;
}

class Worker {
public:
    explicit Worker(WorkerOptions options) { m_ctx.options = std::move(options); }
    int run();

private:
    Status loadExperiment();
    Status chooseDevice();
    Status joinProcesses();
    Status startPeers(CollectiveOptions &co);
    Status awaitPeers();
    Status prepareTogether();
    void choosePrecision();
    int runStages();
    // An error of a run with several processes says which rank saw it, and, when one of the ranks this process
    // started has died (its death surfaces here as a collective's connection error), which and how.
    int failWithPeers(const std::string &error);

    RunContext m_ctx;
    std::unique_ptr<Collective> m_dist;
    std::unique_ptr<Objective> m_objective;
    PeerProcesses m_peers; // ranks 1.. started by this process (rank 0 outside Slurm)
    fs::path m_rendezvous;
};

Status Worker::loadExperiment()
{
    const fs::path file = m_ctx.options.runDir / runfiles::kExperiment;
    auto cfg = readJsonFile(file);
    if (!cfg)
        return cfg.error();
    auto exp = experimentFromRecorded(*cfg);
    if (!exp)
        return Error{file.string() + ": " + exp.message()};
    m_ctx.exp = std::move(*exp);
    return Unit{};
}

Status Worker::chooseDevice()
{
    const TrainingDevice dev = m_ctx.exp.training.device;
    if (dev == TrainingDevice::Cuda && !torch::cuda::is_available())
        return Error{"training.device: \"cuda\" was asked for, but no CUDA device is available on " + hostName() +
                     "; use \"auto\" or \"cpu\""};
    m_ctx.device = (dev != TrainingDevice::Cpu && torch::cuda::is_available()) ? torch::Device(torch::kCUDA)
                                                                               : torch::Device(torch::kCPU);
    return Unit{};
}

// Rank 0 starts the others on this machine. The rendezvous file is new for every launch: a FileStore left by a
// killed run must never be joined.
Status Worker::startPeers(CollectiveOptions &co)
{
    const auto &o = m_ctx.options;
    std::error_code ec;
    for (const auto &f : fs::directory_iterator(o.runDir, ec)) // left by launches that were killed
        if (f.path().filename().string().rfind("rendezvous-", 0) == 0)
            fs::remove(f.path(), ec);
    co.rendezvous = o.runDir / ("rendezvous-" + std::to_string(::getpid()) + "-" +
                                std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    return m_peers.start(m_ctx.world, [&](int rank) {
        std::vector<std::string> args = {"worker", "--run-dir", o.runDir.string(), "--run", o.runUid, "--rank",
                                         std::to_string(rank), "--world-size", std::to_string(m_ctx.world),
                                         "--rendezvous", co.rendezvous.string()};
        if (!o.dataRoot.empty())
            args.insert(args.end(), {"--data-root", o.dataRoot});
        if (!o.cacheDir.empty())
            args.insert(args.end(), {"--cache-dir", o.cacheDir.string()});
        if (o.resume)
            args.push_back("--resume");
        return args;
    });
}

// This process's place in a data-parallel run: a rank started by rank 0's worker (--rank), one task of a
// multi-task step that srun started (Slurm started every rank), or rank 0 of training.processes > 1 on one machine.
Status Worker::joinProcesses()
{
    const int processes = m_ctx.exp.training.processes;
    const bool lrFind = m_ctx.options.lrFind;
    CollectiveOptions co;
    co.backend = m_ctx.exp.training.backend;
    if (m_ctx.options.rank >= 0) {
        m_ctx.rank = m_ctx.options.rank;
        m_ctx.world = m_ctx.options.world;
        co.rendezvous = m_ctx.options.rendezvous;
    } else if (slurmTaskRank() >= 0) {
        const char *tasks = std::getenv("SLURM_NTASKS");
        if (std::atoi(tasks) != processes || lrFind)
            return Error{"the Slurm job step has " + std::string(tasks) + " tasks but the run needs " +
                         std::to_string(lrFind ? 1 : processes) + " (training.processes)"};
        auto env = [](const char *name) { const char *v = std::getenv(name); return std::string(v ? v : "0"); };
        m_ctx.rank = slurmTaskRank();
        m_ctx.world = processes;
        // A requeued job keeps its id and step numbers: the restart count keeps the old file from being joined.
        co.rendezvous = m_ctx.options.runDir / ("rendezvous-slurm-" + env("SLURM_JOB_ID") + "." + env("SLURM_STEP_ID") +
                                                "." + env("SLURM_RESTART_COUNT"));
        const char *nodes = std::getenv("SLURM_NNODES");
        co.loopback = !nodes || std::atoi(nodes) <= 1;
    } else if (processes > 1 && !lrFind) {
        m_ctx.world = processes;
        if (auto started = startPeers(co); !started)
            return started;
    }
    if (m_ctx.world <= 1)
        return Unit{};
    if (m_ctx.rank < 0 || m_ctx.rank >= m_ctx.world)
        return Error{"rank " + std::to_string(m_ctx.rank) + " is outside 0.." + std::to_string(m_ctx.world - 1)};
    if (m_ctx.device.is_cuda()) {
        const char *local = std::getenv("SLURM_LOCALID"); // the task's index on its node
        const int index = local && slurmTaskRank() >= 0 ? std::atoi(local) : m_ctx.rank;
        m_ctx.device = torch::Device(torch::kCUDA, torch::DeviceIndex(index % int(torch::cuda::device_count())));
    }
    co.rank = m_ctx.rank;
    co.world = m_ctx.world;
    co.device = m_ctx.device;
    m_dist = Collective::open(co);
    m_ctx.dist = m_dist.get();
    m_rendezvous = co.rendezvous;
    return Unit{};
}

// Rank 0 waits until every other rank has prepared its data, watching the ranks it started: one that exits (bad
// data, out of memory) fails the run at once with its exit status, instead of a collective's timeout.
Status Worker::awaitPeers()
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(30);
    for (int r = 1; r < m_ctx.world; ++r) {
        const std::string key = "prepared/" + std::to_string(r);
        for (;;) {
            if (auto status = m_dist->announcement(key)) {
                if (*status != "ok")
                    return Error{"training process " + std::to_string(r) + ": " + *status};
                break;
            }
            if (const std::string dead = m_peers.dead(std::chrono::milliseconds(0)); !dead.empty())
                return Error{dead + " before training began; its messages are in worker.log"};
            if (cancelRequested())
                return Error{"cancelled while the training processes were starting"};
            if (std::chrono::steady_clock::now() > deadline)
                return Error{"training process " + std::to_string(r) + " did not report within 30 minutes"};
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    return Unit{};
}

// The objective prepares its data: rank 0 first (it reads the data and trains or loads the tokenizer), then the
// other ranks, which load its tokenizer. Each tells the others how it went through the rendezvous, so no rank
// connects to a group whose first rank has failed. An error has been reported when this returns one.
Status Worker::prepareTogether()
{
    m_objective = makeObjective(m_ctx);
    if (m_dist && m_ctx.rank > 0 && m_dist->awaitAnnouncement("ready", std::chrono::hours(6)) != "ok")
        return Error{""}; // rank 0 has reported why
    auto ready = m_objective->prepare();
    if (!ready)
        m_ctx.fail(ready.message()); // recorded before the other ranks hear of it
    if (m_dist)
        m_dist->announce(m_ctx.rank == 0 ? "ready" : "prepared/" + std::to_string(m_ctx.rank),
                         ready ? "ok" : ready.message());
    return ready ? Status(Unit{}) : Status(Error{""});
}

// training.precision "bf16" where the hardware computes in it natively; elsewhere fp32 with a warning.
void Worker::choosePrecision()
{
    m_ctx.precision = m_ctx.exp.config.value("training", json::object()).value("precision", std::string("fp32"));
    if (m_ctx.precision != "bf16")
        return;
    if (m_ctx.device.is_cuda() || cpuHasNativeBf16()) {
        m_ctx.bf16 = true;
        return;
    }
    m_ctx.precision = "fp32";
    m_ctx.log("warning", "training.precision \"bf16\": this CPU has no native bfloat16 arithmetic "
                         "(AVX512-BF16 or AMX), where emulated bf16 is slower than fp32; training in fp32");
}

// Everything up to and including training; the caller reaps the peers and removes the rendezvous whatever happens.
int Worker::runStages()
{
    for (auto stage : {&Worker::loadExperiment, &Worker::chooseDevice, &Worker::joinProcesses})
        if (auto done = (this->*stage)(); !done)
            return m_ctx.fail(done.message());
    if (!prepareTogether())
        return kWorkerFailed;
    if (m_dist && m_ctx.rank == 0)
        if (auto peers = awaitPeers(); !peers) {
            if (cancelRequested()) {
                m_ctx.emit("cancelled", {{"step", m_ctx.step}});
                return kWorkerCancelled;
            }
            return m_ctx.fail(peers.message());
        }
    if (m_dist)
        m_dist->connect();
    if (const char *wait = std::getenv("OMP_WAIT_POLICY"); wait && m_ctx.rank == 0)
        m_ctx.log("info", std::string("OMP_WAIT_POLICY=") + wait +
                              " (lbk sets PASSIVE when another Labbook engine runs on this machine: CPU-bound engines "
                              "at once are much faster waiting passively, one alone spinning)");
    setComputeThreads(m_ctx.threadsPerProcess());
    if (blasThreading() == BlasThreading::Pthreads && m_ctx.threadsPerProcess() > 1 && m_ctx.exp.model.hasSequence() &&
        m_ctx.rank == 0)
        m_ctx.log("warning", "the BLAS is OpenBLAS's pthreads build, whose threads spin beside LibTorch's OpenMP "
                             "threads: sequence models and encoders train up to half as fast as with its OpenMP "
                             "build. Install libopenblas0-openmp and select it for libblas.so.3, liblapack.so.3 and "
                             "libopenblas.so.0 (update-alternatives), as packaging/bootstrap.sh (./run.sh) does");
    choosePrecision();
    return m_ctx.options.lrFind ? lrRangeTest(m_ctx, *m_objective) : trainRun(m_ctx, *m_objective);
}

int Worker::failWithPeers(const std::string &error)
{
    if (!m_dist)
        return m_ctx.fail(error);
    const std::string dead = m_peers.dead(std::chrono::milliseconds(500));
    const std::string where = "training process " + std::to_string(m_ctx.rank) + " of " + std::to_string(m_ctx.world) +
                              " (" + toString(m_dist->backend()) + ")";
    if (!dead.empty())
        return m_ctx.fail(dead + " at step " + std::to_string(m_ctx.step) + "; " + where + " stopped: " + error);
    return m_ctx.fail(where + ": " + error);
}

int Worker::run()
{
    // Only rank 0 (or the only process) reports. A rank is known from --rank, or from Slurm for srun's tasks.
    const auto &o = m_ctx.options;
    m_ctx.processStarted = wallTime();
    if (o.rank > 0)
        m_ctx.rank = o.rank;
    else if (const int id = slurmTaskRank(); o.rank < 0 && id > 0)
        m_ctx.rank = id;
    std::unique_ptr<JournalWriter> journal;
    if (m_ctx.rank == 0) {
        auto writer = JournalWriter::open(o.journal.empty() ? o.runDir / runfiles::kJournal : o.journal);
        if (!writer) {
            std::fprintf(stderr, "lbk worker: %s\n", writer.message().c_str());
            return kWorkerFailed;
        }
        journal = std::move(*writer);
        m_ctx.journal = journal.get();
    }
    int code = kWorkerFailed;
    try {
        code = runStages();
    } catch (const c10::Error &err) {
        code = failWithPeers("LibTorch error at step " + std::to_string(m_ctx.step) + ": " + err.what_without_backtrace());
    } catch (const std::exception &err) {
        code = failWithPeers("error at step " + std::to_string(m_ctx.step) + ": " + err.what());
    }
    m_peers.reap(code != kWorkerFailed);
    m_ctx.dist = nullptr;
    m_dist.reset();
    if (m_ctx.rank == 0 && !m_rendezvous.empty()) {
        std::error_code ec;
        fs::remove(m_rendezvous, ec);
    }
    return code;
}

} // namespace

int RunContext::threadsPerProcess() const
{
    return std::max(1, threadCount(exp.training.threads) / world);
}

int RunContext::fail(const std::string &reason) const
{
    emit("failed", {{"step", step}, {"reason", reason}});
    if (world > 1)
        std::fprintf(stderr, "lbk worker (rank %d of %d): %s\n", rank, world, reason.c_str());
    else
        std::fprintf(stderr, "lbk worker: %s\n", reason.c_str());
    return kWorkerFailed;
}

void RunContext::started(const std::string &kind, int64_t totalSteps, int64_t resumedFrom, json data) const
{
    json f = {{"run", options.runUid},
              {"kind", kind},
              {"config", exp.config},
              {"host", hostName()},
              {"pid", int64_t(::getpid())},
              {"pid_start", processStartTime(::getpid())},
              {"device", device.str()},
              {"precision", precision},
              {"threads", at::get_num_threads()},
              {"processes", world},
              {"version", LABBOOK_VERSION},
              {"engine", engineDescription()},
              {"total_steps", totalSteps},
              {"process_started", processStarted},
              {"data", std::move(data)}};
    if (resumedFrom >= 0)
        f["resumed_from_step"] = resumedFrom;
    if (dist)
        f["backend"] = toString(dist->backend());
    emit("run_started", f);
}

void requestCancel()
{
    g_cancel.store(true);
}

bool cancelRequested()
{
    return g_cancel.load(std::memory_order_relaxed);
}

std::string engineDescription()
{
    std::string s = "LibTorch " + std::string(TORCH_VERSION) + ", ";
    s += torch::cuda::is_available() ? "cuda (" + std::to_string(torch::cuda::device_count()) + " devices)" : "cpu";
    return s;
}

int runWorker(const WorkerOptions &options)
{
    Worker w(options);
    return w.run();
}

} // namespace lbk
