#include "sweep/forest.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "util/stablehash.h"

namespace lbk {

namespace {

struct Node {
    int feature = -1; // -1: a leaf
    double threshold = 0, value = 0;
    int left = -1, right = -1;
};

using Tree = std::vector<Node>;

double mean(const std::vector<double> &y, const std::vector<size_t> &rows)
{
    double s = 0;
    for (size_t r : rows)
        s += y[r];
    return rows.empty() ? 0 : s / double(rows.size());
}

// Grows a node over rows: the split (over a random third of the features, at least one) that most reduces the
// squared error, until maxDepth or minLeaf.
int grow(Tree &tree, const std::vector<std::vector<double>> &X, const std::vector<double> &y, std::vector<size_t> rows,
         int depth, const ForestOptions &o, StableDraws &d)
{
    const int at = int(tree.size());
    tree.push_back(Node{-1, 0, mean(y, rows), -1, -1});
    if (depth >= o.maxDepth || int(rows.size()) < 2 * o.minLeaf)
        return at;
    const size_t features = X.front().size();
    const size_t tries = std::max<size_t>(1, (features + 2) / 3);
    double bestGain = 1e-12, bestThreshold = 0;
    int bestFeature = -1;
    for (size_t t = 0; t < tries; ++t) {
        const size_t f = d.below(features);
        std::sort(rows.begin(), rows.end(), [&](size_t a, size_t b) { return X[a][f] < X[b][f]; });
        double total = 0, totalSq = 0;
        for (size_t r : rows) {
            total += y[r];
            totalSq += y[r] * y[r];
        }
        double left = 0, leftSq = 0;
        const double n = double(rows.size());
        const double before = totalSq - total * total / n;
        for (size_t i = 0; i + 1 < rows.size(); ++i) {
            left += y[rows[i]];
            leftSq += y[rows[i]] * y[rows[i]];
            const double nl = double(i + 1), nr = n - nl;
            if (nl < o.minLeaf || nr < o.minLeaf || X[rows[i]][f] == X[rows[i + 1]][f])
                continue;
            const double after = (leftSq - left * left / nl) + ((totalSq - leftSq) - (total - left) * (total - left) / nr);
            if (before - after > bestGain) {
                bestGain = before - after;
                bestFeature = int(f);
                bestThreshold = (X[rows[i]][f] + X[rows[i + 1]][f]) / 2;
            }
        }
    }
    if (bestFeature < 0)
        return at;
    std::vector<size_t> l, r;
    for (size_t row : rows)
        (X[row][size_t(bestFeature)] <= bestThreshold ? l : r).push_back(row);
    tree[size_t(at)].feature = bestFeature;
    tree[size_t(at)].threshold = bestThreshold;
    const int li = grow(tree, X, y, l, depth + 1, o, d);
    const int ri = grow(tree, X, y, r, depth + 1, o, d);
    tree[size_t(at)].left = li;
    tree[size_t(at)].right = ri;
    return at;
}

double predict(const Tree &tree, const std::vector<double> &x)
{
    int i = 0;
    while (tree[size_t(i)].feature >= 0)
        i = x[size_t(tree[size_t(i)].feature)] <= tree[size_t(i)].threshold ? tree[size_t(i)].left : tree[size_t(i)].right;
    return tree[size_t(i)].value;
}

double forestError(const std::vector<Tree> &forest, const std::vector<std::vector<double>> &X, const std::vector<double> &y)
{
    double se = 0;
    for (size_t r = 0; r < X.size(); ++r) {
        double p = 0;
        for (const auto &t : forest)
            p += predict(t, X[r]);
        p /= double(forest.size());
        se += (p - y[r]) * (p - y[r]);
    }
    return se / double(X.size());
}

} // namespace

std::vector<double> permutationImportance(const std::vector<std::vector<double>> &X, const std::vector<double> &y,
                                          const ForestOptions &o)
{
    if (X.size() < kForestMinTrials || X.size() != y.size() || X.front().empty())
        return {};
    StableDraws d(o.seed);
    std::vector<Tree> forest;
    for (int t = 0; t < o.trees; ++t) {
        std::vector<size_t> sample(X.size());
        for (auto &s : sample)
            s = d.below(X.size()); // a bootstrap sample
        Tree tree;
        grow(tree, X, y, sample, 0, o, d);
        forest.push_back(std::move(tree));
    }
    const double base = forestError(forest, X, y);
    const size_t features = X.front().size();
    std::vector<double> increase(features, 0);
    for (size_t f = 0; f < features; ++f) {
        for (int k = 0; k < o.repeats; ++k) {
            auto shuffled = X;
            for (size_t i = shuffled.size(); i > 1; --i) // Fisher-Yates on the column
                std::swap(shuffled[i - 1][f], shuffled[d.below(i)][f]);
            increase[f] += std::max(0.0, forestError(forest, shuffled, y) - base) / o.repeats;
        }
    }
    const double total = std::accumulate(increase.begin(), increase.end(), 0.0);
    for (double &v : increase)
        v = total > 0 ? v / total : 0;
    return increase;
}

} // namespace lbk
