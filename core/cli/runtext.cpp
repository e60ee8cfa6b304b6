#include "cli/runtext.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "launch/shellquote.h"

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

namespace {
std::string g_storeWords; // "--store PATH --targets FILE ", each only when not the default
}

void suggestWithStore(const std::string &store, const std::string &targets)
{
    const std::filesystem::path path = Store::pathOr(store);
    g_storeWords = path == Store::defaultPath() ? std::string() : "--store " + shellQuoteForReading(store) + " ";
    if (!targets.empty())
        g_storeWords += "--targets " + shellQuoteForReading(targets) + " ";
}

std::string withStore(const std::string &text)
{
    if (g_storeWords.empty())
        return text;
    std::string out = text;
    const std::string lbk = "`lbk ";
    for (size_t at = out.find(lbk); at != std::string::npos; at = out.find(lbk, at + lbk.size() + g_storeWords.size()))
        out.insert(at + lbk.size(), g_storeWords);
    return out;
}

} // namespace lbk::cli
