#pragma once
// The further processes of a data-parallel run on one machine (training.processes > 1 outside Slurm): rank 0's
// worker starts ranks 1.. as copies of itself, watches them and reaps them. Process handling only, no LibTorch;
// the collective they then join is engine/distributed.h.
#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

#include "util/result.h"

namespace lbk {

// The rank of a task srun started in a step of several tasks, else -1. Needs srun's own variables, so a worker
// merely started inside an allocation (salloc -n 4, a batch script) is not taken for one.
int slurmTaskRank();

class PeerProcesses {
public:
    PeerProcesses() = default;
    PeerProcesses(const PeerProcesses &) = delete;
    PeerProcesses &operator=(const PeerProcesses &) = delete;
    ~PeerProcesses() { reap(false); }

    // Starts this program once per rank 1..world-1 with `argsFor(rank)` as its arguments (argv[1]...). Each dies
    // with this process, whatever kills it.
    template <class ArgsFor>
    Status start(int world, ArgsFor argsFor)
    {
        for (int r = 1; r < world; ++r)
            if (auto started = startOne(r, argsFor(r)); !started)
                return started;
        return Unit{};
    }
    // Waits for every rank started; after a failure kills them first (they would wait for rank 0).
    void reap(bool success);
    // "training process 1 (pid 123) was killed by signal 9" for a started rank that has ended, waiting up to
    // `grace` for one to end (a collective fails a moment before the peer's exit is reaped); empty when none has.
    std::string dead(std::chrono::milliseconds grace);

private:
    Status startOne(int rank, std::vector<std::string> args);
    std::vector<pid_t> m_pids; // by rank - 1; -1 once reaped
};

} // namespace lbk
