// `lbk dataset`: an experiment's examples with Labbook's own labels and split, for tools outside Labbook (the
// scikit-learn baseline, the PyTorch reference) so every contender sees exactly the same data. No LibTorch here.
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "engine/engine.h"
#include "experiment/schema.h"

namespace lbk {

using nlohmann::json;

int dumpDataset(const DatasetDumpOptions &o)
{
    auto exp = loadExperimentFile(o.experiment);
    if (!exp) {
        std::fprintf(stderr, "lbk: %s\n", exp.message().c_str());
        return 2;
    }
    const auto file = resolveDataPath(exp->data.path, o.dataRoot);
    ReadReport report;
    auto papers = readPapers(file, exp->data, &report);
    if (!papers) {
        std::fprintf(stderr, "lbk: %s\n", papers.message().c_str());
        return 1;
    }
    auto data = buildLabels(*papers, exp->labels, file.string());
    if (!data) {
        std::fprintf(stderr, "lbk: %s\n", data.message().c_str());
        return 1;
    }
    auto split = splitData(*data, *papers, exp->split);
    if (!split) {
        std::fprintf(stderr, "lbk: %s\n", split.message().c_str());
        return 1;
    }
    std::ofstream out(o.out, std::ios::binary);
    if (!out) {
        std::fprintf(stderr, "lbk: %s: cannot write the dataset\n", o.out.string().c_str());
        return 1;
    }
    std::vector<const char *> splitOf(data->paper.size(), nullptr);
    for (size_t i : split->train)
        splitOf[i] = "train";
    for (size_t i : split->validation)
        splitOf[i] = "val";
    for (size_t i : split->test)
        splitOf[i] = "test";
    // One header line names the task, then one line per example in example order.
    out << json({{"task", toString(data->kind)}, {"label_names", data->labelNames}, {"data", file.string()},
                 {"text", toString(exp->data.text)}, {"examples", data->paper.size()}})
               .dump()
        << '\n';
    for (size_t i = 0; i < data->paper.size(); ++i) {
        const Paper &p = (*papers)[data->paper[i]];
        out << json({{"id", p.id}, {"split", splitOf[i] ? splitOf[i] : "none"}, {"labels", data->labels[i]},
                     {"text", paperText(p, exp->data.text)}})
                   .dump(-1, ' ', false, json::error_handler_t::replace)
            << '\n';
    }
    if (!out) {
        std::fprintf(stderr, "lbk: %s: write failed\n", o.out.string().c_str());
        return 1;
    }
    std::fprintf(stderr, "lbk: %zu examples (%zu train, %zu val, %zu test) written to %s\n", data->paper.size(),
                 split->train.size(), split->validation.size(), split->test.size(), o.out.string().c_str());
    return 0;
}

} // namespace lbk
