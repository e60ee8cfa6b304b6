#include "data/datasetdump.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "data/papercache.h"

namespace lbk {

using nlohmann::json;

Result<SplitExamples> splitExamples(const Experiment &exp, const std::string &dataRoot,
                                    const std::filesystem::path &cacheRoot)
{
    SplitExamples out;
    out.source = dataSourcePath(exp.data, dataRoot);
    auto files = resolveDataFiles(exp.data.paths, dataRoot);
    if (!files)
        return files.error();
    ReadNeeds needs;
    needs.abstracts = exp.data.text != TextField::Title; // as a run reads them, so its cache entry is the one found
    ReadReport report;
    PaperCacheUse cache;
    auto papers = cacheRoot.empty() ? readPaperFiles(*files, exp.data)
                                    : readPaperFilesCached(*files, exp.data, needs, cacheRoot, report, cache);
    if (!papers)
        return papers.error();
    out.papers = std::move(*papers);
    auto data = buildLabels(out.papers, exp.labels, out.source.string());
    if (!data)
        return data.error();
    out.data = std::move(*data);
    auto split = splitData(out.data, out.papers, exp.split);
    if (!split)
        return split.error();
    out.split = std::move(*split);
    return out;
}

Result<DatasetDump> writeDataset(const Experiment &exp, const std::string &dataRoot, const std::filesystem::path &out)
{
    if (auto files = resolveDataFiles(exp.data.paths, dataRoot); !files)
        return files.error();
    else if (auto s = notAnInput(out, *files, "--out"); !s)
        return s.error();
    auto examples = splitExamples(exp, dataRoot);
    if (!examples)
        return examples.error();
    const auto &file = examples->source;
    const auto *papers = &examples->papers;
    const auto *data = &examples->data;
    const auto *split = &examples->split;
    // Written beside it and renamed once whole (found by an audit: a full disk left a cut file, said only by the exit).
    const std::filesystem::path partial = out.string() + ".partial";
    std::ofstream os(partial, std::ios::binary);
    if (!os)
        return Error{out.string() + ": cannot write the dataset"};
    std::vector<const char *> splitOf(data->paper.size(), "none");
    for (size_t i : split->train)
        splitOf[i] = "train";
    for (size_t i : split->validation)
        splitOf[i] = "val";
    for (size_t i : split->test)
        splitOf[i] = "test";
    // One header line names the task, then one line per example in example order.
    os << json({{"task", toString(data->kind)}, {"label_names", data->labelNames}, {"data", file.string()},
                {"text", toString(exp.data.text)}, {"examples", data->paper.size()}})
              .dump()
       << '\n';
    for (size_t i = 0; i < data->paper.size(); ++i) {
        const Paper &p = (*papers)[data->paper[i]];
        os << json({{"id", p.id}, {"split", splitOf[i]}, {"labels", data->labels[i]},
                    {"text", paperText(p, exp.data.text)}})
                  .dump(-1, ' ', false, json::error_handler_t::replace)
           << '\n';
    }
    os.close();
    std::error_code ec;
    if (!os) {
        std::filesystem::remove(partial, ec);
        return Error{out.string() + ": write failed (is the disk full?); nothing was written there"};
    }
    std::filesystem::rename(partial, out, ec);
    if (ec)
        return Error{out.string() + ": cannot replace it: " + ec.message()};
    return DatasetDump{data->paper.size(), split->train.size(), split->validation.size(), split->test.size()};
}

} // namespace lbk
