#include "train/lrfinder.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
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

namespace {

// Sums over a range of the finite losses, of their positions times them, of their count and of their positions:
// the four sums a truncated triangle's weighted mean needs. A segment tree, so that a range's sum adds only the
// losses inside it: a prefix-sum difference would cancel a huge loss (1e30, just before a divergence) into noise
// for every range after it.
class FiniteSums
{
public:
    struct Sums
    {
        double v = 0, jv = 0, count = 0, j = 0;
        Sums &operator+=(const Sums &o)
        {
            v += o.v, jv += o.jv, count += o.count, j += o.j;
            return *this;
        }
    };

    explicit FiniteSums(const std::vector<double> &losses) : m_n(losses.size()), m_tree(2 * losses.size())
    {
        for (size_t i = 0; i < m_n; ++i)
            if (const double v = losses[i]; std::isfinite(v))
                m_tree[m_n + i] = {v, double(i) * v, 1, double(i)};
        for (size_t i = m_n - 1; i > 0; --i)
            (m_tree[i] = m_tree[2 * i]) += m_tree[2 * i + 1];
    }

    Sums over(size_t first, size_t last) const // [first, last], inclusive
    {
        Sums s;
        for (size_t l = first + m_n, r = last + m_n + 1; l < r; l /= 2, r /= 2) {
            if (l & 1)
                s += m_tree[l++];
            if (r & 1)
                s += m_tree[--r];
        }
        return s;
    }

private:
    size_t m_n;
    std::vector<Sums> m_tree;
};

} // namespace

// The weights are half + 1 - |d| for |d| <= reach, so each mean is (half + 1) * (sum over the window) minus the
// sums of |d| times the losses on either side, which the position-weighted sums give: O(n log n), not O(n * half)
// (a 100,000-step test took seconds per redraw).
std::vector<double> lrFinderCurve(const std::vector<double> &losses)
{
    const size_t n = losses.size();
    const double half = lrFinderHalfWidth(n);
    std::vector<double> curve(n, std::numeric_limits<double>::quiet_NaN());
    if (n == 0)
        return curve;
    const FiniteSums sums(losses);
    for (size_t i = 0; i < n; ++i) {
        if (!std::isfinite(losses[i]))
            continue;
        const size_t reach = std::min({size_t(half), i, n - 1 - i}); // as far on both sides: no lag at the ends
        const auto all = sums.over(i - reach, i + reach);
        FiniteSums::Sums left, right;
        if (reach > 0)
            left = sums.over(i - reach, i - 1), right = sums.over(i + 1, i + reach);
        const double x = double(i);
        const double weighted = (half + 1) * all.v - ((right.jv - x * right.v) + (x * left.v - left.jv));
        const double weights = (half + 1) * all.count - ((right.j - x * right.count) + (x * left.count - left.j));
        curve[i] = weighted / weights;
    }
    return curve;
}

namespace {

// How many times its noise the smoothed loss must fall for a descent (see withinNoise).
constexpr double kDescentOverNoise = 2.0;

// A descent the loss's step-to-step noise alone would draw is none (found by an audit: a test over a decade where
// nothing trained wobbled by 0.06 around 1.61 and had a confident suggestion, and the sweep around it learnt
// nothing). The noise is the raw losses' distance from the smoothed curve over the stretch read (up to its
// minimum); pure noise leaves the smoothed curve falling by one to one and a half times it, a real test by 6 to 10.
std::optional<std::string> withinNoise(const std::vector<double> &losses, const std::vector<double> &smoothed,
                                       const std::vector<int> &pts)
{
    double squares = 0, top = smoothed[size_t(pts.front())];
    for (const int p : pts) {
        const double r = losses[size_t(p)] - smoothed[size_t(p)];
        squares += r * r;
        top = std::max(top, smoothed[size_t(p)]);
    }
    const double noise = std::sqrt(squares / double(pts.size()));
    const double drop = top - smoothed[size_t(pts.back())];
    if (drop >= kDescentOverNoise * noise)
        return std::nullopt;
    char figures[160];
    std::snprintf(figures, sizeof figures, "fell by %.3g, within its step-to-step noise (%.3g)", drop, noise);
    return "the loss did not clearly go down over the sweep (its smoothed curve " + std::string(figures) +
           "); widen the range (a lower lr_finder.min_lr or a higher max_lr) or give it more steps";
}

} // namespace

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
    if (const auto flat = withinNoise(losses, smoothed, pts)) {
        s.reason = *flat;
        return s;
    }
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
