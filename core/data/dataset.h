#pragma once
// Reading papers (arXiv metadata JSON lines or one JSON array of them, plain or zstd-compressed, and CSV/TSV with
// a column mapping), turning their categories into labels for the three task kinds, and the seeded, stratified
// split that is identical on every machine.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "experiment/experiment.h"
#include "util/result.h"

namespace lbk {

struct Paper {
    std::string id;
    std::string title;
    std::string abstract;
    std::vector<std::string> categories; // first is the primary
};

struct ReadReport {
    int64_t lines = 0;    // non-empty lines (CSV: records) seen
    int64_t rows = 0;     // papers read
    int64_t bad = 0;      // lines that failed to parse, skipped
    std::vector<std::string> firstErrors; // up to 5, each "file:line: what is wrong"
    int64_t duplicates = 0; // lines whose paper was read before (same id, arXiv version aside), skipped
    std::vector<std::string> firstDuplicates; // up to 5, each "file:line: paper <id> again, first at line <n>"
};

// The path a data spec names, resolved against the data root when relative. The data root is dataRoot when
// not empty, else $LABBOOK_DATA, else ../shared/data beside the checkout (found from the executable's folder
// and the working directory).
std::filesystem::path resolveDataPath(const std::string &path, const std::string &dataRoot = {});
// Whether resolveDataPath puts `path` under the data root (relative, and not ~/): messages say so.
bool startsAtDataRoot(const std::string &path);
std::filesystem::path defaultDataRoot();
// The files data.path names: the one file, or, when the path holds a pattern (* ? [...], as the shell's), every
// file it matches, sorted. A pattern that matches nothing is an error naming it.
Result<std::vector<std::filesystem::path>> resolveDataFiles(const std::string &path, const std::string &dataRoot = {});
// Every path's files in turn (data.path as a list): a file that two of them name is listed once, where it first is.
Result<std::vector<std::filesystem::path>> resolveDataFiles(const std::vector<std::string> &paths,
                                                            const std::string &dataRoot = {});
// Why data.path's files are not on this machine ("data.path: /x/papers.jsonl: no such file", a pattern that matches
// nothing); empty when every one is. What a local launch cannot start without; a target reads its own disk.
std::string dataNotHere(const std::vector<std::string> &paths, const std::string &dataRoot = {});
// An output file that is one of the data files it is made from (the same file by any path) is refused, naming
// the option that gave it: writing it would destroy the input.
Status notAnInput(const std::filesystem::path &out, const std::vector<std::filesystem::path> &inputs,
                  const std::string &option);
// A hash of the files as they are now (path, size, modification time, first and last 64 KiB): part of every
// cache key built from the data (papers read, packed corpora).
uint64_t dataFilesStamp(const std::vector<std::filesystem::path> &files);

// The data a spec names, as messages and summaries name it: the resolved path, or the paths as written when the
// spec lists several.
std::filesystem::path dataSourcePath(const DataSpec &spec, const std::string &dataRoot = {});

// A paper's id without arXiv's version suffix ("2101.00001v2" -> "2101.00001", "hep-th/9901001v1" ->
// "hep-th/9901001"), so two versions of a paper are one paper; ids not shaped like arXiv's are kept as they are.
std::string canonicalPaperId(std::string_view id);

// More bad lines than a share allows, said as "66.7% of 3, more than data.max_bad_share = 1%" (limitName naming
// the limit); "" when within it. One rule for reading training data and for lbk predict.
std::string tooManyBad(int64_t bad, int64_t lines, double maxBadShare, std::string_view limitName);

// Reads every paper. Fails with a message naming the file (and line) when the file is missing, unreadable, a
// column is missing, or more than spec.maxBadShare of its lines fail to parse; otherwise bad lines are
// counted in the report. Each paper is read once: ids are made canonical, and a line whose paper was read
// before is skipped (the first is kept; a paper in two splits would be tested on what it trained on) and
// counted in the report. A paper without an id gets its line number as one.
Result<std::vector<Paper>> readPapers(const std::filesystem::path &file, const DataSpec &spec,
                                      ReadReport *report = nullptr);
// What a reader of the papers needs of each: a classifier their categories (a line without is bad); masked-language
// pre-training only the text, so a corpus such as the Pile's ({"text": ...}) reads.
struct ReadNeeds {
    bool categories = true;
    bool abstracts = true; // false: abstracts are dropped as papers are read (a title-only run need not hold them)
    bool fastJson = true;  // false: every JSON line through the SAX reader alone (tests compare the two readers)
    bool asWritten = false; // every record as the file has it (lbk predict's rows): a repeated paper is kept, ids
                            // are not made canonical, and a paper without one keeps an empty id
    bool givenFile = false; // a file given to a trained model on the command line (lbk predict, lbk eval): its
                            // messages say how to fix the file, not which experiment key to change
};
// A data file's format from its name (a .zst suffix aside): .jsonl/.json/.ndjson, .csv, .tsv/.tab; nullopt when the
// name does not tell.
std::optional<DataFormat> dataFormatOf(const std::filesystem::path &file);
// readPapers of several files in turn, as one corpus (shards): a paper repeated in a later file is a duplicate, a
// paper without an id gets "<file name>:<line>", data.limit counts across the files, the report sums them.
Result<std::vector<Paper>> readPaperFiles(const std::vector<std::filesystem::path> &files, const DataSpec &spec,
                                          ReadReport *report = nullptr, const ReadNeeds &needs = {});

// readPaperFiles as a stream, for a corpus larger than memory: each paper goes to sink as it is read, in order,
// and is not kept; the sink returns false to stop. Only the ids read so far are remembered (to skip repeats).
using PaperSink = std::function<bool(Paper &&)>;
Status readPaperStream(const std::vector<std::filesystem::path> &files, const DataSpec &spec, const PaperSink &sink,
                       ReadReport *report = nullptr, const ReadNeeds &needs = {});


// The model's input text for a paper.
std::string paperText(const Paper &paper, TextField field);

struct LabeledData {
    TaskKind kind = TaskKind::MultiClass;
    std::vector<std::string> labelNames; // binary: {"not <positives>", "<positives>"}
    std::vector<size_t> paper;           // example i is papers[paper[i]]
    // multiclass and binary: one label index per example; multilabel: the indices of its positive labels, in
    // the order the paper lists the categories (so the first is its first matching category)
    std::vector<std::vector<int>> labels;
    std::vector<int64_t> labelCounts;    // examples carrying each label
    int64_t dropped = 0;                 // papers left out (multiclass others dropped, multilabel no label)
};

// Fails when the spec yields fewer than two classes, a binary task with no positive or no negative example,
// or a multilabel prefix no paper carries.
Result<LabeledData> buildLabels(const std::vector<Paper> &papers, const LabelSpec &spec);
// The same, with messages naming where the papers came from (a file name) instead of "the data".
Result<LabeledData> buildLabels(const std::vector<Paper> &papers, const LabelSpec &spec, const std::string &source);

// A trained run's labels (its labelNames) applied to other papers, by the same rule as buildLabels: papers that
// carry none of them are dropped (counted in `dropped`).
LabeledData applyLabels(const std::vector<Paper> &papers, const LabelSpec &spec, const std::vector<std::string> &names);

struct DataSplit {
    std::vector<size_t> train, validation, test; // indices into LabeledData examples
};

// Deterministic on every machine: order within each stratum (the example's first label) comes from a
// 64-bit hash of (seed, paper id), never from std:: distributions. Examples whose papers share an id (by
// canonicalPaperId) all go to one split, so no paper is tested on after training on it. Fails when a split that
// is asked for (share > 0) ends up empty.
Result<DataSplit> splitData(const LabeledData &data, const std::vector<Paper> &papers, const SplitSpec &spec);

} // namespace lbk
