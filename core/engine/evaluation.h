#pragma once
// Reporting one evaluation of a model on labelled examples as journal events (docs/PROTOCOL.md): the
// evaluation summary, its metrics, probability histograms and per-example predictions. Shared by training
// (val/test) and `lbk eval` (another labelled file). Engine-internal; no LibTorch here.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "experiment/experiment.h"
#include "protocol/journal.h"

namespace lbk {

struct EvalOutput {
    nlohmann::json summary;
    std::vector<float> probs; // n x outputs (binary: n, the positive class's probability)
    double loss = 0;
};

// The metrics summary of probabilities against the truth (label indices per example).
nlohmann::json summarizeEvaluation(TaskKind kind, const std::vector<float> &probs,
                                   const std::vector<const std::vector<int> *> &truth,
                                   const std::vector<std::string> &names, double loss);

// Emits evaluation, metrics (split/accuracy, ...), histogram and predictions events for one evaluation.
void reportEvaluation(JournalWriter &journal, const EvaluationSpec &spec, TaskKind kind,
                      const std::vector<std::string> &names, const std::vector<const Paper *> &papers,
                      const std::vector<const std::vector<int> *> &truth, const EvalOutput &out, int64_t step,
                      const std::string &split);

} // namespace lbk
