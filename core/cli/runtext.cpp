#include "cli/runtext.h"

#include <cmath>
#include <cstdio>

namespace lbk::cli {

std::string fmtDuration(double seconds)
{
    if (seconds < 0 || !std::isfinite(seconds))
        return "-";
    char buf[32];
    const auto s = int64_t(seconds);
    if (s < 60)
        std::snprintf(buf, sizeof buf, "%.1fs", seconds);
    else if (s < 3600)
        std::snprintf(buf, sizeof buf, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    else
        std::snprintf(buf, sizeof buf, "%lldh%02lldm", (long long)(s / 3600), (long long)((s % 3600) / 60));
    return buf;
}

std::string fmtDuration(std::optional<double> seconds)
{
    return seconds ? fmtDuration(*seconds) : "-";
}

std::string runOutcome(const RunSummary &run)
{
    const std::string status = run.statusWord(); // "pruned" for a trial its sweep stopped
    if (const auto took = run.duration())
        return status + " after " + fmtDuration(*took);
    // A run that ended before its first step used to read "failed after -".
    return isActive(run.status) ? status : status + " before training began";
}

std::string runHeadline(const RunSummary &run)
{
    std::string line = "Run " + std::to_string(run.id) + " (" + run.uid + ") " + runOutcome(run) + ": " + run.name;
    if (!run.task.empty())
        line += ", " + run.task;
    return line;
}

} // namespace lbk::cli
