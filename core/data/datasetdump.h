#pragma once
// `lbk dataset`: an experiment's examples with Labbook's own labels and split, one JSON line each
// ({"id", "split", "labels", "text"}) after a header line, so tools outside Labbook (the scikit-learn baseline,
// the PyTorch reference) see exactly the same data.
#include <cstddef>
#include <filesystem>
#include <string>

#include "data/dataset.h"
#include "experiment/experiment.h"
#include "util/result.h"

namespace lbk {

// An experiment's papers, its examples with Labbook's labels, and their split, as a run of it trains on them (also
// what `lbk eval` checks a file against: which of its papers the run trained on).
struct SplitExamples {
    std::filesystem::path source; // the data file, as the header of `lbk dataset` names it
    std::vector<Paper> papers;
    LabeledData data;
    DataSplit split;
};
// cacheRoot: read through the paper cache there (a run's own read of its data left an entry), else from the files.
Result<SplitExamples> splitExamples(const Experiment &exp, const std::string &dataRoot,
                                    const std::filesystem::path &cacheRoot = {});

struct DatasetDump {
    size_t examples = 0, train = 0, validation = 0, test = 0;
};

Result<DatasetDump> writeDataset(const Experiment &exp, const std::string &dataRoot, const std::filesystem::path &out);

} // namespace lbk
