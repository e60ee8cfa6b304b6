#pragma once
// Masked-language-model pre-training's corpus, read as a stream in constant memory however large it is: each
// document's role (trains, held out, unused), its text encoded in batches and packed (data/packing.h) straight
// into files on disk (data/packedfile.h), which training maps back. The files are kept in a cache under a key of
// everything they depend on, so a resumed run, a further rank, or a second run of the same corpus and tokenizer
// reads and encodes none of it again.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/dataset.h"
#include "data/packing.h"
#include "experiment/experiment.h"
#include "util/result.h"

namespace lbk {

enum class DocumentRole : uint8_t { Train, HeldOut, Unused };

// Which documents a pre-training run trains on and which it holds out for evaluation.
class DocumentSplit {
public:
    // By a hash of (split.seed, paper id), document by document: split.train's share trains, split.validation's
    // is held out (shares met on average, not exactly), the rest is unused. A paper read twice keeps its role.
    static DocumentSplit byHash(const SplitSpec &spec);
    // mlm.task_split: as a classifier of these labels splits its papers (splitData): its training papers train,
    // its validation papers are held out, its test papers and the papers outside the task are unused. Reads the
    // ids and categories of every paper (not their texts); `summary` receives a line for the run's log.
    static Result<DocumentSplit> byTask(const std::vector<std::filesystem::path> &files, const DataSpec &data,
                                        const LabelSpec &labels, const SplitSpec &split, std::string *summary);
    DocumentRole roleOf(const std::string &paperId) const;

private:
    SplitSpec m_spec;
    bool m_byIds = false;
    std::unordered_map<std::string, DocumentRole> m_roles; // byTask: the task's training and validation papers
};

// The corpus's documents: data.path's files, each paper's text (data.text) and its role.
struct MlmDocuments {
    std::vector<std::filesystem::path> files;
    DataSpec data;
    DocumentSplit split;
    // A paper without categories is a bad line when the split reads them (mlm.task_split), so both passes count
    // the same papers.
    ReadNeeds needs{false};
    // visit(role, text) for every document, in the files' order, until it returns false. Errors name the file and
    // line.
    Status forEach(const std::function<bool(DocumentRole, std::string &&)> &visit, ReadReport *report = nullptr) const;
};

// Counts of the documents read, kept with the packed files.
struct MlmCorpusCounts {
    int64_t documents = 0, train = 0, heldOut = 0;
    ReadReport report; // lines, rows, bad and repeated lines of the reading (the first errors only when just read)
};

struct MlmCorpus {
    PackedSequences train, heldOut;
    MlmCorpusCounts counts;
    bool fromCache = false;
    std::string cacheProblem; // a damaged cache entry that was built anew, for a warning
};

// A batch of documents' ids, in order, without special tokens.
using DocumentEncoder = std::function<std::vector<std::vector<int>>(const std::vector<std::string> &)>;

struct MlmCorpusRequest {
    // The documents; asked for only when the corpus is packed anew (with mlm.task_split making them reads the
    // papers' ids and categories).
    std::function<Result<MlmDocuments>()> documents;
    PackingOptions packing;
    DocumentEncoder encode;
    int32_t vocabRows = 0; // every id must be below it (the model's embedding rows)
    // Names everything the sequences depend on: the files are cacheBase-train.*, cacheBase-heldout.* and
    // cacheBase.json, written last.
    std::filesystem::path cacheBase;
};

// The packed corpus: mapped from the cache when it is there, whole and fits the request (window, ids), otherwise
// read, encoded in batches and packed anew.
Result<MlmCorpus> openMlmCorpus(const MlmCorpusRequest &request);

} // namespace lbk
