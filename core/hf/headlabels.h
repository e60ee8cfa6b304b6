#pragma once
// A fine-tuned checkpoint's classification head meets a run's labels: transformers reuses a head of the right
// size whatever labels it was trained for; Labbook reads the checkpoint's id2label first, so a head trained for
// other labels starts anew and one trained for the same labels in another order has its rows put in this run's.
#include <cstdint>
#include <string>
#include <vector>

namespace lbk::hf {

struct HeadPlan {
    enum class Action { Reuse, Reorder, Fresh } action = Action::Reuse;
    std::vector<int64_t> rows; // Reorder: row i of the new head is the checkpoint's row rows[i]
    std::string message;       // for the run's log; empty when there is nothing to say
    bool warn = false;         // the message is a warning (a head reused whose labels cannot be checked)
};

// theirs: config.json's id2label (empty when it has none); ours: the run's label names, one per logit. Only a head
// of the same size is planned for (another size starts anew in any case): Reuse when the names agree in order or
// the checkpoint names none or transformers' unnamed LABEL_0, LABEL_1, ... (warned), Reorder when they are the
// same names in another order, Fresh when they differ. The caller says the message only when the file held a head
// that was loaded (or Fresh kept out).
HeadPlan planHead(const std::vector<std::string> &theirs, const std::vector<std::string> &ours);

} // namespace lbk::hf
