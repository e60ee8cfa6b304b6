#include "train/lrfinder.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace lbk {

double lrFinderRate(double minLr, double maxLr, int steps, int i)
{
    if (steps <= 1)
        return minLr;
    return minLr * std::pow(maxLr / minLr, double(i) / double(steps - 1));
}

double DebiasedEma::add(double loss)
{
    if (std::isfinite(loss)) {
        m_avg = m_beta * m_avg + (1.0 - m_beta) * loss;
        ++m_count;
    }
    return value();
}

double DebiasedEma::value() const
{
    if (m_count == 0)
        return std::numeric_limits<double>::quiet_NaN();
    return m_avg / (1.0 - std::pow(m_beta, m_count));
}

bool lrFinderDiverged(double smoothed, double best, double stopFactor)
{
    if (!std::isfinite(smoothed))
        return true;
    return std::isfinite(best) && smoothed > stopFactor * best;
}

int lrFinderHalfWidth(size_t points) { return std::max(1, int(std::lround(double(points) / 12.0))); }

std::vector<double> lrFinderCurve(const std::vector<double> &losses)
{
    const int n = int(losses.size());
    const int half = lrFinderHalfWidth(losses.size());
    std::vector<double> curve(losses.size(), std::numeric_limits<double>::quiet_NaN());
    for (int i = 0; i < n; ++i) {
        if (!std::isfinite(losses[size_t(i)]))
            continue;
        const int reach = std::min({half, i, n - 1 - i}); // as far on both sides: no lag at the ends either
        double sum = 0, weights = 0;
        for (int d = -reach; d <= reach; ++d) {
            const double v = losses[size_t(i + d)];
            if (!std::isfinite(v))
                continue;
            const double w = half + 1 - std::abs(d);
            sum += w * v;
            weights += w;
        }
        curve[size_t(i)] = sum / weights;
    }
    return curve;
}

LrSuggestion suggestLearningRate(const std::vector<double> &lrs, const std::vector<double> &losses, int skipStart,
                                 int skipEnd)
{
    LrSuggestion s;
    const std::vector<double> smoothed = lrFinderCurve(losses);
    std::vector<int> idx; // the usable points, in order
    const int n = int(std::min(lrs.size(), smoothed.size()));
    for (int i = 0; i < n; ++i)
        if (std::isfinite(smoothed[size_t(i)]) && std::isfinite(lrs[size_t(i)]) && lrs[size_t(i)] > 0)
            idx.push_back(i);
    // Not where the curve's window is cut short by an end (there it is the raw loss again), nor, on short sweeps,
    // more than a fifth and a tenth of the points, so that a curve of 20 points still gets a suggestion.
    const int usable = int(idx.size()), half = lrFinderHalfWidth(losses.size());
    skipStart = std::min(std::max(skipStart, half), usable / 5);
    skipEnd = std::min(std::max(skipEnd, half), usable / 10);
    if (usable - skipStart - skipEnd < 3) {
        s.reason = "too few finite points (" + std::to_string(usable) + ") to find a slope; run more steps or lower "
                   "lr_finder.max_lr";
        return s;
    }
    std::vector<int> pts(idx.begin() + skipStart, idx.end() - skipEnd);
    // Only up to the minimum of the smoothed loss: past it the loss climbs towards divergence.
    size_t minAt = 0;
    for (size_t i = 1; i < pts.size(); ++i)
        if (smoothed[size_t(pts[i])] < smoothed[size_t(pts[minAt])])
            minAt = i;
    if (minAt < 1) {
        s.reason = "the loss never went down over the sweep; lower lr_finder.min_lr";
        return s;
    }
    pts.resize(minAt + 1);
    // Early spikes leave a decaying tail in a smoothed curve that looks like a steep descent (Lightning #1767):
    // look only where the smoothed loss has come down to at most its median over the stretch, which a
    // transient above the usual level never does.
    std::vector<double> levels;
    for (int p : pts)
        levels.push_back(smoothed[size_t(p)]);
    std::nth_element(levels.begin(), levels.begin() + std::ptrdiff_t(levels.size() / 2), levels.end());
    const double median = levels[levels.size() / 2];
    // Central differences against log10(lr), one-sided at the ends (as numpy.gradient).
    double best = 0;
    for (size_t i = 0; i < pts.size(); ++i) {
        if (smoothed[size_t(pts[i])] > median)
            continue;
        const size_t a = i == 0 ? 0 : i - 1, b = i + 1 < pts.size() ? i + 1 : i;
        if (a == b)
            continue;
        const double dx = std::log10(lrs[size_t(pts[b])]) - std::log10(lrs[size_t(pts[a])]);
        if (dx <= 0)
            continue;
        const double slope = (smoothed[size_t(pts[b])] - smoothed[size_t(pts[a])]) / dx;
        if (slope < best) {
            best = slope;
            s.index = pts[i];
        }
    }
    if (s.index < 0) {
        s.reason = "no descending stretch in the smoothed loss";
        return s;
    }
    s.lr = lrs[size_t(s.index)];
    return s;
}

} // namespace lbk
