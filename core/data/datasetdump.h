#pragma once
// `lbk dataset`: an experiment's examples with Labbook's own labels and split, one JSON line each
// ({"id", "split", "labels", "text"}) after a header line, so tools outside Labbook (the scikit-learn baseline,
// the PyTorch reference) see exactly the same data.
#include <cstddef>
#include <filesystem>
#include <string>

#include "experiment/experiment.h"
#include "util/result.h"

namespace lbk {

struct DatasetDump {
    size_t examples = 0, train = 0, validation = 0, test = 0;
};

Result<DatasetDump> writeDataset(const Experiment &exp, const std::string &dataRoot, const std::filesystem::path &out);

} // namespace lbk
