#pragma once
// A training objective: the only part of the engine that knows what the data is, what a batch means, what the
// loss is and how an evaluation is scored and reported. The step loop (engine/trainer.h) and the LR range test
// call it; checkpoints, resume, data-parallel averaging and recording are theirs and shared by every objective.
// Classification (engine/classify.cpp) and MLM pre-training (engine/mlm.cpp); a new objective is a new file.
// LibTorch: include only from engine translation units.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "data/dataset.h"
#include "engine/models.h"
#include "util/result.h"

namespace lbk {

struct RunContext;

// The training loss of one batch. With an ensemble, the sum of its members' losses (each member's gradient is its
// own loss's); value() is their mean, the logged train/loss, on a single model's scale.
struct StepLoss {
    torch::Tensor sum;
    size_t terms = 1;
    double value() const { return sum.item<double>() / double(terms); }
};

enum class EvalSplit { Validation, Test };

class Objective {
public:
    virtual ~Objective() = default;

    // Reads the data and trains (or, resuming and on further ranks, loads) the tokenizer. The first rank
    // prepares before the others, so they find its tokenizer in the run folder.
    virtual Status prepare() = 0;
    // run_started's "data" object: the file, counts, splits, vocabulary.
    virtual nlohmann::json dataSummary() const = 0;
    // Figures every rank of a data-parallel run must agree on before they train together.
    virtual std::vector<int64_t> shape() const = 0;

    // Builds the model on the run's device in training mode, with what its loss needs.
    virtual Status createModel() = 0;
    virtual torch::nn::Module &model() = 0;
    // Each parameter's optimizer group (rate factor, weight decay), by its name; see makeOptimizer.
    virtual std::function<ParamGroup(const std::string &)> paramGroupOf() const = 0;
    // The one parameter with row-sparse gradients and its own lazy optimizer; undefined when none.
    virtual torch::Tensor sparseTable() = 0;

    // The training split's examples, in a fixed order; the loop draws batches from a permutation of them.
    virtual const std::vector<size_t> &trainExamples() const = 0;
    virtual StepLoss trainingLoss(const std::vector<size_t> &examples, size_t begin, size_t end) = 0;
    // A training step the objective computes by hand, without autograd, when it has one for this run (the bag model
    // under plain SGD: engine/fusedbag.h). The loop then calls manualLoss for the batch and, when the loss is
    // finite, manualApply with the step's rate, instead of backward, clipping and the optimizer.
    virtual bool hasManualStep() const { return false; }
    virtual double manualLoss(const std::vector<size_t> &examples, size_t begin, size_t end) { return 0; }
    virtual void manualApply(double lr) { (void)lr; }
    // What the mean loss over examples[begin, end) divides by: a data-parallel rank's share of a batch is weighed
    // by it, so the average of the ranks' gradients is the whole batch's.
    virtual double lossWeight(const std::vector<size_t> &examples, size_t begin, size_t end) const
    {
        return double(end - begin);
    }

    // Training figures of the objective's own beside train/loss (the mean loss since the last log) and
    // train/examples_per_s, added to each logged metrics event; the counts behind them start again.
    virtual void addTrainingMetrics(nlohmann::json &values, double meanLoss, double examplesPerSecond)
    {
        (void)values, (void)meanLoss, (void)examplesPerSecond;
    }

    // Scores a split, reports it to the journal and returns its summary (metric name to value); null when the
    // split is empty.
    virtual nlohmann::json evaluate(EvalSplit split, int64_t step) = 0;
    // Files a finished run keeps besides its checkpoints, reported as artifact events.
    virtual void reportArtifacts() = 0;
};

// The objective the experiment names (training.objective): classification (engine/classify.cpp) or
// masked-language-model pre-training (engine/mlm.cpp).
std::unique_ptr<Objective> makeObjective(RunContext &context);
std::unique_ptr<Objective> makeMlmObjective(RunContext &context);

// The experiment's papers: data.path resolved (a pattern names every file it matches, read in turn), the
// reading logged, bad and repeated lines as warnings. dataFile receives the path as resolved (a pattern stays one).
// Read through the papers cache (data/papercache.h) under the run's cache folder: a second run of the same files
// reads them back instead of parsing them again.
Result<std::vector<Paper>> readRunPapers(const RunContext &context, std::filesystem::path &dataFile,
                                         ReadReport &report, const ReadNeeds &needs = {});
// The reading's bad and repeated lines as warnings in the run's log.
void logReadReport(const RunContext &context, const std::filesystem::path &dataFile, const ReadReport &report);

// The gradient of the mean loss over examples[lo, hi) times `scale`, computed in `parts` parts (training.accumulate),
// each part's mean weighed by its share of the whole; returns that mean loss (NaN or infinite: the parts after it
// were not computed). The step loop and the LR range test both take their gradients so (engine/trainer.cpp).
double accumulateGradients(Objective &objective, const std::vector<size_t> &examples, size_t lo, size_t hi, int parts,
                           double scale);

} // namespace lbk
