#pragma once
// Learning-rate schedules as a pure function of the step, so a resumed run continues on the same curve.
#include <cstdint>

#include "experiment/experiment.h"

namespace lbk {

// The rate at step (0-based) of totalSteps, for a peak rate `peak`.
double scheduledLr(const ScheduleSpec &spec, double peak, int64_t step, int64_t totalSteps);

} // namespace lbk
