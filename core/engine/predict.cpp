// `lbk predict`: JSON lines in (plain or .zst), or CSV/TSV read by the data readers; one prediction per paper out
// (JSON lines or CSV), in constant memory: chunks of papers are parsed and tokenized on every thread, scored in
// length-ordered batches, rendered on every thread and written in input order.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <numeric>
#include <optional>

#include <unistd.h>

#include <ATen/Parallel.h>

#include "data/dataset.h"
#include "data/linereader.h"
#include "data/paperfields.h"
#include "engine/engine.h"
#include "engine/guarded.h"
#include "engine/checkpoint.h"
#include "engine/loadedmodel.h"
#include "engine/predictprogress.h"
#include "engine/threads.h"
#include "metrics/metrics.h"
#include "util/text.h"
#include "util/jsontext.h"

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A probability as text; a non-finite one (a damaged model) as JSON's null or an empty CSV field, so every line
// stays valid.
void appendFloat(std::string &out, float v, bool csv)
{
    if (!std::isfinite(v)) {
        out += csv ? "" : "null";
        return;
    }
    char buf[32];
    const int n = std::snprintf(buf, sizeof buf, "%.9g", double(v));
    out.append(buf, size_t(n));
}

// Runs fn(i, t) for i in [0, n) on LibTorch's own threads (the ones that score), t being the thread's index below
// at::get_num_threads(): a second pool of threads beside LibTorch's would leave its OpenMP threads spinning for
// the cores while this one parses.
template <class Fn>
void parallelFor(size_t n, Fn fn)
{
    at::parallel_for(0, int64_t(n), 64, [&](int64_t begin, int64_t end) {
        const int t = at::get_thread_num();
        for (int64_t i = begin; i < end; ++i)
            fn(size_t(i), t);
    });
}

class Predictor {
public:
    Predictor(const PredictOptions &o, const LoadedModel &lm, std::string format, int threads)
        : m_o(o), m_lm(lm), m_csv(format == "csv"), m_caches(size_t(std::max(threads, at::get_num_threads())))
    {
    }
    std::string header() const;
    static constexpr size_t kChunk = kPredictChunkLines;
    // Scores one chunk of JSON lines and writes the rows of the lines that are papers, in input order.
    void scoreChunk(const std::vector<std::string> &lines, std::FILE *out);
    // The same for papers a table reader read (CSV, TSV records; at most kChunk of them): the reader has skipped and
    // counted those without text already, by PaperFields::textProblem.
    void scorePapers(const std::vector<Paper> &papers, std::FILE *out);
    void startAtLine(int64_t line) { m_lineNo = line; } // for messages: the input's line number of the first line read
    // Records the reader could not read (a table's bad records): skipped, the first of them named.
    void countUnreadable(int64_t n, const std::vector<std::string> &first);
    PredictResult result;

private:
    static constexpr char kNotObject = 0, kScored = 1, kNoText = 2, kWrongType = 3; // what parse() made of a line
    void parse(const std::vector<std::string> &lines);
    void prepare(size_t i, const Paper &p, int thread); // item i of the chunk: its id, tokens and m_ok
    // Scores items [0, n) of the chunk prepared; counted(i): a line that is not a paper counts as skipped.
    template <class Counted>
    void score(size_t n, std::FILE *out, const Counted &counted);
    void render(const float *row, const std::string &id, std::string &s) const;
    // "file:line" of line i of the chunk being scored.
    std::string place(size_t i) const { return m_o.data.string() + ":" + std::to_string(m_lineNo + int64_t(i) + 1); }
    std::string noTextReason() const { return PaperFields(m_lm.exp.data).textProblem(Paper{}); }

    const PredictOptions &m_o;
    const LoadedModel &m_lm;
    bool m_csv;
    std::vector<WordCache> m_caches; // one per thread, bounded
    std::vector<std::string> m_ids = std::vector<std::string>(kChunk), m_rendered = std::vector<std::string>(kChunk);
    std::vector<std::vector<int>> m_tokens = std::vector<std::vector<int>>(kChunk);
    std::vector<char> m_ok = std::vector<char>(kChunk);
    std::vector<std::string> m_why = std::vector<std::string>(kChunk); // why a kWrongType/kNotObject line is none
    int64_t m_lineNo = 0;
};

std::string Predictor::header() const
{
    std::string h = "id,label,score";
    if (m_lm.kind == TaskKind::MultiLabel)
        h += ",labels";
    if (m_o.topK <= 0)
        for (const auto &n : m_lm.labels)
            h += "," + csvField("p:" + n);
    for (int r = 2; r <= std::min<int>(m_o.topK, int(m_lm.labels.size())); ++r)
        h += ",label_" + std::to_string(r) + ",score_" + std::to_string(r);
    return h + "\n";
}

// "an array", "a number": what a field holds that is not a string, for messages.
static std::string jsonTypeName(const json &v)
{
    return v.is_array() ? "an array" : v.is_object() ? "an object" : v.is_boolean() ? "a boolean" : "a number";
}

// Parses and tokenizes in parallel; m_ok[i] says what line i was (kScored: a paper with text).
void Predictor::parse(const std::vector<std::string> &lines)
{
    const DataSpec &ds = m_lm.exp.data;
    parallelFor(lines.size(), [&](size_t i, int t) {
        m_ok[i] = kNotObject;
        if (isBlank(lines[i]))
            return; // no paper, and not counted (score's counted())
        auto j = json::parse(lines[i], nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            m_why[i] = notAnObjectReason(lines[i]); // parsed again to say where (bad lines are few)
            return;
        }
        // As training reads them: text fields are strings, an id a string or a number; anything else skips the line.
        bool wrong = false;
        auto str = [&](const std::string &key, bool numberAllowed) {
            auto it = j.find(key);
            if (it == j.end() || it->is_null())
                return std::string();
            if (it->is_string())
                return it->get<std::string>();
            if (numberAllowed && it->is_number())
                return it->dump();
            if (!wrong)
                m_why[i] = "\"" + key + "\" is " + jsonTypeName(*it) + ", not a string";
            wrong = true;
            return std::string();
        };
        Paper p;
        p.id = str(ds.idColumn, true);
        if (p.id.empty()) // as training names a paper without an id: its line number, so the row joins back
            p.id = std::to_string(m_lineNo + int64_t(i) + 1);
        p.title = str(ds.titleColumn, false);
        p.abstract = str(ds.abstractColumn, false);
        if (wrong) {
            m_ok[i] = kWrongType;
            return;
        }
        prepare(i, p, t);
    });
}

void Predictor::prepare(size_t i, const Paper &p, int thread)
{
    m_ids[i] = p.id;
    const std::string text = paperText(p, m_lm.exp.data.text);
    if (!PaperFields::hasText(text)) {
        m_ok[i] = kNoText; // a file without the field the model reads would score as many empty texts
        return;
    }
    m_tokens[i] = m_lm.tokenizer->encode(text, &m_caches[size_t(thread)]);
    m_ok[i] = kScored;
}

void Predictor::countUnreadable(int64_t n, const std::vector<std::string> &first)
{
    if (n > 0 && result.skipped == 0 && !first.empty())
        result.firstSkipped = first.front();
    result.skipped += n;
}

// One output row: the most probable label and its score (a binary model's under --threshold: the positive label
// from the threshold up), a multilabel model's predicted set (every label at kPredictedFrom or --threshold or
// above, most probable first; space-separated in CSV, as arXiv's categories), then every probability or the top k.
void Predictor::render(const float *row, const std::string &id, std::string &s) const
{
    const auto &names = m_lm.labels;
    std::vector<float> full;
    if (m_lm.kind == TaskKind::Binary)
        full = {1 - row[0], row[0]};
    else
        full.assign(row, row + m_lm.width());
    std::vector<size_t> order(full.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return full[a] > full[b]; });
    const float threshold = m_o.threshold >= 0 ? float(m_o.threshold) : kPredictedFrom;
    std::vector<std::string> set;
    if (m_lm.kind == TaskKind::MultiLabel)
        for (size_t c : order)
            if (full[c] >= threshold)
                set.push_back(names[c]);
    // The label: the most probable; a binary model's the positive one from the threshold up (at exactly 0.5 by
    // default too, as the run's metrics count it).
    const size_t label = m_lm.kind == TaskKind::Binary ? (full[1] >= threshold ? 1 : 0) : order[0];
    s.clear();
    if (m_csv) {
        s += csvField(id) + "," + csvField(names[label]) + ",";
        appendFloat(s, full[label], true);
        if (m_lm.kind == TaskKind::MultiLabel) {
            std::string joined;
            for (const auto &n : set)
                joined += (joined.empty() ? "" : " ") + n;
            s += "," + csvField(joined);
        }
        if (m_o.topK <= 0)
            for (float v : full) {
                s += ',';
                appendFloat(s, v, true);
            }
        for (size_t r = 1; r < std::min(order.size(), size_t(std::max(m_o.topK, 0))); ++r) {
            s += "," + csvField(names[order[r]]) + ",";
            appendFloat(s, full[order[r]], true);
        }
        s += '\n';
        return;
    }
    s += "{\"id\":" + json(id).dump(-1, ' ', false, json::error_handler_t::replace) +
         ",\"label\":" + json(names[label]).dump() + ",\"score\":";
    appendFloat(s, full[label], false);
    if (m_lm.kind == TaskKind::MultiLabel)
        s += ",\"labels\":" + json(set).dump();
    if (m_o.topK <= 0) {
        s += ",\"probs\":[";
        for (size_t c = 0; c < full.size(); ++c) {
            if (c)
                s += ',';
            appendFloat(s, full[c], false);
        }
    } else {
        s += ",\"top\":[";
        for (size_t r = 0; r < std::min(order.size(), size_t(m_o.topK)); ++r) {
            s += r ? ",[" : "[";
            s += json(names[order[r]]).dump() + ",";
            appendFloat(s, full[order[r]], false);
            s += "]";
        }
    }
    s += "]}\n";
}

void Predictor::scoreChunk(const std::vector<std::string> &lines, std::FILE *out)
{
    parse(lines);
    score(lines.size(), out, [&](size_t i) { return !isBlank(lines[i]); }); // a blank line is no paper (as training reads)
}

void Predictor::scorePapers(const std::vector<Paper> &papers, std::FILE *out)
{
    parallelFor(papers.size(), [&](size_t i, int t) { prepare(i, papers[i], t); });
    score(papers.size(), out, [](size_t) { return true; });
}

template <class Counted>
void Predictor::score(size_t n, std::FILE *out, const Counted &counted)
{
    std::vector<const std::vector<int> *> good;
    std::vector<size_t> where;
    for (size_t i = 0; i < n; ++i) {
        if (m_ok[i] == kScored) {
            good.push_back(&m_tokens[i]);
            where.push_back(i);
        } else if (counted(i) && result.skipped++ == 0) {
            result.firstSkipped = place(i) + ": " + (m_ok[i] == kNoText     ? noTextReason()
                                                                             : m_why[i]);
        }
    }
    const size_t k = m_lm.width();
    const auto probs = scoreInBatches(good, size_t(std::max(1, m_o.batchSize)), k,
                                      [&](const auto &part) { return m_lm.probabilities(part); });
    for (size_t g = 0; g < good.size(); ++g)
        if (!std::all_of(probs.data() + g * k, probs.data() + (g + 1) * k, [](float v) { return std::isfinite(v); }) &&
            result.nonFinite++ == 0)
            result.firstNonFinite = place(where[g]);
    parallelFor(good.size(), [&](size_t g, int) { render(probs.data() + g * k, m_ids[where[g]], m_rendered[where[g]]); });
    for (size_t w : where)
        std::fwrite(m_rendered[w].data(), 1, m_rendered[w].size(), out);
    result.rows += int64_t(good.size());
    m_lineNo += int64_t(n); // after every place() of this chunk
}

// jsonl or csv: --format, or with "auto" the output's name. .csv is CSV and anything else JSON lines (also
// "preds", /dev/stdout), but a name that promises another format is refused rather than filled with JSON lines.
Result<std::string> outputFormat(const PredictOptions &o)
{
    if (o.format != "auto") {
        if (o.format != "csv" && o.format != "jsonl")
            return badInput("--format " + o.format + ": use jsonl or csv");
        return o.format;
    }
    std::string ext = o.out.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    for (const char *other : {".parquet", ".arrow", ".feather", ".xlsx", ".tsv", ".gz", ".zst", ".bz2", ".xz"})
        if (ext == other)
            return badInput("--out " + o.out.string() + ": predict writes JSON lines or CSV, not \"" + ext +
                            "\"; name the file .jsonl or .csv, or give --format jsonl or csv");
    return std::string(ext == ".csv" ? "csv" : "jsonl");
}

// The lines one shard scores, [first, end) of the input's total: all of them unsharded; for --shard K/N the K-th
// of N contiguous blocks, from a first pass that counts the lines as the scoring pass reads them (the same
// LineReader), so the N blocks cover every line exactly once. Blocks are whole chunks (Predictor::kChunk lines):
// a chunk is scored in batches made from its own lines, so each row's probabilities come out bit for bit as in
// an unsharded run, and the N outputs concatenated are its output. A file of fewer than N chunks leaves shards empty.
struct LineRange {
    int64_t first = 0, end = INT64_MAX, total = 0;
};

Result<LineRange> shardLines(const PredictOptions &o)
{
    if (o.shards <= 1)
        return LineRange{};
    if (std::error_code ec; !fs::is_regular_file(o.data, ec))
        return badInput("--shard: " + o.data.string() +
                        " is not a regular file; a shard counts the file's lines first, so it must be read twice");
    auto source = openByteSource(o.data, namedZstd(o.data));
    if (!source)
        return badInput(source.message());
    LineReader reader(**source);
    std::string_view line;
    int64_t n = 0;
    while (reader.next(line))
        ++n;
    if (!reader.error().empty())
        return Error{reader.error()};
    const int64_t chunks = (n + int64_t(Predictor::kChunk) - 1) / int64_t(Predictor::kChunk);
    const auto lineOf = [&](int64_t k) { return std::min(n, chunks * k / o.shards * int64_t(Predictor::kChunk)); };
    return LineRange{lineOf(o.shard), lineOf(o.shard + 1), n};
}

// Skips to line `from` (range.first, or where a resumed run stopped), then scores up to range.end chunk by chunk.
// After each chunk, chunkDone(lines consumed) (the output's progress), then a stop asked by SIGINT or SIGTERM is
// honoured. The line it stopped at, or nothing when it read the range to its end.
Result<std::optional<int64_t>> scoreLines(const PredictOptions &o, ByteSource &source, int64_t from,
                                          const LineRange &range, Predictor &predictor, std::FILE *out,
                                          const std::function<Status(int64_t)> &chunkDone)
{
    LineReader reader(source);
    std::string_view line;
    int64_t read = 0;
    while (read < from && reader.next(line))
        ++read;
    predictor.startAtLine(read);
    if (o.progress) // where the count starts: the rows a resumed run found
        o.progress(source.fileBytesRead(), source.fileSize(), predictor.result.rows);
    std::vector<std::string> lines;
    while (read < range.end) {
        lines.clear();
        while (lines.size() < Predictor::kChunk && read < range.end && reader.next(line)) {
            lines.emplace_back(line);
            ++read;
        }
        if (lines.empty()) // the end of the input
            break;
        predictor.scoreChunk(lines, out);
        if (auto s = chunkDone(read); !s)
            return s.error();
        if (o.progress)
            o.progress(source.fileBytesRead(), source.fileSize(), predictor.result.rows);
        if (cancelRequested() && read < range.end)
            return std::optional<int64_t>(read);
    }
    if (!reader.error().empty())
        return Error{reader.error()};
    return std::optional<int64_t>();
}

// How predict reads a table with the run's columns and text: every record, ids as written, no labels.
DataSpec tableSpec(const PredictOptions &o, const DataSpec &trained, DataFormat format)
{
    DataSpec spec = trained; // its columns and text
    spec.paths = {o.data.string()};
    spec.format = format;
    spec.limit = 0;
    spec.maxBadShare = 1.0; // predict skips and counts, and refuses a file of which nothing was scored
    return spec;
}

// CSV or TSV input (by its name), read by the data readers, which know the run's columns and a quoted field's
// line breaks (so a record is not a line): papers in chunks of kChunk, in order, from paper `from` (where a resumed
// run stopped: the reader reads the papers before it again, unscored). Positions count the papers read, so records
// the reader cannot read are not among them: they are skipped and counted as bad lines are, at the end (over the
// whole file, so a resumed run counts them once). After each chunk, chunkDone(papers read); a stop asked by SIGINT
// or SIGTERM then (or while it skips) ends it: the papers its rows reach, else nothing.
Result<std::optional<int64_t>> scoreTable(const PredictOptions &o, const DataSpec &trained, DataFormat format,
                                          int64_t from, Predictor &predictor, std::FILE *out,
                                          const std::function<Status(int64_t)> &chunkDone)
{
    ReadNeeds needs;
    needs.categories = false;
    needs.abstracts = trained.text != TextField::Title;
    needs.asWritten = true;
    needs.givenFile = true;
    std::vector<Paper> chunk;
    predictor.startAtLine(from); // messages name papers as an uninterrupted run does
    if (o.progress) // where the count starts: the rows a resumed run found
        o.progress(0, 0, predictor.result.rows);
    const auto flush = [&] {
        predictor.scorePapers(chunk, out);
        chunk.clear();
        if (o.progress)
            o.progress(0, 0, predictor.result.rows);
    };
    ReadReport report;
    int64_t papers = 0;
    bool stopped = false;
    Status done = okStatus();
    auto read = readPaperStream({o.data}, tableSpec(o, trained, format), [&](Paper &&p) {
        if (papers++ < from) // scored by the run this one continues
            return !(stopped = cancelRequested());
        chunk.push_back(std::move(p));
        if (chunk.size() < Predictor::kChunk)
            return true;
        flush();
        if (done = chunkDone(papers); !done)
            return false;
        return !(stopped = cancelRequested());
    }, &report, needs);
    if (!done)
        return done.error();
    if (!read)
        return badInput(read.message());
    if (stopped) // the rows reach `from` when it stopped before scoring anything
        return std::optional<int64_t>(std::max(papers, from));
    if (papers < from) {
        predictor.result.inputChanged = true;
        return badInput(o.data.string() + " holds " + std::to_string(papers) + " papers, fewer than the " +
                        std::to_string(from) + " the interrupted run had scored: it changed");
    }
    if (!chunk.empty())
        flush();
    predictor.countUnreadable(report.bad, report.firstErrors);
    return std::optional<int64_t>();
}

// Whether the input is a table (CSV, TSV): by its name, as data.path's format is told.
std::optional<DataFormat> tableFormat(const fs::path &data)
{
    const auto format = dataFormatOf(data);
    if (format == DataFormat::Csv || format == DataFormat::Tsv)
        return format;
    return std::nullopt;
}

// More lines skipped than the model's experiment (or --max-bad-share) allows: the rows scored stay written, and
// the command fails so that a pipeline notices.
Status checkSkipped(const PredictOptions &o, const PredictResult &r, double allowed, const char *line)
{
    const std::string share = tooManyBad(r.skipped, r.rows + r.skipped, allowed, "the allowed --max-bad-share");
    if (share.empty())
        return okStatus();
    return badInput(o.data.string() + ": " + counted(r.skipped, line) + " could not be scored (" +
                    share + "; without --max-bad-share, the model's data.max_bad_share); first: " + r.firstSkipped +
                    ". The rows scored are written (" + counted(r.rows, "row") + ")");
}

// What the rows say once written: an error for non-finite probabilities or a file of which nothing was scored.
Result<PredictResult> checkResult(const PredictOptions &o, const PredictResult &r)
{
    if (r.nonFinite > 0)
        return Error{o.model.string() + ": the model gives non-finite probabilities for " + std::to_string(r.nonFinite) +
                     " of " + std::to_string(r.rows) + " rows (first: " + r.firstNonFinite +
                     "); its weights are damaged or diverged. The output holds null for them"};
    // Nothing scored in a whole file is refused. One shard's block of nothing but skipped lines writes its part,
    // empty (the array's join needs it), and fails on its share of bad lines (checkSkipped).
    if (o.shards > 1)
        return r;
    if (r.rows == 0 && r.skipped > 0)
        return badInput(o.data.string() + ": no line could be scored, " + std::to_string(r.skipped) +
                        " skipped; first: " + r.firstSkipped);
    if (r.rows == 0)
        return badInput(o.data.string() + ": holds no papers (an empty file)");
    return r;
}

// Where the rows go: stdout, a device as named, or a file written beside its final name and renamed over it once
// every row is in, so a failed run leaves an earlier output whole and no half-written file. Beside that partial
// file, its progress after each chunk (engine/predictprogress.h), from which --resume continues.
class Output {
public:
    static Result<Output> open(const PredictOptions &o, const std::string &inputs)
    {
        Output out;
        std::error_code ec;
        if (o.out.empty())
            return badInput("--out is empty: give a file, or - for standard output");
        if (o.out == "-") {
            if (o.resume)
                return badInput("--resume continues an output file; standard output cannot be continued");
            out.m_file = stdout;
            out.m_final = out.m_writing = "standard output";
            return out;
        }
        if (auto s = notAnInput(o.out, {o.data}, "--out"); !s)
            return s.error();
        const bool device = fs::exists(o.out, ec) && !fs::is_regular_file(o.out, ec);
        if (device && o.resume)
            return badInput("--resume: " + o.out.string() + " is not a regular file; a device cannot be continued");
        out.m_final = o.out;
        out.m_writing = device ? o.out : fs::path(o.out.string() + ".partial");
        if (!device) {
            out.m_progress = progressFileOf(out.m_writing);
            out.m_inputs = inputs;
        }
        if (o.resume && out.reopen(o))
            return out;
        if (!o.resume && o.warn && fs::exists(out.m_progress, ec))
            o.warn(out.m_writing.filename().string() + " holds the rows of an interrupted run, which this run "
                   "replaces; `--resume` would have continued it");
        out.m_file = std::fopen(out.m_writing.c_str(), "wb");
        if (!out.m_file)
            return Error{o.out.string() + ": cannot write the predictions: " + std::strerror(errno)};
        return out;
    }
    Output() = default;
    Output(Output &&other) noexcept { *this = std::move(other); }
    Output &operator=(Output &&other) noexcept
    {
        std::swap(m_file, other.m_file);
        std::swap(m_final, other.m_final);
        std::swap(m_writing, other.m_writing);
        std::swap(m_progress, other.m_progress);
        std::swap(m_inputs, other.m_inputs);
        std::swap(m_resumed, other.m_resumed);
        std::swap(m_checkpointed, other.m_checkpointed);
        return *this;
    }
    ~Output() { (void)close(false); }
    std::FILE *file() const { return m_file; }
    const std::optional<PredictProgress> &resumed() const { return m_resumed; }
    const fs::path &writing() const { return m_writing; }
    // A file with a progress beside it: what a stop leaves there, --resume continues (not stdout, not a device).
    bool resumable() const { return !m_progress.empty(); }

    // After a chunk: the rows so far are on disk and the progress says where they end.
    Status checkpoint(int64_t line, const PredictResult &counts)
    {
        if (m_progress.empty())
            return okStatus();
        // On disk before the progress vouches for them: after a lost node, no hole of zeros is taken for rows.
        if (std::fflush(m_file) != 0 || ::fdatasync(fileno(m_file)) != 0)
            return Error{m_writing.string() + ": writing the predictions failed (is the disk full?)"};
        auto saved = savePredictProgress(m_progress, m_inputs, {line, int64_t(ftello(m_file)), counts});
        m_checkpointed = m_checkpointed || saved.ok();
        return saved;
    }
    // Whether a progress vouches for rows of this run (or of the run it resumed).
    bool checkpointed() const { return m_checkpointed || m_resumed.has_value(); }

    // Stopped by a signal: the partial file and its progress stay for --resume.
    void abandon()
    {
        if (m_file && m_file != stdout)
            std::fclose(m_file);
        m_file = nullptr;
    }

    // Flushes and closes; kept: the file takes its final name, else the partial file is removed (its progress
    // goes either way). Errors name the file and what failed.
    Status close(bool keep)
    {
        if (!m_file)
            return okStatus();
        bool ok = std::fflush(m_file) == 0 && !std::ferror(m_file);
        if (m_file != stdout)
            ok = std::fclose(m_file) == 0 && ok;
        m_file = nullptr;
        std::error_code ec;
        if (!m_progress.empty())
            fs::remove(m_progress, ec);
        if (m_writing != m_final && (!keep || !ok))
            fs::remove(m_writing, ec);
        if (!ok)
            return Error{m_writing.string() + ": writing the predictions failed (is the disk full?)"};
        if (m_writing != m_final && keep)
            fs::rename(m_writing, m_final, ec);
        if (ec)
            return Error{m_writing.string() + ": cannot be renamed to " + m_final.string() + ": " + ec.message()};
        return okStatus();
    }

private:
    // --resume: the partial file of an earlier run of the same inputs, cut to the rows its progress vouches for.
    // False, with the reason said, when there is none to continue.
    bool reopen(const PredictOptions &o)
    {
        std::error_code ec;
        std::string why;
        const auto size = fs::file_size(m_writing, ec);
        auto p = loadPredictProgress(m_progress, m_inputs);
        if (ec)
            why = "there is no " + m_writing.filename().string() +
                  (fs::exists(m_final) ? " and " + m_final.filename().string() + " is there: that run finished" : "");
        else if (!p)
            why = m_progress.filename().string() + ": " + p.message();
        else if (uintmax_t(p->bytes) > size)
            why = m_writing.filename().string() + " is shorter than its progress says";
        else if (!rowsAreThere(*p, o.format == "csv" || m_final.extension() == ".csv"))
            why = m_writing.filename().string() + " does not hold the " + std::to_string(p->counts.rows) +
                  " rows its progress says (it was damaged)";
        else if (!(m_file = std::fopen(m_writing.c_str(), "r+b")) || ::ftruncate(fileno(m_file), off_t(p->bytes)) ||
                 std::fseek(m_file, 0, SEEK_END))
            why = m_writing.string() + ": cannot be reopened: " + std::strerror(errno);
        if (why.empty()) {
            m_resumed = *p;
            return true;
        }
        if (m_file)
            std::fclose(m_file);
        m_file = nullptr;
        // A first run under --resume (a cluster's task starts each shard with it) has nothing to say.
        const bool firstRun = !fs::exists(m_writing, ec) && !fs::exists(m_final, ec) && !fs::exists(m_progress, ec);
        if (o.warn && !firstRun)
            o.warn("--resume: nothing to continue (" + why + "); scoring from the start");
        return false;
    }

    // The partial file's first p.bytes hold p.counts.rows whole lines (and CSV's header): a file zeroed or edited
    // since is not continued.
    bool rowsAreThere(const PredictProgress &p, bool csv) const
    {
        std::ifstream in(m_writing, std::ios::binary);
        std::vector<char> block(size_t(1) << 20);
        int64_t left = p.bytes, lines = 0;
        char last = '\n';
        while (left > 0 && in.read(block.data(), std::streamsize(std::min<int64_t>(left, int64_t(block.size())))))
        {
            const auto n = in.gcount();
            lines += std::count(block.data(), block.data() + n, '\n');
            last = block[size_t(n) - 1];
            left -= n;
        }
        const int64_t want = p.counts.rows + (csv && p.bytes > 0 ? 1 : 0);
        return left == 0 && last == '\n' && (csv ? lines >= want : lines == want);
    }

    std::FILE *m_file = nullptr;
    bool m_checkpointed = false;
    fs::path m_final, m_writing; // the same for stdout and devices
    fs::path m_progress;         // empty for stdout and devices
    std::string m_inputs;
    std::optional<PredictProgress> m_resumed;
};

// Options asking for more than there is are said, not taken silently: --top-k above the labels, --threads above
// the cores (which only makes the threads wait on each other).
void sayWhatIsCut(const PredictOptions &o, const LoadedModel &lm, int threads)
{
    if (!o.warn)
        return;
    const auto labels = int(lm.labels.size());
    if (o.topK > labels)
        o.warn("--top-k " + std::to_string(o.topK) + ": the model has " + std::to_string(labels) + " labels; all " +
               std::to_string(labels) + " are written");
    const int cores = threadCount(0); // every core
    if (threads > cores)
        o.warn("--threads " + std::to_string(threads) + " is more than this machine's " + std::to_string(cores) +
               " cores; the extra threads only wait");
}

// What a partial output depends on, for --resume: the weights (their checksum), the data file, the shard and the
// options that change a row.
std::string predictInputs(const PredictOptions &o, const std::string &format, const LoadedModel &lm)
{
    std::error_code sizeError, timeError, pathError;
    const auto size = fs::file_size(o.data, sizeError);
    const auto modified = fs::last_write_time(o.data, timeError).time_since_epoch().count();
    const auto path = fs::weakly_canonical(o.data, pathError); // ./big.jsonl and big.jsonl are one file
    return nlohmann::json{{"weights", weightsChecksumText(*lm.model)},
                          {"checkpoint", lm.checkpoint},
                          {"data", pathError ? o.data.string() : path.string()},
                          {"data_size", sizeError ? 0 : size},
                          {"data_modified", timeError ? 0 : modified},
                          {"shard", std::to_string(o.shard) + "/" + std::to_string(o.shards)},
                          {"format", format},
                          {"top_k", o.topK},
                          {"threshold", o.threshold >= 0 ? nlohmann::json(o.threshold) : nlohmann::json()},
                          {"precision", lm.precision()},
                          {"batch_size", o.batchSize}}
        .dump();
}

// Scoring that failed half-way (the input ends in the middle of a zstd frame, a read error): the rows its progress
// vouches for stay in the partial file, as after a stop, rather than hours of an encoder's scoring going with it.
Error keepWhatWasScored(Output &out, const PredictResult &r, Error failed)
{
    if (!out.resumable() || !out.checkpointed() || r.inputChanged)
        return failed;
    out.abandon();
    failed.message += "\nThe rows scored before it are kept in " + out.writing().string() +
                      " (and its progress file): --resume goes on from there while the input is the same file (a read "
                      "error that passes); an input fetched again, of another size or time, is scored from the start";
    return failed;
}

Result<PredictResult> predictAll(const PredictOptions &o)
{
    const int threads = threadCount(o.threads);
    setComputeThreads(threads);
    const auto format = outputFormat(o);
    if (!format)
        return format.error();
    auto lm = loadModel(o.model);
    if (!lm)
        return lm.error();
    if (o.threshold >= 0 && (*lm)->kind == TaskKind::MultiClass)
        return badInput("--threshold: " + o.model.string() + " is a multiclass model, which predicts its most "
                        "probable label; a threshold is for binary and multilabel models");
    (*lm)->choosePrecision(o.precision, o.warn);
    if (o.warn && !(*lm)->checkpointNote.empty())
        o.warn((*lm)->checkpointNote);
    sayWhatIsCut(o, **lm, threads);
    // The bag model's matmul (a batch by its dimension by the classes) is too small to split: OpenBLAS's threads
    // would only wake and wait (in sched_yield) beside the threads that parse, 40% of the CPU time on 1M titles
    // (its pthreads build; the OpenMP build keeps a matmul this small on one thread by itself).
    if (!(*lm)->exp.model.hasSequence())
        setBlasThreads(1);
    const auto table = tableFormat(o.data);
    if (table && o.shards > 1)
        return badInput("--shard: " + o.data.string() + " is a CSV/TSV table, whose records may span lines; shard a "
                        "JSON lines file (docs/PREDICT.md)");
    const auto range = table ? Result<LineRange>(LineRange{}) : shardLines(o);
    if (!range)
        return range.error();
    auto source = table ? Result<std::unique_ptr<ByteSource>>(nullptr) : openByteSource(o.data, namedZstd(o.data));
    if (!source)
        return badInput(source.message());
    auto out = Output::open(o, predictInputs(o, *format, **lm));
    if (!out)
        return out.error();
    Predictor predictor(o, **lm, *format, threads);
    int64_t from = range->first;
    if (const auto &resumed = out->resumed()) {
        if (resumed->line < range->first || (!table && resumed->line > range->end)) // a table's end is not known
            return badInput(progressFileOf(out->writing()).string() + " is damaged: its line is outside the input");
        from = resumed->line;
        predictor.result = resumed->counts;
    } else if (*format == "csv") {
        std::fputs(predictor.header().c_str(), out->file());
    }
    const auto t0 = std::chrono::steady_clock::now();
    const auto chunkDone = [&](int64_t consumed) { return out->checkpoint(consumed, predictor.result); };
    auto scored = table ? scoreTable(o, (*lm)->exp.data, *table, from, predictor, out->file(), chunkDone)
                        : scoreLines(o, **source, from, *range, predictor, out->file(), chunkDone);
    if (!scored)
        return keepWhatWasScored(*out, predictor.result, scored.error());
    const std::optional<int64_t> stopAt = *scored;
    PredictResult r = predictor.result;
    r.table = table.has_value();
    if (out->resumed()) {
        r.resumedAtLine = from;
        r.resumedRows = out->resumed()->counts.rows;
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.threads = threads;
    r.precision = (*lm)->precision();
    if (o.shards > 1) {
        r.firstLine = range->first;
        r.lines = range->end - range->first;
        r.totalLines = range->total;
    }
    if (stopAt) { // by a signal: the rows so far stay in the partial file, which --resume continues
        out->abandon();
        r.stoppedAtLine = *stopAt;
        r.resumable = out->resumable();
        return r;
    }
    auto checked = checkResult(o, r);
    const Status skipped = checkSkipped(o, r, o.maxBadShare >= 0 ? o.maxBadShare : (*lm)->exp.data.maxBadShare,
                                        table ? "record" : "line");
    // Rows with non-finite probabilities are kept (the output says null for them), and the rows of a file with
    // too many bad lines; nothing scored is not.
    const bool keep = checked || r.nonFinite > 0;
    if (auto closed = out->close(keep); !closed)
        return closed.error();
    if (checked && !skipped)
        return skipped.error();
    return checked;
}

} // namespace

Result<PredictResult> predict(const PredictOptions &o)
{
    return guarded<PredictResult>([&] { return predictAll(o); });
}

} // namespace lbk
