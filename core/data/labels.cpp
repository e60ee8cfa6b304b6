// buildLabels: papers' categories turned into examples for the three task kinds.
#include "data/dataset.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace lbk {

namespace {

using Counts = std::vector<std::pair<std::string, int64_t>>;

// Most common first; ties by name so the result never depends on hash-map order.
Counts sortedCounts(const std::unordered_map<std::string, int64_t> &counts)
{
    Counts out(counts.begin(), counts.end());
    std::sort(out.begin(), out.end(), [](const auto &a, const auto &b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    return out;
}

std::string describe(const Counts &counts, size_t n = 5)
{
    std::string s;
    for (size_t i = 0; i < counts.size() && i < n; ++i)
        s += (i ? ", " : "") + counts[i].first + " (" + std::to_string(counts[i].second) + ")";
    return s.empty() ? std::string("(none)") : s;
}

std::string join(const std::vector<std::string> &parts, const char *sep)
{
    std::string s;
    for (size_t i = 0; i < parts.size(); ++i)
        s += (i ? sep : "") + parts[i];
    return s;
}

std::unordered_map<std::string, int64_t> primaryCounts(const std::vector<Paper> &papers)
{
    std::unordered_map<std::string, int64_t> counts;
    for (const auto &p : papers)
        if (!p.categories.empty())
            ++counts[p.categories.front()];
    return counts;
}

// Papers carrying each category (a category listed twice by one paper counts once).
std::unordered_map<std::string, int64_t> anyCounts(const std::vector<Paper> &papers, const std::string &prefix = {})
{
    std::unordered_map<std::string, int64_t> counts;
    std::vector<const std::string *> seen;
    for (const auto &p : papers) {
        seen.clear();
        for (const auto &c : p.categories) {
            if (c.compare(0, prefix.size(), prefix) != 0)
                continue;
            if (std::find_if(seen.begin(), seen.end(), [&](const std::string *s) { return *s == c; }) != seen.end())
                continue;
            seen.push_back(&c);
            ++counts[c];
        }
    }
    return counts;
}

Result<LabeledData> multiClass(const std::vector<Paper> &papers, const LabelSpec &spec, const std::string &source)
{
    if (spec.topN < 1)
        return Error{"labels.top_n is " + std::to_string(spec.topN) +
                     "; it must be at least 2 (or 1 with labels.others = \"pool\")."};
    const Counts counts = sortedCounts(primaryCounts(papers));
    const size_t kept = std::min(counts.size(), size_t(spec.topN));

    LabeledData d;
    d.kind = TaskKind::MultiClass;
    std::unordered_map<std::string, int> index;
    for (size_t i = 0; i < kept; ++i) {
        index.emplace(counts[i].first, int(i));
        d.labelNames.push_back(counts[i].first);
    }
    const bool pooled = spec.poolOthers && kept < counts.size();
    if (pooled)
        d.labelNames.push_back("other");
    if (d.labelNames.size() < 2)
        return Error{"labels: " + source + " yields " + std::to_string(d.labelNames.size()) +
                     " class(es) (primary categories: " + describe(counts) +
                     "); a multiclass task needs at least two. Raise labels.top_n, set labels.others to \"pool\", "
                     "or use data with more categories."};

    const int other = pooled ? int(kept) : -1;
    for (size_t i = 0; i < papers.size(); ++i) {
        int label = -1;
        if (!papers[i].categories.empty()) {
            const auto it = index.find(papers[i].categories.front());
            label = it != index.end() ? it->second : other;
        }
        if (label < 0) {
            ++d.dropped;
            continue;
        }
        d.paper.push_back(i);
        d.labels.push_back({label});
    }
    return d;
}

Result<LabeledData> binary(const std::vector<Paper> &papers, const LabelSpec &spec, const std::string &source)
{
    if (spec.positive.empty())
        return Error{"labels.positive is empty; name the categories that make a paper positive, e.g. [\"cs.CV\"]."};
    const std::unordered_set<std::string> positive(spec.positive.begin(), spec.positive.end());
    const std::string names = join(spec.positive, "|");

    LabeledData d;
    d.kind = TaskKind::Binary;
    d.labelNames = {"not " + names, names};
    int64_t nPositive = 0;
    for (size_t i = 0; i < papers.size(); ++i) {
        const auto &cats = papers[i].categories;
        bool isPositive = false;
        if (spec.matchPrimaryOnly)
            isPositive = !cats.empty() && positive.count(cats.front());
        else
            isPositive =
                std::any_of(cats.begin(), cats.end(), [&](const std::string &c) { return positive.count(c) > 0; });
        nPositive += isPositive;
        d.paper.push_back(i);
        d.labels.push_back({isPositive ? 1 : 0});
    }

    const char *how = spec.matchPrimaryOnly ? " as its primary category" : "";
    if (nPositive == 0) {
        const Counts counts = sortedCounts(spec.matchPrimaryOnly ? primaryCounts(papers) : anyCounts(papers));
        return Error{"labels.positive: no paper in " + source + " carries " + join(spec.positive, " or ") + how +
                     "; the 5 most common" + (spec.matchPrimaryOnly ? " primary" : "") + " categories are " +
                     describe(counts) + ". Check the spelling (e.g. \"cs.CV\")."};
    }
    if (nPositive == int64_t(papers.size()))
        return Error{"labels.positive: every paper in " + source + " carries " + join(spec.positive, " or ") + how +
                     "; a binary task needs papers without it too. Use broader data or another category."};
    return d;
}

Result<LabeledData> multiLabel(const std::vector<Paper> &papers, const LabelSpec &spec, const std::string &source)
{
    const auto all = anyCounts(papers, spec.prefix);
    const Counts counts = sortedCounts(all);
    if (counts.empty())
        return Error{"labels.prefix: no paper in " + source + " carries a category starting with \"" + spec.prefix +
                     "\"; the 5 most common categories are " + describe(sortedCounts(anyCounts(papers))) +
                     ". Use a prefix such as \"cs.\" or \"math.\"."};

    LabeledData d;
    d.kind = TaskKind::MultiLabel;
    std::unordered_map<std::string, int> index;
    for (const auto &[name, n] : counts) {
        if (n < std::max(spec.minCount, 1))
            break; // sorted by count: the rest are rarer
        index.emplace(name, int(d.labelNames.size()));
        d.labelNames.push_back(name);
    }
    if (d.labelNames.size() < 2)
        return Error{"labels: " + std::to_string(d.labelNames.size()) + " category(ies) starting with \"" +
                     spec.prefix + "\" are carried by at least labels.min_count = " + std::to_string(spec.minCount) +
                     " papers in " + source + " (the most common: " + describe(counts) +
                     "); a multilabel task needs at least two. Lower labels.min_count or change labels.prefix."};

    std::vector<int> labels;
    for (size_t i = 0; i < papers.size(); ++i) {
        labels.clear();
        for (const auto &c : papers[i].categories) {
            const auto it = index.find(c);
            if (it != index.end() && std::find(labels.begin(), labels.end(), it->second) == labels.end())
                labels.push_back(it->second);
        }
        if (labels.empty()) {
            ++d.dropped;
            continue;
        }
        d.paper.push_back(i);
        d.labels.push_back(labels);
    }
    return d;
}

} // namespace

Result<LabeledData> buildLabels(const std::vector<Paper> &papers, const LabelSpec &spec)
{
    return buildLabels(papers, spec, "the data");
}

Result<LabeledData> buildLabels(const std::vector<Paper> &papers, const LabelSpec &spec, const std::string &source)
{
    if (papers.empty())
        return Error{"labels: " + source + " holds no papers; nothing to label."};
    Result<LabeledData> r = spec.kind == TaskKind::Binary       ? binary(papers, spec, source)
                            : spec.kind == TaskKind::MultiLabel ? multiLabel(papers, spec, source)
                                                                : multiClass(papers, spec, source);
    if (!r)
        return r;
    LabeledData &d = r.value();
    d.labelCounts.assign(d.labelNames.size(), 0);
    for (const auto &ls : d.labels)
        for (int l : ls)
            ++d.labelCounts[size_t(l)];
    return r;
}

} // namespace lbk
