#include "hf/headlabels.h"

#include <algorithm>
#include <regex>
#include <unordered_map>

namespace lbk::hf {

namespace {

bool unnamed(const std::vector<std::string> &labels)
{
    static const std::regex generic("LABEL_[0-9]+");
    return std::all_of(labels.begin(), labels.end(),
                       [](const std::string &l) { return std::regex_match(l, generic); });
}

// "cs.CV, hep-ph, ... (12 in all)": the first few names of a label list, for a message.
std::string someOf(const std::vector<std::string> &labels)
{
    constexpr size_t kShown = 4;
    std::string out;
    for (size_t i = 0; i < labels.size() && i < kShown; ++i)
        out += (i ? ", " : "") + labels[i];
    if (labels.size() > kShown)
        out += ", ... (" + std::to_string(labels.size()) + " in all)";
    return out;
}

} // namespace

HeadPlan planHead(const std::vector<std::string> &theirs, const std::vector<std::string> &ours)
{
    HeadPlan plan;
    if (!theirs.empty() && theirs.size() != ours.size())
        return plan; // a head of another size is not loaded at all
    if (theirs == ours) {
        plan.message = "the checkpoint's classification head is for this run's labels: it is reused";
        return plan;
    }
    if (theirs.empty() || unnamed(theirs)) { // said only where a head of the right size was in the file
        plan.warn = true;
        plan.message = "the checkpoint's classification head has " + std::to_string(ours.size()) +
                       " outputs without label names (config.json's id2label); it is reused for this run's labels "
                       "in their order (" + someOf(ours) + "), as transformers would";
        return plan;
    }
    std::unordered_map<std::string, int64_t> row;
    for (size_t i = 0; i < theirs.size(); ++i)
        row.emplace(theirs[i], int64_t(i));
    std::vector<std::string> absent;
    for (const auto &label : ours) {
        const auto it = row.find(label);
        if (it == row.end())
            absent.push_back(label);
        else
            plan.rows.push_back(it->second);
    }
    if (absent.empty() && row.size() == theirs.size()) {
        plan.action = HeadPlan::Action::Reorder;
        plan.message = "the checkpoint's classification head is for this run's labels in another order: its rows "
                       "are put in this run's order";
        return plan;
    }
    plan.action = HeadPlan::Action::Fresh;
    plan.rows.clear();
    plan.message = "the checkpoint's classification head was trained for other labels (" + someOf(theirs) +
                   "; this run's " + someOf(absent.empty() ? ours : absent) +
                   (absent.empty() ? "" : " are not among them") + "): it starts anew";
    return plan;
}

} // namespace lbk::hf
