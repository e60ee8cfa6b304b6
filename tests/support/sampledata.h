#pragma once
// The 5k-paper arXiv sample that engine tests train and score on (../shared/data/arxiv, found through
// $LABBOOK_DATA as CTest sets it).
#include <QtGlobal>

#include <vector>

#include "data/dataset.h"

namespace lbktest {

inline std::vector<lbk::Paper> samplePapers()
{
    auto papers = lbk::readPapers(lbk::resolveDataPath("arxiv/arxiv-sample-5k.jsonl"), lbk::DataSpec{});
    if (!papers)
        qFatal("%s", papers.message().c_str());
    return std::move(*papers);
}

} // namespace lbktest
