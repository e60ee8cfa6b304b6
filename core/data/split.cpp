// splitData: a split that is the same on every machine, compiler and standard library, so a run's numbers can
// be compared with one made elsewhere.
#include "data/dataset.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <unordered_map>

#include "util/stablehash.h"

namespace lbk {

namespace {

std::string number(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

constexpr const char *kSplitNames[3] = {"split.train", "split.validation", "split.test"};

// Moves every example whose paper id was seen in an earlier example to that example's split. readPapers keeps
// each paper once, so this only acts on papers put together elsewhere, or a paper without an id whose line
// number another paper has as its id; splits of papers with distinct ids are left as they are.
void keepPapersTogether(DataSplit &out, const LabeledData &data, const std::vector<Paper> &papers)
{
    const std::array<std::vector<size_t> *, 3> parts = {&out.train, &out.validation, &out.test};
    std::vector<size_t> splitOf(data.paper.size());
    for (size_t k = 0; k < 3; ++k)
        for (const size_t i : *parts[k])
            splitOf[i] = k;
    std::unordered_map<std::string, size_t> home; // canonical id -> split of its first example
    bool moved = false;
    for (size_t i = 0; i < splitOf.size(); ++i) {
        const auto [first, isNew] = home.try_emplace(canonicalPaperId(papers[data.paper[i]].id), splitOf[i]);
        if (!isNew && first->second != splitOf[i]) {
            splitOf[i] = first->second;
            moved = true;
        }
    }
    if (!moved)
        return;
    for (auto *part : parts)
        part->clear();
    for (size_t i = 0; i < splitOf.size(); ++i)
        parts[splitOf[i]]->push_back(i);
}

// The three shares as given, each in [0, 1] and adding up to 1.
Result<std::array<double, 3>> checkedShares(const SplitSpec &spec)
{
    const std::array<double, 3> given = {spec.train, spec.validation, spec.test};
    for (size_t k = 0; k < 3; ++k)
        if (!std::isfinite(given[k]) || given[k] < 0.0 || given[k] > 1.0)
            return Error{std::string(kSplitNames[k]) + " is " + number(given[k]) +
                         "; a share must be between 0 and 1."};
    const double sum = given[0] + given[1] + given[2];
    if (std::abs(sum - 1.0) > 1e-6)
        return Error{"split.train + split.validation + split.test = " + number(given[0]) + " + " + number(given[1]) +
                     " + " + number(given[2]) + " = " + number(sum) +
                     "; the shares must add up to 1 (e.g. 0.7, 0.15, 0.15)."};
    std::array<double, 3> share;
    for (size_t k = 0; k < 3; ++k)
        share[k] = given[k] / sum;
    return share;
}

// How many of a stratum's `size` examples each split takes: the floor of its exact share, the remainders to the
// splits furthest behind (`behind`, updated), and one for every requested split when the stratum can spare it.
std::array<int64_t, 3> stratumCounts(int64_t size, const std::array<double, 3> &share, std::array<double, 3> &behind)
{
    std::array<double, 3> exact;
    std::array<int64_t, 3> count;
    int64_t assigned = 0;
    for (size_t k = 0; k < 3; ++k) {
        exact[k] = double(size) * share[k];
        count[k] = share[k] > 0.0 ? int64_t(std::floor(exact[k] + 1e-9)) : 0;
        assigned += count[k];
    }
    while (assigned > size) { // only by floating-point slack
        const size_t k = size_t(std::max_element(count.begin(), count.end()) - count.begin());
        --count[k];
        --assigned;
    }
    std::array<size_t, 3> order = {0, 1, 2};
    std::array<double, 3> priority;
    for (size_t k = 0; k < 3; ++k)
        priority[k] = exact[k] - double(count[k]) + behind[k];
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return priority[a] > priority[b]; });
    for (size_t j = 0; assigned < size; j = (j + 1) % 3) {
        if (share[order[j]] <= 0.0)
            continue;
        ++count[order[j]];
        ++assigned;
    }
    if (size >= 3) // every requested split sees every stratum that can spare an example
        for (size_t k = 0; k < 3; ++k)
            if (share[k] > 0.0 && count[k] == 0) {
                // from the split furthest above its exact share that can spare one (one always can: size >= 3)
                size_t from = k;
                for (size_t j = 0; j < 3; ++j)
                    if (count[j] >= 2 && (from == k || count[j] - exact[j] > count[from] - exact[from]))
                        from = j;
                --count[from];
                ++count[k];
            }
    for (size_t k = 0; k < 3; ++k)
        behind[k] += exact[k] - double(count[k]);
    return count;
}

// Each example's paper id hashed with the seed; an error when an example names a paper that is not there.
Result<std::vector<uint64_t>> paperHashes(const LabeledData &data, const std::vector<Paper> &papers, uint64_t seed)
{
    std::vector<uint64_t> hash(data.paper.size());
    for (size_t i = 0; i < hash.size(); ++i) {
        if (data.paper[i] >= papers.size())
            return Error{"split: example " + std::to_string(i) + " names paper " + std::to_string(data.paper[i]) +
                         " of " + std::to_string(papers.size()) + "; the labels were built from other papers."};
        hash[i] = stableHash(papers[data.paper[i]].id, seed);
    }
    return hash;
}

} // namespace

Result<DataSplit> splitData(const LabeledData &data, const std::vector<Paper> &papers, const SplitSpec &spec)
{
    const auto share = checkedShares(spec);
    if (!share)
        return share.error();
    const size_t n = data.paper.size();
    if (data.labels.size() != n)
        return Error{"split: the labeled data is inconsistent (" + std::to_string(n) + " examples, " +
                     std::to_string(data.labels.size()) + " label lists)."};
    if (n == 0)
        return Error{"split: there are no examples to split; check the data and the labels."};
    const auto hash = paperHashes(data, papers, spec.seed);
    if (!hash)
        return hash.error();

    // Strata in label order (std::map), so the allocation below never depends on hash-map iteration.
    std::map<int, std::vector<size_t>> strata;
    for (size_t i = 0; i < n; ++i)
        strata[spec.stratify && !data.labels[i].empty() ? data.labels[i].front() : -1].push_back(i);

    DataSplit out;
    std::array<std::vector<size_t> *, 3> parts = {&out.train, &out.validation, &out.test};
    // How far each split lags behind its exact share so far: the remainders of a stratum go to the splits
    // that are furthest behind, so the totals stay within about one example of n * share as well.
    std::array<double, 3> behind = {0.0, 0.0, 0.0};
    for (auto &[label, members] : strata) {
        (void)label;
        const auto &h = *hash;
        std::sort(members.begin(), members.end(),
                  [&](size_t a, size_t b) { return h[a] != h[b] ? h[a] < h[b] : a < b; });
        const auto count = stratumCounts(int64_t(members.size()), *share, behind);
        size_t at = 0;
        for (size_t k = 0; k < 3; ++k)
            for (int64_t c = 0; c < count[k]; ++c)
                parts[k]->push_back(members[at++]);
    }

    keepPapersTogether(out, data, papers);
    const std::array<double, 3> given = {spec.train, spec.validation, spec.test};
    for (size_t k = 0; k < 3; ++k) {
        std::sort(parts[k]->begin(), parts[k]->end());
        if ((*share)[k] > 0.0 && parts[k]->empty())
            return Error{std::string(kSplitNames[k]) + " is " + number(given[k]) + ", but none of the " +
                         std::to_string(n) + " examples fell in it; raise " + kSplitNames[k] +
                         " or use more data (or set it to 0 to do without)."};
    }
    return out;
}

} // namespace lbk
