#include "series.h"

#include <algorithm>
#include <cmath>
#include <iterator>

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
        qsizetype iMin = -1, iMax = -1;
        for (qsizetype i = start; i < end; ++i) {
            if (!std::isfinite(y[i]))
                continue;
            if (iMin < 0 || y[i] < y[iMin])
                iMin = i;
            if (iMax < 0 || y[i] > y[iMax])
                iMax = i;
        }
        qsizetype keep[4] = {start, iMin, iMax, end - 1};
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

} // namespace labbook
