#pragma once
// What every part of a worker shares about the run it works on: the experiment, where it runs (device, precision,
// rank), and the journal it reports to. The worker (engine/worker.cpp) owns it and fills it in as it starts;
// the objective and the step loop read it. LibTorch: include only from engine translation units.
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "engine/engine.h"
#include "experiment/experiment.h"
#include "protocol/journal.h"

namespace lbk {

class Collective;

struct RunContext {
    WorkerOptions options;
    Experiment exp;
    torch::Device device = torch::kCPU;
    bool bf16 = false;            // autocast to bfloat16 (training.precision, where the hardware has it)
    std::string precision = "fp32";
    int rank = 0, world = 1;      // data-parallel processes (training.processes)
    Collective *dist = nullptr;   // the group when world > 1
    JournalWriter *journal = nullptr; // rank 0 only: the other processes of a data-parallel run report nothing
    int64_t step = 0;             // the step reached, for messages
    double processStarted = 0;    // wall time the worker began, before its data was read (run_started says it)

    // Compute threads for this process: training.threads shared among the processes on the machine.
    int threadsPerProcess() const;
    void emit(const std::string &type, const nlohmann::json &fields) const
    {
        if (journal)
            journal->emit(type, fields);
    }
    void log(const std::string &level, const std::string &message) const
    {
        emit("log", {{"level", level}, {"message", message}});
    }
    // Records the run as failed at the current step (and says so on stderr); returns kWorkerFailed.
    int fail(const std::string &reason) const;
    // The run_started event: where and how this run trains, with the objective's description of its data.
    void started(const std::string &kind, int64_t totalSteps, int64_t resumedFrom, nlohmann::json data) const;
};

} // namespace lbk
