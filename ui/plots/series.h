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
// Series shorter than this are not smoothed: an evaluation series of a handful of points would only lag
// behind its own values (an EMA of weight 0.9 needs about ten points to follow a change).
constexpr qsizetype kMinPointsToSmooth = 30;
// The weight the curves use for a series of `points` points: `weight`, or 0 below kMinPointsToSmooth.
double smoothingFor(qsizetype points, double weight);
// At most 5 * buckets points: the series cut into buckets of equal point count, each keeping its first,
// minimum, maximum and last points and its first non-finite one (a break in the line) in x order. Series of up to
// 4 * buckets points come back unchanged.
XY downsampleMinMax(const QVector<double> &x, const QVector<double> &y, int buckets);
// A wall-time series with a NaN point inside each stop (a gap between points over kStopFactor times their median
// gap and over kStopSeconds), so the line breaks where a run sat stopped instead of crossing the stop straight.
constexpr double kStopFactor = 10, kStopSeconds = 5;
XY breakAtStops(const QVector<double> &x, const QVector<double> &y);

} // namespace labbook
