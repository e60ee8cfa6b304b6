#include "data/mlmcorpus.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "data/packedfile.h"
#include "util/filebytes.h"
#include "util/stablehash.h"

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

DocumentSplit DocumentSplit::byHash(const SplitSpec &spec)
{
    DocumentSplit s;
    s.m_spec = spec;
    return s;
}

Result<DocumentSplit> DocumentSplit::byTask(const std::vector<fs::path> &files, const DataSpec &data,
                                            const LabelSpec &labels, const SplitSpec &split, std::string *summary)
{
    std::vector<Paper> papers; // ids and categories only: the texts are read later, as a stream
    const PaperSink keep = [&](Paper &&p) {
        p.title.clear();
        p.abstract.clear();
        papers.push_back(std::move(p));
        return true;
    };
    const std::string source = files.empty() ? std::string("data.path") : files.front().string();
    if (auto read = readPaperStream(files, data, keep, nullptr, ReadNeeds{true}); !read)
        return read.error();
    auto labeled = buildLabels(papers, labels, source);
    if (!labeled)
        return labeled.error();
    auto parts = splitData(*labeled, papers, split);
    if (!parts)
        return parts.error();
    DocumentSplit s;
    s.m_spec = split;
    s.m_byIds = true;
    for (const size_t i : parts->train)
        s.m_roles.emplace(papers[labeled->paper[i]].id, DocumentRole::Train);
    for (const size_t i : parts->validation)
        s.m_roles.emplace(papers[labeled->paper[i]].id, DocumentRole::HeldOut);
    if (summary)
        *summary = "mlm.task_split: " + std::to_string(parts->train.size()) + " training and " +
                   std::to_string(parts->validation.size()) + " validation papers of the task; its " +
                   std::to_string(parts->test.size()) + " test papers and the " +
                   std::to_string(papers.size() - labeled->paper.size()) + " papers outside it are not read";
    return s;
}

DocumentRole DocumentSplit::roleOf(const std::string &paperId) const
{
    if (m_byIds) {
        const auto it = m_roles.find(paperId);
        return it == m_roles.end() ? DocumentRole::Unused : it->second;
    }
    const double u = double(stableHash(paperId, m_spec.seed ^ 0x6d6c6d2d73706c74ULL) >> 11) * 0x1p-53;
    if (u < m_spec.train)
        return DocumentRole::Train;
    return u < m_spec.train + m_spec.validation ? DocumentRole::HeldOut : DocumentRole::Unused;
}

Status MlmDocuments::forEach(const std::function<bool(DocumentRole, std::string &&)> &visit, ReadReport *report) const
{
    const PaperSink sink = [&](Paper &&p) { return visit(split.roleOf(p.id), paperText(p, data.text)); };
    return readPaperStream(files, data, sink, report, needs);
}

namespace {

json countsJson(const MlmCorpusCounts &c)
{
    return {{"documents", c.documents}, {"train", c.train},       {"held_out", c.heldOut},
            {"lines", c.report.lines},  {"rows", c.report.rows}, {"bad", c.report.bad},
            {"duplicates", c.report.duplicates}};
}

MlmCorpusCounts countsFrom(const json &j)
{
    MlmCorpusCounts c;
    c.documents = j.at("documents").get<int64_t>();
    c.train = j.at("train").get<int64_t>();
    c.heldOut = j.at("held_out").get<int64_t>();
    c.report.lines = j.at("lines").get<int64_t>();
    c.report.rows = j.at("rows").get<int64_t>();
    c.report.bad = j.at("bad").get<int64_t>();
    c.report.duplicates = j.at("duplicates").get<int64_t>();
    return c;
}

fs::path part(const fs::path &base, const char *role) { return fs::path(base.string() + "-" + role); }
fs::path countsPath(const fs::path &base) { return fs::path(base.string() + ".json"); }

// The cached corpus, when its counts file (written last) and both packed pairs are there, whole, and fit the
// request.
Result<MlmCorpus> openCached(const fs::path &base, const MlmCorpusRequest &r)
{
    std::ifstream in(countsPath(base));
    if (!in)
        return Error{""}; // not cached: no problem to report
    MlmCorpus c;
    try {
        c.counts = countsFrom(json::parse(in));
    } catch (const json::exception &e) {
        return Error{countsPath(base).string() + ": " + e.what()};
    }
    auto train = mapPackedFile(part(base, "train"));
    if (!train)
        return train.error();
    auto heldOut = mapPackedFile(part(base, "heldout"));
    if (!heldOut)
        return heldOut.error();
    for (const PackedSequences *p : {&*train, &*heldOut}) {
        const fs::path file = packedIdsPath(part(base, p == &*train ? "train" : "heldout"));
        if (p->window() != r.packing.window)
            return Error{file.string() + ": packed in windows of " + std::to_string(p->window()) + ", not " +
                         std::to_string(r.packing.window)};
        if (!packedIdsBelow(*p, r.vocabRows))
            return Error{file.string() + ": damaged (an id outside the vocabulary of " + std::to_string(r.vocabRows) + ")"};
    }
    c.train = std::move(*train);
    c.heldOut = std::move(*heldOut);
    c.fromCache = true;
    return c;
}

// Replaced whole (writeFileReplacing: a temporary of this process's own, renamed): another process packing the same
// entry at once never reads or moves a half-written file.
Status writeCounts(const fs::path &base, const MlmCorpusCounts &counts)
{
    return writeFileReplacing(countsPath(base), countsJson(counts).dump() + "\n");
}

// Texts of one role waiting to be encoded together (encoding is parallel within a batch), then packed in order.
class RolePacker {
public:
    RolePacker(const PackingOptions &o, SequenceSink &sink, const DocumentEncoder &encode)
        : m_packer(o, sink), m_encode(encode)
    {
    }
    void add(std::string &&text)
    {
        m_texts.push_back(std::move(text));
        if (m_texts.size() == kBatch)
            flush();
    }
    size_t pending() const { return m_texts.size(); }
    void finish()
    {
        flush();
        m_packer.finish();
    }

private:
    static constexpr size_t kBatch = 4096;
    void flush()
    {
        for (const auto &ids : m_encode(m_texts))
            m_packer.add(ids);
        m_texts.clear();
    }
    SequencePacker m_packer;
    const DocumentEncoder &m_encode;
    std::vector<std::string> m_texts;
};

Result<MlmCorpus> build(const MlmCorpusRequest &r)
{
    const fs::path &base = r.cacheBase;
    auto docs = r.documents();
    if (!docs)
        return docs.error();
    std::error_code ec;
    fs::create_directories(base.parent_path(), ec);
    if (ec)
        return Error{base.parent_path().string() + ": cannot create the packed-corpus cache folder: " + ec.message()};
    removeStalePackedFiles(base.parent_path());
    auto trainFile = PackedFileWriter::create(part(base, "train"), r.packing.window);
    if (!trainFile)
        return trainFile.error();
    auto heldOutFile = PackedFileWriter::create(part(base, "heldout"), r.packing.window);
    if (!heldOutFile)
        return heldOutFile.error();
    RolePacker train(r.packing, **trainFile, r.encode), heldOut(r.packing, **heldOutFile, r.encode);
    MlmCorpus c;
    const auto visit = [&](DocumentRole role, std::string &&text) {
        ++c.counts.documents;
        if (role == DocumentRole::Train) {
            ++c.counts.train;
            train.add(std::move(text));
        } else if (role == DocumentRole::HeldOut) {
            ++c.counts.heldOut;
            heldOut.add(std::move(text));
        }
        return !(*trainFile)->failed() && !(*heldOutFile)->failed(); // a full disk: stop reading, commit says why
    };
    if (auto read = docs->forEach(visit, &c.counts.report); !read)
        return read.error();
    if (c.counts.train == 0)
        return Error{"split: no document trains; raise split.train or use more data (" +
                     (docs->files.empty() ? std::string("data.path") : docs->files.front().string()) + ")"};
    train.finish();
    heldOut.finish();
    for (auto *file : {trainFile->get(), heldOutFile->get()})
        if (auto done = file->commit(); !done)
            return done.error();
    if (auto counts = writeCounts(base, c.counts); !counts)
        return counts.error();
    auto mapped = openCached(base, r);
    if (!mapped)
        return mapped.error();
    mapped->counts.report = c.counts.report; // with the first errors, for the run's warnings
    mapped->fromCache = false;
    return mapped;
}

} // namespace

Result<MlmCorpus> openMlmCorpus(const MlmCorpusRequest &request)
{
    auto cached = openCached(request.cacheBase, request);
    if (cached)
        return cached;
    auto built = build(request);
    if (!built && !cached.message().empty())
        return Error{built.message() + " (packing it anew, as " + cached.message() + ")"};
    if (built)
        built->cacheProblem = cached.message();
    return built;
}

} // namespace lbk
