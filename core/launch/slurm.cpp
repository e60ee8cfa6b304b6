#include "launch/slurm.h"

namespace lbk {

std::optional<SlurmJob> parseScontrolJob(const std::string &text)
{
    // One line of Key=Value pairs separated by spaces (values of the fields read here hold no spaces, except
    // Reason, which runs up to the next " Key=").
    auto field = [&](const std::string &key) -> std::optional<std::string> {
        size_t pos = 0;
        while ((pos = text.find(key + "=", pos)) != std::string::npos) {
            if (pos == 0 || text[pos - 1] == ' ' || text[pos - 1] == '\n')
                break;
            pos += key.size();
        }
        if (pos == std::string::npos)
            return std::nullopt;
        const size_t start = pos + key.size() + 1;
        size_t end = text.find_first_of(" \n", start);
        if (key == "Reason") {
            // "Reason=Resources Dependency=(null)": up to the next key
            end = start;
            while (end < text.size()) {
                const size_t sp = text.find_first_of(" \n", end);
                if (sp == std::string::npos) {
                    end = text.size();
                    break;
                }
                const size_t eq = text.find('=', sp + 1);
                const size_t nextSp = text.find_first_of(" \n", sp + 1);
                if (eq != std::string::npos && (nextSp == std::string::npos || eq < nextSp)) {
                    end = sp;
                    break;
                }
                end = sp + 1;
            }
        }
        return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    };
    auto state = field("JobState");
    if (!state)
        return std::nullopt;
    SlurmJob job;
    job.state = *state;
    job.reason = field("Reason").value_or("");
    if (job.reason == "None")
        job.reason.clear();
    job.exitCode = field("ExitCode").value_or("");
    job.timeLimit = field("TimeLimit").value_or("");
    return job;
}

std::optional<RunStatus> runStatusForSlurmState(const std::string &state)
{
    if (state == "COMPLETED")
        return RunStatus::Finished;
    if (state == "CANCELLED")
        return RunStatus::Cancelled;
    if (state == "FAILED" || state == "TIMEOUT" || state == "NODE_FAIL" || state == "OUT_OF_MEMORY" ||
        state == "BOOT_FAIL" || state == "DEADLINE")
        return RunStatus::Failed;
    if (state == "PREEMPTED")
        return RunStatus::Interrupted;
    return std::nullopt; // PENDING, RUNNING, CONFIGURING, COMPLETING, SUSPENDED, REQUEUED, ...
}

} // namespace lbk
