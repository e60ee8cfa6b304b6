// The rules read off a run record, kept here so that lbk and the GUI tell the same story about a run.
#include "store/store.h"

#include <algorithm>
#include <chrono>

namespace lbk {

std::optional<double> RunSummary::duration() const
{
    if (startedAt <= 0)
        return std::nullopt;
    if (endedAt > 0) // a resume that ended before its worker started (pausedAt) ran no time after that
        return std::max(0.0, (pausedAt > 0 ? std::min(endedAt, pausedAt) : endedAt) - startedAt - pausedSeconds);
    if (!isActive(status))
        return 0.0; // it ended without saying when (a worker that died unseen): no time can be counted
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const double stoppedSince = pausedAt > 0 ? pausedAt : now; // a queued resume: the clock stands still
    return std::max(0.0, stoppedSince - startedAt - pausedSeconds);
}

std::optional<double> RunSummary::summaryValue(const char *section, const std::string &key) const
{
    if (!summary.is_object())
        return std::nullopt;
    const auto sec = summary.find(section);
    if (sec == summary.end() || !sec->is_object())
        return std::nullopt;
    const auto v = sec->find(key);
    if (v == sec->end() || !v->is_number())
        return std::nullopt;
    return v->get<double>();
}

bool RunSummary::pruned() const
{
    return status == RunStatus::Cancelled && std::find(tags.begin(), tags.end(), kPrunedTag) != tags.end();
}

std::optional<bool> recordedByWorker(const nlohmann::json &summary)
{
    const auto run = summary.is_object() ? summary.find("run") : summary.end();
    if (!summary.is_object() || run == summary.end() || !run->is_object())
        return std::nullopt;
    return run->contains("engine");
}

std::optional<int64_t> RunSummary::testWeightsStep() const
{
    if (!summary.is_object() || summary.value("test_checkpoint", nlohmann::json()) != "best")
        return std::nullopt;
    const auto kept = summary.find("kept_checkpoint");
    const nlohmann::json step =
        kept != summary.end() && kept->is_object() ? kept->value("step", nlohmann::json()) : nlohmann::json();
    if (!step.is_number_integer() || step.get<int64_t>() == lastStep)
        return std::nullopt;
    return step.get<int64_t>();
}

std::optional<double> RunSummary::listedValue(const std::string &key) const
{
    const auto best = summaryValue("best", key);
    return best ? best : summaryValue("final", key);
}

} // namespace lbk
