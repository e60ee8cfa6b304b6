#pragma once
// The arithmetic behind the curves: debiased EMA smoothing over the full series (TensorBoard's misleading
// smoothing, #610, came from smoothing after downsampling), and downsampling that keeps each bucket's minimum
// and maximum so a single spike still shows on a 100k-step plot.
#include <QVector>

namespace labbook {

struct XY {
    QVector<double> x, y;
};

// weight in [0, 1): 0 returns the input; NaNs stay NaN and are not averaged in.
QVector<double> smoothEma(const QVector<double> &y, double weight);
// At most 4 * buckets points: the series cut into buckets of equal point count, each keeping its first,
// minimum, maximum and last points in x order. Series of up to 4 * buckets points come back unchanged.
XY downsampleMinMax(const QVector<double> &x, const QVector<double> &y, int buckets);

} // namespace labbook
