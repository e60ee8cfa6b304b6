#include "plots/axisticks.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace labbook {

namespace {
constexpr double kClear = 0.15;    // of the axis's length: round values keep this far from the ends and each other
constexpr double kLabelGap = 0.06; // of the axis's length: closer labels overlap at the plot's usual heights
constexpr double kEps = 1e-9;
constexpr int kEndDigits = 4;

using Ticks = std::vector<AxisTick>;
using Position = std::function<double(double)>;

// mantissa x 10^exponent, the double nearest the decimal (13.2, where 66 x 0.2 gives 13.200000000000001).
double decimal(double mantissa, int exponent)
{
    return exponent < 0 ? mantissa / std::pow(10.0, -exponent) : mantissa * std::pow(10.0, exponent);
}

// A round value written to the last digit of its step, 10^e to 5 x 10^e apart (13.2 on a step of 0.2).
QString stepText(double v, int e)
{
    if (v == 0)
        return QStringLiteral("0");
    return numberText(v, std::max(1, int(std::floor(std::log10(std::abs(v)))) - e + 1));
}

// The multiples of 1, 2 and 5 x 10^e from lo to hi, a set per step, coarsest first, down to the finest step whose
// labels could still stand apart.
std::vector<Ticks> linearSets(double lo, double hi, double minStep, const Position &position)
{
    std::vector<Ticks> sets;
    const double finest = std::max(minStep, kClear * (hi - lo) / 2);
    for (int e = int(std::ceil(std::log10(hi - lo))); decimal(5, e) >= finest; --e)
        for (double m : {5.0, 2.0, 1.0}) {
            if (decimal(m, e) < finest)
                break;
            Ticks set;
            for (double k = std::ceil(lo / decimal(m, e)); k <= std::floor(hi / decimal(m, e)); ++k) {
                const double v = decimal(k * m, e);
                set.push_back({position(v), v, stepText(v, e)});
            }
            sets.push_back(std::move(set));
        }
    return sets;
}

// On a log axis from 10^lo to 10^hi: every decade, every second, fifth, tenth... one; then 1-2-5 and 1 to 9 times
// every decade.
std::vector<Ticks> logSets(double lo, double hi, const Position &position)
{
    std::vector<Ticks> sets;
    const auto add = [&](Ticks &set, double m, int k) {
        const double v = decimal(m, k);
        set.push_back({position(v), v, numberText(v, 1)});
    };
    for (int scale = 1; scale <= hi - lo; scale *= 10)
        for (int n : {scale, 2 * scale, 5 * scale}) {
            Ticks set;
            for (int k = int(std::ceil(lo / n)) * n; k <= hi; k += n)
                add(set, 1, k);
            sets.push_back(std::move(set));
        }
    for (const std::vector<double> &mults : {std::vector<double>{1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}}) {
        Ticks set;
        for (int k = int(std::floor(lo)); k <= int(std::ceil(hi)); ++k)
            for (double m : mults)
                add(set, m, k);
        sets.push_back(std::move(set));
    }
    return sets;
}

// A set's values clear of the ends, or none when two of them crowd each other: a set is taken whole, as thinning it
// would leave its labels on an uneven step.
Ticks between(const Ticks &set)
{
    Ticks inner;
    for (const AxisTick &t : set) {
        if (t.position < kClear - kEps || t.position > 1 - kClear + kEps)
            continue;
        if (!inner.empty() && t.position - inner.back().position < kClear - kEps)
            return {};
        inner.push_back(t);
    }
    return inner;
}

// The values between the ends of the set that has the most of them (the first of equals).
Ticks densest(const std::vector<Ticks> &sets)
{
    Ticks best;
    for (const Ticks &set : sets)
        if (Ticks inner = between(set); inner.size() > best.size())
            best = std::move(inner);
    return best;
}
} // namespace

std::vector<AxisTick> numericTicks(double lo, double hi, bool log, double minStep)
{
    const auto value = [log](double u) { return log ? std::pow(10.0, u) : u; };
    const auto end = [&](double p, double u) { return AxisTick{p, value(u), numberText(value(u), kEndDigits)}; };
    if (!(hi > lo))
        return {end(0.5, lo)};
    const Position position = [=](double v) { return ((log ? std::log10(v) : v) - lo) / (hi - lo); };
    Ticks inner = log ? densest(logSets(lo, hi, position)) : Ticks();
    if (inner.empty()) // a log axis within a step of its round values: evenly stepped values, as on a linear one
        inner = densest(linearSets(value(lo), value(hi), minStep, position));
    Ticks ticks{end(0, lo), end(1, hi)};
    ticks.insert(ticks.end(), inner.begin(), inner.end());
    return ticks;
}

bool labelsClear(std::vector<double> positions)
{
    std::sort(positions.begin(), positions.end());
    const auto crowded = [](double a, double b) { return b - a < kLabelGap; };
    return std::adjacent_find(positions.begin(), positions.end(), crowded) == positions.end();
}

QString numberText(double v, int digits)
{
    const int whole = std::abs(v) >= 1 ? int(std::floor(std::log10(std::abs(v)))) + 1 : 0; // digits before the point
    return QString::number(v, 'g', whole <= 7 ? std::max(digits, whole) : digits);
}

} // namespace labbook
