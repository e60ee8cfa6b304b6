#pragma once
// Data-parallel training across processes (training.processes > 1) with torch.distributed's c10d: Gloo on CPU,
// NCCL on CUDA when LibTorch was built with it. Ranks meet through a FileStore (a file in the run folder, so a
// test or a single machine needs no open port; on a cluster the run folder is on the shared file system).
// Include only from engine translation units: this header uses LibTorch types, and the c10d headers stay in
// distributed.cpp so the trainer compiles without them.
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "experiment/experiment.h"

namespace lbk {

struct CollectiveOptions {
    int rank = 0;
    int world = 1;
    std::filesystem::path rendezvous; // the FileStore file: unique per launch
    CollectiveBackend backend = CollectiveBackend::Auto;
    torch::Device device = torch::kCPU;
    bool loopback = true;             // Gloo binds 127.0.0.1 (one machine); else this host's address
    // How long a collective waits (a dead peer is noticed at once, by its closed connection): the other ranks
    // wait in one while rank 0 evaluates and checkpoints.
    std::chrono::milliseconds timeout = std::chrono::hours(2);
};

// One process's membership of the group. Every call is collective: each rank makes the same calls in the same
// order. Errors (a peer that died, a timeout) are thrown as c10::Error.
class Collective {
public:
    // Opens the rendezvous; no connection yet. Ranks tell each other how their preparation went through it:
    // rank 0 prepares the run (data, tokenizer) and then announces the outcome ("ok", or why it stopped); the
    // other ranks wait for that, so they load rank 0's tokenizer and never connect to a group whose first rank
    // has failed, and announce their own outcome, which rank 0 polls while it watches them.
    static std::unique_ptr<Collective> open(const CollectiveOptions &options);
    void announce(const std::string &key, const std::string &status);
    std::string awaitAnnouncement(const std::string &key, std::chrono::milliseconds timeout);
    std::optional<std::string> announcement(const std::string &key); // without waiting
    // Builds the process group: blocks until every rank has connected (or the options' timeout passes).
    void connect();
    ~Collective();
    Collective(const Collective &) = delete;
    Collective &operator=(const Collective &) = delete;

    int rank() const { return m_rank; }
    int world() const { return m_world; }
    CollectiveBackend backend() const { return m_backend; } // never Auto

    // Rank 0's values into every rank's tensors (parameters at the start, so every rank begins alike).
    void broadcast(const std::vector<torch::Tensor> &tensors);
    // Sums in place across ranks.
    void sum(torch::Tensor &t);
    // The largest of every rank's value (a control word: stop, cancel).
    int64_t max(int64_t value);
    // Whether every rank holds the same values as rank 0 (the same answer on every rank).
    bool agree(const std::vector<int64_t> &values);
    // Averages the gradients of `params` across ranks: the dense ones flattened into one all-reduce, a row-sparse
    // one (the bag model's table) through the sparse all-reduce. A parameter without a gradient on this rank
    // (an empty share of a short last batch) takes part with zeros, so every rank sends the same shapes.
    // `sparseParam` (may be undefined) is the one parameter whose gradient is row-sparse.
    void averageGradients(const std::vector<torch::Tensor> &params, const torch::Tensor &sparseParam);

private:
    Collective() = default;
    struct Group;
    std::unique_ptr<Group> m_group;
    int m_rank = 0, m_world = 1;
    CollectiveBackend m_backend = CollectiveBackend::Gloo;
    torch::Device m_device = torch::kCPU;
    bool m_loopback = true;
    std::chrono::milliseconds m_timeout{0};
};

// The share of a global batch [begin, end) that `rank` of `world` trains on: contiguous, sizes differing by at
// most one, empty when the batch has fewer examples than ranks.
inline std::pair<size_t, size_t> rankShare(size_t begin, size_t end, int rank, int world)
{
    const size_t n = end - begin;
    return {begin + n * size_t(rank) / size_t(world), begin + n * size_t(rank + 1) / size_t(world)};
}

} // namespace lbk
