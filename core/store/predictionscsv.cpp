#include "store/predictionscsv.h"

#include "metrics/metrics.h"
#include "util/text.h"

namespace lbk {

std::string predictedLabels(const PredictionRow &p, bool multiLabel, std::string_view sep)
{
    std::string text;
    for (size_t e : predictedEntries(p.top, multiLabel))
        text += (text.empty() ? "" : std::string(sep)) + p.top[e].first;
    return text;
}

std::string predictionsCsvRow(std::string_view split, int64_t step, const PredictionRow &p, bool multiLabel)
{
    std::string truth;
    for (const auto &l : p.truth)
        truth += (truth.empty() ? "" : " ") + l;
    return std::string(split) + ',' + std::to_string(step) + ',' + csvField(p.exampleId) + ',' + csvField(p.title) +
           ',' + csvField(truth) + ',' + csvField(predictedLabels(p, multiLabel)) + ',' +
           (p.top.empty() ? "" : exactNumber(p.top[0].second)) + ',' + (p.correct ? "1" : "0") + ',' +
           exactNumber(p.pTrue) + '\n';
}

} // namespace lbk
