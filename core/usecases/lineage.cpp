#include "usecases/lineage.h"

#include "experiment/experiment.h"
#include "experiment/schema.h"

namespace lbk::usecase {

std::optional<EncoderSource> encoderSource(const Store &store, const RunDetail &run)
{
    const auto initFrom = valueAt(run.config, "model.init_from");
    if (!initFrom.is_string() || !initFrom.get<std::string>().starts_with(kInitRunPrefix))
        return std::nullopt;
    EncoderSource source{initFrom.get<std::string>().substr(kInitRunPrefix.size()), std::nullopt};
    if (auto found = store.run(source.uid); found && found->uid == source.uid)
        source.run = static_cast<const RunSummary &>(*found);
    return source;
}

std::vector<RunSummary> fineTunedFrom(const Store &store, const RunSummary &pretraining)
{
    RunFilter filter;
    filter.configPath = "model.init_from";
    filter.configValue = std::string(kInitRunPrefix) + pretraining.uid;
    return store.runs(filter);
}

} // namespace lbk::usecase
