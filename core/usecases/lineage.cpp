#include "usecases/lineage.h"

#include "experiment/experiment.h"
#include "experiment/schema.h"

namespace lbk::usecase {

namespace {

std::optional<InitRun> initRunOf(const nlohmann::json &config)
{
    const auto initFrom = valueAt(config, "model.init_from");
    return initFrom.is_string() ? parseInitRun(initFrom.get<std::string>()) : std::nullopt;
}

} // namespace

std::optional<EncoderSource> encoderSource(const Store &store, const RunDetail &run)
{
    const auto init = initRunOf(run.config);
    if (!init)
        return std::nullopt;
    EncoderSource source{init->ref, init->step, std::nullopt};
    if (auto found = store.run(source.uid); found && found->uid == source.uid)
        source.run = static_cast<const RunSummary &>(*found);
    return source;
}

std::vector<RunSummary> fineTunedFrom(const Store &store, const RunSummary &pretraining)
{
    RunFilter filter;
    filter.configPath = "model.init_from";
    filter.configPrefix = std::string(kInitRunPrefix) + pretraining.uid;
    auto runs = store.runs(filter);
    std::erase_if(runs, [&](const RunSummary &r) { // "run:<uid>" or "run:<uid>@STEP", not a longer uid
        const auto detail = store.runById(r.id);
        const auto init = detail ? initRunOf(detail->config) : std::nullopt;
        return !init || init->ref != pretraining.uid;
    });
    return runs;
}

std::string endNote(const RunSummary &fineTune)
{
    if (fineTune.status == RunStatus::Finished || isActive(fineTune.status))
        return {};
    return " (" + std::string(toString(fineTune.status)) + ")";
}

} // namespace lbk::usecase
