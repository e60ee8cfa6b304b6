#pragma once
// The LR range test's arithmetic (Smith, arXiv 1506.01186), kept free of LibTorch so it is tested on
// synthetic curves: the exponential sweep, the debiased EMA of the loss (the divergence stop), the centred
// smoothing the suggestion reads, and the suggestion at its steepest descent against log10(lr).
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

// The curve the suggestion reads, once the test is over: each finite loss replaced by a weighted mean of its
// neighbours on both sides, the weights a triangle spanning a sixth of the sweep (narrowed symmetrically at
// the ends), non-finite losses left out and kept non-finite. Centred, so it does not lag: the running EMA that
// decides when to stop trails the loss by beta/(1-beta) points (49 at 0.98, half a 100-step sweep), and its
// steepest descent fell where the loss was already at its minimum, 5 to 20 times the rates that train best
// (docs/RESULTS.md, "The LR finder's suggestion without lag").
std::vector<double> lrFinderCurve(const std::vector<double> &losses);
// How many neighbours on each side that curve takes for a sweep of this many points (a twelfth of them, at least 1).
int lrFinderHalfWidth(size_t points);

// Steepest negative slope of lrFinderCurve(losses) vs log10(lr), looked for only up to the curve's minimum
// (past it the loss is diverging) and only where the curve is at or below its median there (so the decaying
// tail of an early spike is never taken for a descent), skipping the first skipStart and last skipEnd points (at
// least the curve's half-width at each end, where its window is cut short), with non-finite points masked. Fewer
// points than needed give no suggestion, with the reason.
LrSuggestion suggestLearningRate(const std::vector<double> &lrs, const std::vector<double> &losses,
                                 int skipStart = 10, int skipEnd = 1);

} // namespace lbk
