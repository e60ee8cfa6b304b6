#include "train/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace lbk {

double scheduledLr(const ScheduleSpec &spec, double peak, int64_t step, int64_t totalSteps)
{
    if (spec.type == ScheduleType::Constant || totalSteps <= 1)
        return peak;
    const double floorLr = peak * spec.finalLrFactor;
    const auto warmupSteps = int64_t(std::llround(spec.warmup * double(totalSteps)));
    if (spec.type == ScheduleType::OneCycle) {
        // Smith's one-cycle with cosine annealing: up from peak/25 over the warm-up (30% when unset), then down
        // to the final factor (peak/1e4 when unset).
        const int64_t up = std::max<int64_t>(1, warmupSteps > 0 ? warmupSteps : int64_t(0.3 * double(totalSteps)));
        const double start = peak / 25.0;
        const double end = spec.finalLrFactor > 0 ? floorLr : peak / 1e4;
        if (step < up) {
            const double t = double(step) / double(up);
            return start + (peak - start) * (1 - std::cos(std::numbers::pi * t)) / 2;
        }
        const double t = std::min(1.0, double(step - up) / double(std::max<int64_t>(1, totalSteps - 1 - up)));
        return end + (peak - end) * (1 + std::cos(std::numbers::pi * t)) / 2;
    }
    if (step < warmupSteps)
        return peak * double(step + 1) / double(warmupSteps);
    const double t =
        std::clamp(double(step - warmupSteps) / double(std::max<int64_t>(1, totalSteps - 1 - warmupSteps)), 0.0, 1.0);
    if (spec.type == ScheduleType::Linear)
        return floorLr + (peak - floorLr) * (1 - t);
    if (spec.type == ScheduleType::Cosine)
        return floorLr + (peak - floorLr) * (1 + std::cos(std::numbers::pi * t)) / 2;
    return peak;
}

} // namespace lbk
