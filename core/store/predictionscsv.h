#pragma once
// Per-example predictions as CSV, one format wherever they are written: `lbk export RUN --what predictions --format
// csv` (the latest val and test evaluations) and the GUI's Export on the Predictions page (the rows its filters show).
// A row's predicted labels are those its evaluation counted (predictedEntries: a multi-label row's every label at 0.5
// or above). Found by a review: the two wrote different columns, the GUI did not quote a carriage return, and the
// command line wrote a multi-label row's top label alone.
#include <cstdint>
#include <string>
#include <string_view>

#include "store/store.h"

namespace lbk {

inline constexpr std::string_view kPredictionsCsvHeader =
    "split,step,id,title,truth,predicted,probability,correct,p_true\n";

// The labels a row predicts, joined by sep; empty when a multi-label row predicts none.
std::string predictedLabels(const PredictionRow &p, bool multiLabel, std::string_view sep = " ");

// One CSV line of kPredictionsCsvHeader's columns, newline ended: truth and predicted labels joined by spaces,
// probability the top label's, p_true empty where it was not recorded (multi-label: the least probable true label's).
std::string predictionsCsvRow(std::string_view split, int64_t step, const PredictionRow &p, bool multiLabel);

} // namespace lbk
