#pragma once
// Where a numeric axis is labelled: its extent at the ends and, between them, the densest set of round values that
// stands clear of the ends and of each other: multiples of 1, 2 or 5 times a power of ten; on a log axis whole
// decades (or every second, fifth... decade), or 1-2-5 or 1 to 9 times them. A set is taken whole or not at all,
// so the values between the ends keep an even step over the whole axis.
#include <QString>

#include <vector>

namespace labbook {

struct AxisTick {
    double position = 0; // along the axis: 0 at lo, 1 at hi
    double value = 0;
    QString text;
};

// lo..hi: the axis's extent (log10 of it on a log axis). The ends are written as tables write a value, to 4
// significant digits; no two round values between them are closer than minStep (1 for an integer key). A single
// value sits in the middle.
std::vector<AxisTick> numericTicks(double lo, double hi, bool log, double minStep = 0);

// Whether labels at these positions (0 to 1, in any order) stand clear of each other.
bool labelsClear(std::vector<double> positions);

// A number to `digits` significant digits, whole numbers written out ("1024", not "1.02e+03").
QString numberText(double v, int digits);

} // namespace labbook
