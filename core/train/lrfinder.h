#pragma once
// The LR range test's arithmetic (Smith, arXiv 1506.01186), kept free of LibTorch so it is tested on
// synthetic curves: the exponential sweep, the debiased EMA of the loss, the divergence stop and the
// suggestion at the steepest descent of the smoothed loss against log10(lr).
#include <optional>
#include <string>
#include <vector>

namespace lbk {

// lr_i = minLr * (maxLr/minLr)^(i/(steps-1)), i = 0..steps-1
double lrFinderRate(double minLr, double maxLr, int steps, int i);

// Debiased exponential moving average, fed one loss at a time. Non-finite losses are not averaged in.
class DebiasedEma {
public:
    explicit DebiasedEma(double beta) : m_beta(beta) {}
    double add(double loss); // returns the smoothed value (NaN while only non-finite losses were seen)
    double value() const;
private:
    double m_beta;
    double m_avg = 0;
    int m_count = 0;
};

// True when the run should stop: a non-finite loss, or the smoothed loss above stopFactor x the best so far.
bool lrFinderDiverged(double smoothed, double best, double stopFactor);

struct LrSuggestion {
    std::optional<double> lr;
    int index = -1;
    std::string method = "steepest";
    std::string reason; // why no suggestion could be made
};

// Steepest negative slope of smoothed loss vs log10(lr), looked for only up to the minimum of the smoothed
// loss (past it the loss is diverging) and only where the smoothed loss is at or below its median there (so
// the decaying tail of an early spike is never taken for a descent), skipping the first skipStart and last
// skipEnd points, with non-finite points masked. Fewer points than needed give no suggestion, with the reason.
LrSuggestion suggestLearningRate(const std::vector<double> &lrs, const std::vector<double> &smoothed,
                                 int skipStart = 10, int skipEnd = 1);

} // namespace lbk
