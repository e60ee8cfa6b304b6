// Whether runs set side by side predict the same labels, and if not how they differ, said in words: the labels
// section's JSON in a message ran a window past the screen's width and left the reader to diff it.
#include "store/store.h"

#include <algorithm>
#include <iterator>
#include <set>

#include "util/text.h"

namespace lbk {

using nlohmann::json;

namespace {

struct Labeling {
    std::string task;
    json labels; // the run's labels section, null when it has none

    bool operator==(const Labeling &) const = default;
};

// Each labelling once, in the order of the runs.
std::vector<Labeling> labelingsOf(const std::vector<RunDetail> &runs)
{
    std::vector<Labeling> out;
    for (const auto &r : runs) {
        const auto it = r.config.find("labels");
        Labeling l{r.task, it == r.config.end() ? json() : *it};
        if (std::find(out.begin(), out.end(), l) == out.end())
            out.push_back(std::move(l));
    }
    return out;
}

// A labels value as a person writes it: cs.CV rather than "cs.CV", [cs.CV, cs.LG] for a list.
std::string valueText(const json &v)
{
    if (v.is_string())
        return v.get<std::string>();
    if (v.is_null())
        return "(absent)";
    if (!v.is_array())
        return v.dump();
    std::string out;
    for (const auto &e : v)
        out += (out.empty() ? "" : ", ") + valueText(e);
    return "[" + out + "]";
}

// The keys in which the labels sections differ, each with its values: "labels.top_n 5 vs 20, labels.others drop
// vs pool".
std::string keysThatDiffer(const std::vector<const json *> &sections)
{
    std::set<std::string> keys;
    for (const json *s : sections)
        if (s->is_object())
            for (const auto &[k, v] : s->items())
                keys.insert(k);
    const auto at = [](const json *s, const std::string &k) { return s->is_object() ? s->value(k, json()) : json(); };
    std::string out;
    for (const auto &k : keys) {
        const json first = at(sections.front(), k);
        if (std::all_of(sections.begin(), sections.end(), [&](const json *s) { return at(s, k) == first; }))
            continue;
        std::string values;
        for (const json *s : sections)
            values += (values.empty() ? "" : " vs ") + valueText(at(s, k));
        out += (out.empty() ? "" : ", ") + ("labels." + k) + " " + values;
    }
    return out;
}

// Where runs that define their labels alike were scored over different labels (their summaries' "val_labels", as the
// ingester notes them): "run 2 has 10 labels, run 4 has 34; cs.CR, cs.DS and 22 more are not in every run"; empty
// when every run that noted its labels has the same set.
std::string recordedLabelsDiffer(const std::vector<RunDetail> &runs)
{
    std::vector<std::pair<const RunDetail *, std::set<std::string>>> sets;
    for (const auto &r : runs)
        if (const auto it = r.summary.find("val_labels"); it != r.summary.end() && it->is_array()) {
            std::set<std::string> labels;
            for (const auto &l : *it)
                if (l.is_string())
                    labels.insert(l.get<std::string>());
            sets.emplace_back(&r, std::move(labels));
        }
    const auto sameAsFirst = [&](const auto &s) { return s.second == sets[0].second; };
    if (sets.size() < 2 || std::all_of(sets.begin(), sets.end(), sameAsFirst))
        return {};
    std::set<std::string> all, inAll = sets[0].second;
    for (const auto &[run, labels] : sets) {
        all.insert(labels.begin(), labels.end());
        std::set<std::string> both;
        std::set_intersection(inAll.begin(), inAll.end(), labels.begin(), labels.end(),
                              std::inserter(both, both.end()));
        inAll = std::move(both);
    }
    std::string counts, some;
    for (const auto &[run, labels] : sets)
        counts += (counts.empty() ? "run " : ", run ") + std::to_string(run->id) + " has " +
                  (counts.empty() ? counted(long(labels.size()), "label") : std::to_string(labels.size()));
    size_t listed = 0, onlySome = 0;
    for (const auto &l : all)
        if (!inAll.count(l) && onlySome++ < 2)
            some += (listed++ ? ", " : "") + l;
    if (onlySome > listed)
        some += " and " + std::to_string(onlySome - listed) + " more";
    return counts + "; " + some + " " + (onlySome == 1 ? "is" : "are") + " not in every run";
}

std::string taskText(const std::string &task)
{
    return task.empty() ? "a run with no task recorded" : task;
}

} // namespace

std::string labelingDifference(const std::vector<RunDetail> &runs)
{
    const auto labelings = labelingsOf(runs);
    std::vector<std::string> tasks;
    for (const auto &l : labelings)
        if (std::find(tasks.begin(), tasks.end(), l.task) == tasks.end())
            tasks.push_back(l.task);
    std::string out;
    if (tasks.size() > 1)
        for (const auto &t : tasks)
            out += (out.empty() ? "" : ", ") + taskText(t);
    for (const auto &t : tasks) {
        std::vector<const json *> sections;
        for (const auto &l : labelings)
            if (l.task == t)
                sections.push_back(&l.labels);
        if (sections.size() < 2)
            continue;
        const std::string keys = keysThatDiffer(sections);
        out += (out.empty() ? "" : "; ") + (tasks.size() > 1 ? taskText(t) + ": " : std::string()) +
               (keys.empty() ? "labels sections that differ" : keys);
    }
    return out.empty() ? recordedLabelsDiffer(runs) : out;
}

} // namespace lbk
