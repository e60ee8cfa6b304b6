#include "series.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <vector>

#include "train/lrfinder.h"

namespace labbook {

QVector<double> smoothEma(const QVector<double> &y, double weight)
{
    if (weight <= 0)
        return y;
    lbk::DebiasedEma ema(weight);
    QVector<double> out(y.size());
    for (qsizetype i = 0; i < y.size(); ++i) {
        const double s = ema.add(y[i]);
        out[i] = std::isfinite(y[i]) ? s : y[i];
    }
    return out;
}

double smoothingFor(qsizetype points, double weight)
{
    return points < kMinPointsToSmooth ? 0.0 : weight;
}

XY downsampleMinMax(const QVector<double> &x, const QVector<double> &y, int buckets)
{
    XY out;
    const qsizetype n = qMin(x.size(), y.size());
    if (buckets < 1 || n <= qsizetype(buckets) * 4) {
        out.x = x.mid(0, n);
        out.y = y.mid(0, n);
        return out;
    }
    out.x.reserve(buckets * 4 + 2);
    out.y.reserve(buckets * 4 + 2);
    // Buckets of equal count: steps are nearly evenly spaced, and wall-time gaps (a paused run) should not
    // leave empty buckets while others hold thousands of points.
    const double per = double(n) / double(buckets);
    qsizetype start = 0;
    for (int b = 0; b < buckets && start < n; ++b) {
        qsizetype end = qMin(n, qsizetype(std::llround(per * (b + 1))));
        if (end <= start)
            continue;
        qsizetype iMin = -1, iMax = -1, iGap = -1;
        for (qsizetype i = start; i < end; ++i) {
            if (!std::isfinite(y[i])) {
                iGap = iGap < 0 ? i : iGap; // a break in the line (a stop, a diverged value) stays one
                continue;
            }
            if (iMin < 0 || y[i] < y[iMin])
                iMin = i;
            if (iMax < 0 || y[i] > y[iMax])
                iMax = i;
        }
        qsizetype keep[5] = {start, iMin, iMax, iGap, end - 1};
        // Emit in x order without duplicates.
        std::sort(std::begin(keep), std::end(keep));
        qsizetype last = -2;
        for (qsizetype k : keep) {
            if (k < 0 || k == last)
                continue;
            out.x << x[k];
            out.y << y[k];
            last = k;
        }
        start = end;
    }
    return out;
}

XY breakAtStops(const QVector<double> &x, const QVector<double> &y)
{
    const qsizetype n = qMin(x.size(), y.size());
    std::vector<double> gaps;
    for (qsizetype i = 1; i < n; ++i)
        if (x[i] > x[i - 1])
            gaps.push_back(x[i] - x[i - 1]);
    XY out{x.mid(0, n), y.mid(0, n)};
    if (gaps.empty())
        return out;
    std::nth_element(gaps.begin(), gaps.begin() + qsizetype(gaps.size() / 2), gaps.end());
    const double stop = std::max(kStopSeconds, kStopFactor * gaps[gaps.size() / 2]);
    out.x.clear();
    out.y.clear();
    for (qsizetype i = 0; i < n; ++i) {
        if (i > 0 && x[i] - x[i - 1] > stop) {
            out.x << (x[i - 1] + x[i]) / 2;
            out.y << std::nan("");
        }
        out.x << x[i];
        out.y << y[i];
    }
    return out;
}

} // namespace labbook
