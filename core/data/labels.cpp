// buildLabels and applyLabels: papers' categories turned into examples for the three task kinds.
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

// The one rule that gives a paper its labels, once the label names are known: the primary category (or
// "other" when labels.pool_others added it) for multiclass, the positive categories for binary, every carried
// label for multilabel. Training (buildLabels) and `lbk eval` (applyLabels) both label through it.
class LabelRule {
public:
    LabelRule(const LabelSpec &spec, const std::vector<std::string> &names) : m_spec(spec)
    {
        for (size_t i = 0; i < names.size(); ++i)
            m_index.emplace(names[i], int(i));
        if (spec.kind == TaskKind::MultiClass && spec.poolOthers)
            m_other = find("other");
        m_positive.insert(spec.positive.begin(), spec.positive.end());
    }
    // The paper's label indices; empty when it carries none of the labels and is left out (never for binary).
    void apply(const Paper &paper, std::vector<int> &out) const
    {
        out.clear();
        const auto &cats = paper.categories;
        if (m_spec.kind == TaskKind::Binary) {
            auto positive = [&](const std::string &c) { return m_positive.count(c) > 0; };
            const bool isPositive = m_spec.matchPrimaryOnly ? !cats.empty() && positive(cats.front())
                                                            : std::any_of(cats.begin(), cats.end(), positive);
            out.push_back(isPositive ? 1 : 0);
        } else if (m_spec.kind == TaskKind::MultiClass) {
            const int label = cats.empty() ? -1 : find(cats.front()) >= 0 ? find(cats.front()) : m_other;
            if (label >= 0)
                out.push_back(label);
        } else {
            for (const auto &c : cats)
                if (const int l = find(c); l >= 0 && std::find(out.begin(), out.end(), l) == out.end())
                    out.push_back(l);
        }
    }

private:
    int find(const std::string &name) const
    {
        const auto it = m_index.find(name);
        return it == m_index.end() ? -1 : it->second;
    }
    const LabelSpec &m_spec;
    std::unordered_map<std::string, int> m_index;
    std::unordered_set<std::string> m_positive;
    int m_other = -1;
};

// Every paper labelled by the rule under these names, with the per-label counts.
LabeledData labelAll(const std::vector<Paper> &papers, const LabelSpec &spec, std::vector<std::string> names)
{
    LabeledData d;
    d.kind = spec.kind;
    const LabelRule rule(spec, names);
    d.labelNames = std::move(names);
    d.labelCounts.assign(d.labelNames.size(), 0);
    std::vector<int> labels;
    for (size_t i = 0; i < papers.size(); ++i) {
        rule.apply(papers[i], labels);
        if (labels.empty()) {
            ++d.dropped;
            continue;
        }
        for (int l : labels)
            ++d.labelCounts[size_t(l)];
        d.paper.push_back(i);
        d.labels.push_back(labels);
    }
    return d;
}

Result<std::vector<std::string>> multiClassNames(const std::vector<Paper> &papers, const LabelSpec &spec,
                                                 const std::string &source)
{
    if (spec.topN < 1)
        return Error{"labels.top_n is " + std::to_string(spec.topN) +
                     "; it must be at least 2 (or 1 with labels.others = \"pool\")."};
    const Counts counts = sortedCounts(primaryCounts(papers));
    const size_t kept = std::min(counts.size(), size_t(spec.topN));
    std::vector<std::string> names;
    for (size_t i = 0; i < kept; ++i)
        names.push_back(counts[i].first);
    if (spec.poolOthers && kept < counts.size())
        names.push_back("other");
    if (names.size() < 2)
        return Error{"labels: " + source + " yields " + std::to_string(names.size()) +
                     " class(es) (primary categories: " + describe(counts) +
                     "); a multiclass task needs at least two. Raise labels.top_n, set labels.others to \"pool\", "
                     "or use data with more categories."};
    return names;
}

Result<std::vector<std::string>> binaryNames(const LabelSpec &spec)
{
    if (spec.positive.empty())
        return Error{"labels.positive is empty; name the categories that make a paper positive, e.g. [\"cs.CV\"]."};
    const std::string names = join(spec.positive, "|");
    return std::vector<std::string>{"not " + names, names};
}

// A binary task needs positive and negative papers.
Status checkBinary(const LabeledData &d, const std::vector<Paper> &papers, const LabelSpec &spec,
                   const std::string &source)
{
    const char *how = spec.matchPrimaryOnly ? " as its primary category" : "";
    if (d.labelCounts[1] == 0) {
        const Counts counts = sortedCounts(spec.matchPrimaryOnly ? primaryCounts(papers) : anyCounts(papers));
        return Error{"labels.positive: no paper in " + source + " carries " + join(spec.positive, " or ") + how +
                     "; the 5 most common" + (spec.matchPrimaryOnly ? " primary" : "") + " categories are " +
                     describe(counts) + ". Check the spelling (e.g. \"cs.CV\")."};
    }
    // One of several positives that no paper carries is a misspelling the others hide.
    const auto carried = spec.matchPrimaryOnly ? primaryCounts(papers) : anyCounts(papers);
    for (const auto &p : spec.positive)
        if (!carried.contains(p))
            return Error{"labels.positive: no paper in " + source + " carries " + p + how + " (the other positive " +
                         "categories have " + std::to_string(d.labelCounts[1]) + " papers); check its spelling or "
                         "leave it out"};
    if (d.labelCounts[1] == int64_t(papers.size()))
        return Error{"labels.positive: every paper in " + source + " carries " + join(spec.positive, " or ") + how +
                     "; a binary task needs papers without it too. Use broader data or another category."};
    return Unit{};
}

Result<std::vector<std::string>> multiLabelNames(const std::vector<Paper> &papers, const LabelSpec &spec,
                                                 const std::string &source)
{
    const Counts counts = sortedCounts(anyCounts(papers, spec.prefix));
    if (counts.empty())
        return Error{"labels.prefix: no paper in " + source + " carries a category starting with \"" + spec.prefix +
                     "\"; the 5 most common categories are " + describe(sortedCounts(anyCounts(papers))) +
                     ". Use a prefix such as \"cs.\" or \"math.\"."};
    std::vector<std::string> names;
    for (const auto &[name, n] : counts) {
        if (n < std::max(spec.minCount, 1))
            break; // sorted by count: the rest are rarer
        names.push_back(name);
    }
    if (names.size() < 2)
        return Error{"labels: " + std::to_string(names.size()) + " category(ies) starting with \"" + spec.prefix +
                     "\" are carried by at least labels.min_count = " + std::to_string(spec.minCount) + " papers in " +
                     source + " (the most common: " + describe(counts) +
                     "); a multilabel task needs at least two. Lower labels.min_count or change labels.prefix."};
    return names;
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
    auto names = spec.kind == TaskKind::Binary       ? binaryNames(spec)
                 : spec.kind == TaskKind::MultiLabel ? multiLabelNames(papers, spec, source)
                                                     : multiClassNames(papers, spec, source);
    if (!names)
        return names.error();
    LabeledData d = labelAll(papers, spec, std::move(*names));
    if (spec.kind == TaskKind::Binary)
        if (auto ok = checkBinary(d, papers, spec, source); !ok)
            return ok.error();
    return d;
}

LabeledData applyLabels(const std::vector<Paper> &papers, const LabelSpec &spec, const std::vector<std::string> &names)
{
    return labelAll(papers, spec, names);
}

} // namespace lbk
