// readPapers: JSON lines (plain or zstd, decompressed as a stream), a JSON array of papers (a file starting with
// '[', read whole), and CSV/TSV with a header row.
//
// JSON lines go through simdjson first (data/fastpaper.h), and a line it does not take whole through nlohmann's SAX
// interface rather than json::parse: only four top-level fields are kept, so building a DOM per line (a map, a
// node per value) would be wasted work on 167k lines; the SAX reader words every problem of a bad line.
#include "util/text.h"
#include "util/jsontext.h"
#include "data/dataset.h"
#include "data/fastpaper.h"
#include "data/paperfields.h"
#include "data/linereader.h"

#include <algorithm>
#include <optional>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

std::string tooManyBad(int64_t bad, int64_t lines, double maxBadShare, std::string_view limitName)
{
    if (bad <= 0 || double(bad) <= maxBadShare * double(lines))
        return {};
    char share[96];
    std::snprintf(share, sizeof share, "%.3g%% of %lld, more than %.*s = %g%%", 100.0 * double(bad) / double(lines),
                  static_cast<long long>(lines), int(limitName.size()), limitName.data(), 100.0 * maxBadShare);
    return share;
}

namespace {

constexpr size_t kMaxErrors = 5;

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

std::string inQuotes(const std::string &s) { return "\"" + s + "\""; }

std::string clip(const std::string &s, size_t max = 160)
{
    return clipped(s, max + 3);
}

// The names of the value types in nlohmann's SAX handler signatures.
struct SaxTypes {
    using number_integer_t = json::number_integer_t;
    using number_unsigned_t = json::number_unsigned_t;
    using number_float_t = json::number_float_t;
    using string_t = json::string_t;
    using binary_t = json::binary_t;
};

// Collects the mapped top-level fields of one JSON object; everything else is lexed and dropped.
class PaperSax : public SaxTypes {
public:
    explicit PaperSax(const DataSpec &spec)
        : m_fields(spec)
    {}

    void reset()
    {
        m_depth = 0;
        m_field = -1;
        m_inCategories = false;
        std::fill(std::begin(m_has), std::end(m_has), false);
        m_paper = Paper{};
        m_categories.clear();
        m_problem.clear();
    }

    bool null() { return top(); } // a null field counts as a missing one
    bool boolean(bool) { return top() && nonString("a boolean"); }
    bool number_integer(number_integer_t v) { return top() && number(std::to_string(v)); }
    bool number_unsigned(number_unsigned_t v) { return top() && number(std::to_string(v)); }
    bool number_float(number_float_t, const string_t &s) { return top() && number(s); }
    bool binary(binary_t &) { return top(); }

    bool string(string_t &s)
    {
        if (!top())
            return false;
        if (m_depth == 1 && m_field >= 0) {
            m_has[m_field] = true;
            switch (m_field) {
            case kId: m_paper.id = std::move(s); break;
            case kTitle: m_paper.title = std::move(s); break;
            case kAbstract: m_paper.abstract = std::move(s); break;
            case kCategories:
                m_categories.clear();
                PaperFields::splitCategories(s, m_categories);
                break;
            }
        } else if (m_depth == 2 && m_inCategories) {
            PaperFields::splitCategories(s, m_categories);
        }
        return true;
    }

    bool start_object(std::size_t)
    {
        if (m_depth == 0) {
            m_depth = 1;
            return true;
        }
        nonString("an object");
        ++m_depth;
        return true;
    }
    bool end_object()
    {
        --m_depth;
        return true;
    }
    bool key(string_t &k)
    {
        if (m_depth == 1) {
            m_field = m_fields.find(k);
        }
        return true;
    }
    bool start_array(std::size_t)
    {
        if (!top())
            return false;
        if (m_depth == 1 && m_field == kCategories) {
            m_has[kCategories] = true;
            m_inCategories = true;
            m_categories.clear();
        } else {
            nonString("an array");
        }
        ++m_depth;
        return true;
    }
    bool end_array()
    {
        --m_depth;
        if (m_depth == 1)
            m_inCategories = false;
        return true;
    }
    bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &ex)
    {
        if (m_problem.empty())
            m_problem = badJsonText(ex);
        return false;
    }

    // Records a problem unless one is recorded already.
    void fail(const std::string &what)
    {
        if (m_problem.empty())
            m_problem = what;
    }

    // After a parse: the paper, or a description of what is wrong with the line.
    // categories: whether a paper without categories is a bad line (a classifier's data), or fine (pre-training).
    bool take(Paper &paper, std::string &problem, bool categories)
    {
        if (!m_problem.empty()) {
            problem = m_problem;
            return false;
        }
        m_paper.categories = std::move(m_categories);
        m_categories = {};
        problem = m_fields.problem(m_paper, m_has, categories);
        if (!problem.empty())
            return false;
        paper = std::move(m_paper);
        return true;
    }

private:
    // Values outside any object: the line is not a JSON object.
    bool top()
    {
        if (m_depth > 0)
            return true;
        if (m_problem.empty())
            m_problem = "not a JSON object";
        return false;
    }

    bool number(const std::string &text)
    {
        if (m_depth == 1 && m_field == kId) {
            m_has[kId] = true;
            m_paper.id = text;
            return true;
        }
        return nonString("a number");
    }

    bool nonString(const char *what)
    {
        if (m_problem.empty()) {
            if (m_depth == 1 && m_field >= 0)
                m_problem = inQuotes(m_fields.name(m_field)) + " is " + what + ", not a string";
            else if (m_depth == 2 && m_inCategories)
                m_problem = inQuotes(m_fields.name(kCategories)) + " holds " + what + ", not only strings";
        }
        return true;
    }

    PaperFields m_fields;
    int m_depth = 0;
    int m_field = -1;
    bool m_inCategories = false;
    bool m_has[kFieldCount] = {};
    Paper m_paper;
    std::vector<std::string> m_categories;
    std::string m_problem;
};

// Shared bookkeeping of one read: counts, the first errors, the papers seen, the limit.
struct Tally {
    struct Place {
        size_t file = 0;
        int64_t line = 0;
    };
    std::vector<std::string> fileNames; // every file read so far; the last is the one being read
    std::string fileName;
    std::string lineIdPrefix; // for papers without an id when several files are read: "<file>:"
    ReadReport report;
    std::vector<Paper> papers;
    const PaperSink *sink = nullptr; // set: papers go there instead of into `papers`
    bool stopped = false;            // the sink asked for no more
    std::unordered_map<std::string, Place> firstLine; // canonical id -> where it was read
    int64_t limit = 0;
    bool categoriesRequired = true; // a paper without categories is a bad line
    bool keepAbstracts = true;
    bool asWritten = false; // ReadNeeds::asWritten
    bool givenFile = false; // ReadNeeds::givenFile
    bool fastJson = true; // JSON lines through FastPaperParser first (data/fastpaper.h)
    bool array = false; // the file is one JSON array: "lines" are its elements, numbered from 1

    std::string place(int64_t line) const
    {
        return array ? fileName + ": element " + std::to_string(line) : fileName + ":" + std::to_string(line);
    }
    void bad(int64_t line, const std::string &what)
    {
        ++report.bad;
        if (report.firstErrors.size() < kMaxErrors)
            report.firstErrors.push_back(place(line) + ": " + what);
    }
    // Keeps the paper unless its id was read before (asWritten: every paper, its id as written).
    void add(Paper &&p, int64_t line)
    {
        if (!asWritten && !identify(p, line))
            return;
        ++report.rows;
        if (!keepAbstracts)
            std::string().swap(p.abstract);
        if (!sink)
            papers.push_back(std::move(p));
        else if (!(*sink)(std::move(p)))
            stopped = true;
    }
    // Makes the paper's id canonical; false for a repeat (counted). One without an id cannot be recognised again:
    // it gets its line number (should another paper have that number as its id, splitData puts the two in one split).
    bool identify(Paper &p, int64_t line)
    {
        if (p.id.empty()) {
            p.id = lineIdPrefix + std::to_string(line);
            return true;
        }
        std::string id = canonicalPaperId(p.id);
        const auto [first, isNew] = firstLine.try_emplace(id, Place{fileNames.size() - 1, line});
        if (!isNew) {
            duplicate(line, p.id, first->second);
            return false;
        }
        p.id = std::move(id);
        return true;
    }
    void duplicate(int64_t line, const std::string &id, const Place &first)
    {
        ++report.duplicates;
        if (report.firstDuplicates.size() >= kMaxErrors)
            return;
        const std::string where = first.file + 1 == fileNames.size() ? "" : fileNames[first.file] + " ";
        report.firstDuplicates.push_back(place(line) + ": paper " + id + " again, first at " + where +
                                         (array ? "element " : "line ") + std::to_string(first.line));
    }
    bool full() const { return stopped || (limit > 0 && report.rows >= limit); }
};

// Reads a file that is one JSON array of papers ([{...}, {...}], as json.dump(list) writes it): each element goes
// through PaperSax as if it were a line of its own, and its number stands in for a line number.
class PaperArraySax : public SaxTypes {
public:
    PaperArraySax(const DataSpec &spec, Tally &t) : m_paper(spec), m_t(t) {}

    bool null() { return value([&] { m_paper.null(); }); }
    bool boolean(bool v) { return value([&] { m_paper.boolean(v); }); }
    bool number_integer(number_integer_t v) { return value([&] { m_paper.number_integer(v); }); }
    bool number_unsigned(number_unsigned_t v) { return value([&] { m_paper.number_unsigned(v); }); }
    bool number_float(number_float_t v, const string_t &s) { return value([&] { m_paper.number_float(v, s); }); }
    bool binary(binary_t &v) { return value([&] { m_paper.binary(v); }); }
    bool string(string_t &s) { return value([&] { m_paper.string(s); }); }
    bool key(string_t &k)
    {
        if (m_depth >= 2 && m_isObject)
            m_paper.key(k);
        return true;
    }
    bool start_object(std::size_t n) { return open(true, [&] { m_paper.start_object(n); }); }
    bool start_array(std::size_t n)
    {
        if (m_depth == 0) { // the file's own array
            m_depth = 1;
            return true;
        }
        return open(false, [&] { m_paper.start_array(n); });
    }
    bool end_object() { return close([&] { m_paper.end_object(); }); }
    bool end_array() { return close([&] { m_paper.end_array(); }); }
    bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &ex)
    {
        // "[json.exception.parse_error.101] parse error at line 3, column 7: ..." -> "line 3, column 7: ..."
        std::string what = ex.what();
        if (const size_t at = what.find("line "); at != std::string::npos)
            what = what.substr(at);
        m_syntaxError = clip(what);
        return false;
    }

    // Empty unless the JSON itself is broken: then nothing after that point can be read.
    const std::string &syntaxError() const { return m_syntaxError; }

private:
    // A value directly in the array is an element, and not an object; deeper ones belong to their element.
    template <class Forward> bool value(Forward forward)
    {
        if (m_depth == 1) {
            beginElement(false);
            return endElement();
        }
        if (m_isObject)
            forward();
        return true;
    }
    template <class Forward> bool open(bool object, Forward forward)
    {
        if (m_depth == 1)
            beginElement(object);
        if (m_isObject)
            forward();
        ++m_depth;
        return true;
    }
    template <class Forward> bool close(Forward forward)
    {
        if (--m_depth == 0)
            return true; // the end of the file's array
        if (m_isObject)
            forward();
        return m_depth == 1 ? endElement() : true;
    }
    void beginElement(bool object)
    {
        ++m_element;
        ++m_t.report.lines;
        m_isObject = object;
        m_paper.reset();
    }
    // Returns false to stop at data.limit.
    bool endElement()
    {
        Paper paper;
        std::string problem = "not a JSON object";
        if (m_isObject && m_paper.take(paper, problem, m_t.categoriesRequired))
            m_t.add(std::move(paper), m_element);
        else
            m_t.bad(m_element, problem);
        m_isObject = false;
        return !m_t.full();
    }

    PaperSax m_paper;
    Tally &m_t;
    int m_depth = 0; // 1: in the file's array; 2 and more: in an element
    int64_t m_element = 0;
    bool m_isObject = false; // the current element is an object, forwarded to m_paper
    std::string m_syntaxError;
};

bool startsArray(std::string_view line)
{
    const size_t first = line.find_first_not_of(" \t\r\f\v");
    return first != std::string_view::npos && line[first] == '[';
}

// The whole file is held in memory (JSON lines stream), as the array's elements need not sit on lines of their own.
std::string readJsonArray(LineReader &lines, std::string_view firstLine, const DataSpec &spec, Tally &t)
{
    t.array = true;
    std::string text(firstLine);
    std::string_view line;
    while (lines.next(line)) {
        text += '\n';
        text += line;
    }
    if (!lines.error().empty())
        return lines.error();
    PaperArraySax sax(spec, t);
    try {
        json::sax_parse(text.begin(), text.end(), &sax);
    } catch (const json::exception &e) {
        sax.parse_error(0, {}, e);
    }
    if (sax.syntaxError().empty())
        return {};
    return t.fileName + ": bad JSON at " + sax.syntaxError() +
           ". The file starts with '[', so it is read as one JSON array of papers, and nothing after this point can be "
           "read. Fix the JSON, or write the papers as JSON lines (one object per line), e.g. with "
           "`jq -c '.[]' in.json > out.jsonl`.";
}

std::string readJsonLines(LineReader &lines, const DataSpec &spec, Tally &t)
{
    PaperSax sax(spec);
    const auto fast = t.fastJson ? FastPaperParser::create(spec, t.categoriesRequired, t.keepAbstracts) : nullptr;
    std::string_view line;
    std::string problem;
    while (!t.full() && lines.next(line)) {
        if (isBlank(line))
            continue;
        if (t.report.lines == 0 && startsArray(line))
            return readJsonArray(lines, line, spec, t);
        ++t.report.lines;
        if (Paper paper; fast && fast->parse(line, paper)) {
            t.add(std::move(paper), lines.lineNumber());
            continue;
        }
        sax.reset();
        bool parsed = false;
        try {
            parsed = json::sax_parse(line.begin(), line.end(), &sax);
        } catch (const json::exception &e) {
            sax.parse_error(0, {}, e);
        }
        if (!parsed)
            sax.fail("bad JSON");
        Paper paper;
        if (sax.take(paper, problem, t.categoriesRequired))
            t.add(std::move(paper), lines.lineNumber());
        else
            t.bad(lines.lineNumber(), problem);
    }
    return lines.error();
}

// One CSV or TSV record: RFC 4180 quoting when quoting is on (quoted fields may hold the separator, doubled
// quotes and line breaks), a plain split otherwise. Returns false at the end of the input.
bool nextRecord(LineReader &lines, char sep, bool quoting, std::vector<std::string> &fields, int64_t &startLine,
                std::string &problem)
{
    fields.clear();
    problem.clear();
    std::string_view line;
    do {
        if (!lines.next(line))
            return false;
    } while (isBlank(line));
    startLine = lines.lineNumber();

    if (!quoting) {
        size_t i = 0;
        for (;;) {
            const size_t j = line.find(sep, i);
            fields.emplace_back(line.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
            if (j == std::string_view::npos)
                break;
            i = j + 1;
        }
        return true;
    }

    std::string field;
    bool inQuotes = false, wasQuoted = false;
    for (;;) {
        for (size_t i = 0; i < line.size(); ++i) {
            const char c = line[i];
            if (inQuotes) {
                if (c == '"') {
                    if (i + 1 < line.size() && line[i + 1] == '"') {
                        field += '"';
                        ++i;
                    } else {
                        inQuotes = false;
                    }
                } else {
                    field += c;
                }
            } else if (c == sep) {
                fields.push_back(std::move(field));
                field.clear();
                wasQuoted = false;
            } else if (c == '"' && field.empty() && !wasQuoted) {
                inQuotes = wasQuoted = true;
            } else {
                field += c;
            }
        }
        if (!inQuotes)
            break;
        // A line break inside quotes belongs to the field.
        if (!lines.next(line)) {
            problem = "a quoted field opened on this line is never closed (a stray \")";
            break;
        }
        field += '\n';
    }
    fields.push_back(std::move(field));
    return true;
}

// The header row of a CSV or TSV file: where the experiment's columns are (-1: absent).
struct DelimitedColumns {
    std::vector<std::string> header;
    int id = -1, title = -1, abstract = -1, categories = -1;
};

// Reads the header and finds data.columns in it (exact name first, then any case); what is wrong with it, or "".
std::string readHeader(LineReader &lines, const DataSpec &spec, char sep, Tally &t, DelimitedColumns &c)
{
    int64_t line = 0;
    std::string problem;
    if (!nextRecord(lines, sep, sep == ',', c.header, line, problem))
        return lines.error(); // empty file: reported by the caller as "no papers"
    if (!problem.empty())
        return t.fileName + ":" + std::to_string(line) + ": the header row: " + problem;
    for (auto &h : c.header) { // tolerate spaces around header names
        const size_t b = h.find_first_not_of(" \t"), e = h.find_last_not_of(" \t");
        h = b == std::string::npos ? std::string() : h.substr(b, e - b + 1);
    }
    const auto column = [&](const std::string &name) -> int {
        for (size_t i = 0; i < c.header.size(); ++i)
            if (c.header[i] == name)
                return int(i);
        for (size_t i = 0; i < c.header.size(); ++i)
            if (lower(c.header[i]) == lower(name))
                return int(i);
        return -1;
    };
    std::string headerList; // a file without a header row would list a whole paper: each name clipped, 12 at most
    for (size_t i = 0; i < c.header.size() && i < 12; ++i)
        headerList += (headerList.empty() ? "" : ", ") + inQuotes(clip(c.header[i], 40));
    if (c.header.size() > 12)
        headerList += " and " + std::to_string(c.header.size() - 12) + " more";
    c.id = column(spec.idColumn);
    c.title = column(spec.titleColumn);
    c.abstract = column(spec.abstractColumn);
    c.categories = column(spec.categoriesColumn);
    const auto missing = [&](const char *key, const std::string &name) {
        if (t.givenFile) // a finished run's columns are what they are
            return t.fileName + ": the header has no column " + inQuotes(name) + ", which this model reads (data.columns." +
                   key + " of its experiment); its columns are " + headerList + ". Rename the column.";
        return t.fileName + ": the header has no column " + inQuotes(name) + " (data.columns." + key +
               "); its columns are " + headerList + ". Set data.columns." + key +
               " to the right one, or rename the column.";
    };
    if (c.header.size() < 2)
        return t.fileName + ": the header row has a single column (" + headerList + "); is the separator right? " +
               (sep == ',' ? "This is read as CSV (comma-separated); for tabs " +
                                     (t.givenFile ? std::string("name it .tsv.")
                                                  : std::string("use data.format \"tsv\" or a .tsv name."))
                           : "This is read as TSV (tab-separated); for commas " +
                                     (t.givenFile ? std::string("name it .csv.")
                                                  : std::string("use data.format \"csv\" or a .csv name.")));
    if (c.title < 0 && spec.text != TextField::Abstract) // abstracts alone need no title (paperfields.h)
        return missing("title", spec.titleColumn);
    if (c.categories < 0 && t.categoriesRequired)
        return missing("categories", spec.categoriesColumn);
    if (c.abstract < 0 && spec.text != TextField::Title && !(t.asWritten && spec.text == TextField::TitleAbstract))
        return missing("abstract", spec.abstractColumn) + (t.givenFile ? "" : " (The text includes the abstract; for "
                                                                              "titles alone set data.text to \"title\".)");
    return {};
}

// One record's paper; false (and the line counted as bad) when a field it needs is empty, by the JSON readers'
// rules (data/paperfields.h).
bool delimitedPaper(std::vector<std::string> &record, const DelimitedColumns &c, const PaperFields &rules, Tally &t,
                    int64_t line, Paper &p)
{
    if (c.title >= 0)
        p.title = std::move(record[size_t(c.title)]);
    if (c.categories >= 0)
        PaperFields::splitCategories(record[size_t(c.categories)], p.categories);
    if (c.abstract >= 0)
        p.abstract = std::move(record[size_t(c.abstract)]);
    if (c.id >= 0)
        p.id = std::move(record[size_t(c.id)]);
    const bool has[kFieldCount] = {c.id >= 0, c.title >= 0, c.abstract >= 0, c.categories >= 0};
    if (std::string problem = t.asWritten ? rules.textProblem(p) : rules.problem(p, has, t.categoriesRequired);
        !problem.empty()) {
        t.bad(line, problem);
        return false;
    }
    return true;
}

std::string readDelimited(LineReader &lines, const DataSpec &spec, char sep, Tally &t)
{
    const bool quoting = sep == ',';
    DelimitedColumns c;
    if (std::string problem = readHeader(lines, spec, sep, t, c); !problem.empty() || c.header.empty())
        return problem; // an empty file reads as no papers, which the caller reports
    const PaperFields rules(spec);
    std::vector<std::string> fields;
    int64_t line = 0;
    std::string problem;
    while (!t.full() && nextRecord(lines, sep, quoting, fields, line, problem)) {
        ++t.report.lines;
        if (!problem.empty()) {
            t.bad(line, problem);
            continue;
        }
        if (fields.size() != c.header.size()) {
            // A quote left open joins the lines after it into this record: say which, as their papers are lost too.
            const int64_t last = lines.lineNumber();
            t.bad(line, "has " + std::to_string(fields.size()) + " fields, the header has " +
                            std::to_string(c.header.size()) +
                            (last > line ? " (it runs to line " + std::to_string(last) + ": a quote left open joins "
                                           "the lines after it)"
                             : quoting   ? " (an unquoted comma or quote?)"
                                         : " (a tab inside a field?)"));
            continue;
        }
        Paper p;
        if (delimitedPaper(fields, c, rules, t, line, p))
            t.add(std::move(p), line);
    }
    return lines.error();
}

bool endsWith(const std::string &s, std::string_view suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The file's format: data.format, or from its name (a .zst suffix aside) when that is "auto"; nullopt when the
// name does not tell.
std::optional<DataFormat> formatOf(const fs::path &file, DataFormat given, bool *zst)
{
    std::string base = lower(file.filename().string());
    *zst = endsWith(base, ".zst");
    if (*zst)
        base.resize(base.size() - 4);
    if (given != DataFormat::Auto)
        return given;
    if (endsWith(base, ".jsonl") || endsWith(base, ".json") || endsWith(base, ".ndjson"))
        return DataFormat::Jsonl;
    if (endsWith(base, ".csv"))
        return DataFormat::Csv;
    if (endsWith(base, ".tsv") || endsWith(base, ".tab"))
        return DataFormat::Tsv;
    return std::nullopt;
}

// A path that is not a readable file, said with what to do; "" when it is one. givenFile: named on the command
// line (ReadNeeds::givenFile), not by data.path.
std::string notAFile(const fs::path &file, bool givenFile)
{
    std::error_code ec;
    const fs::file_status st = fs::status(file, ec);
    if (!fs::exists(st)) {
        const std::string where = file.is_relative() ? " (looked for " + fs::absolute(file, ec).string() + ")" : "";
        return file.string() + ": no such file" + where +
               (givenFile ? "."
                          : ". Check data.path in the experiment (a relative path is resolved against the data "
                            "folder: --data-root, on a target its data_root, else $LABBOOK_DATA or ../shared/data "
                            "beside the checkout).");
    }
    if (fs::is_directory(st))
        return file.string() + ": is a folder; data.path must name a file (.jsonl, .jsonl.zst, .csv or .tsv), or "
                               "files with a pattern such as \"shards/*.jsonl.zst\".";
    return {};
}

// After one file: too many bad lines for data.max_bad_share, or no papers at all; "" when neither.
std::string fileProblem(const std::string &name, const DataSpec &spec, DataFormat format, const Tally &t,
                        const ReadReport &before, int64_t rowsBefore)
{
    ReadReport r = t.report; // this file's counts
    r.lines -= before.lines;
    r.bad -= before.bad;
    r.firstErrors.erase(r.firstErrors.begin(), r.firstErrors.begin() + ptrdiff_t(before.firstErrors.size()));
    if (const std::string share = tooManyBad(r.bad, r.lines, spec.maxBadShare, "data.max_bad_share"); !share.empty()) {
        std::string first;
        for (const auto &e : r.firstErrors)
            first += "\n  " + e;
        // Every line failing is a mapping that does not fit the file, not lines to skip (found by an audit: a
        // data.columns.abstract the corpus lacks was told to raise data.max_bad_share).
        const std::string fix = t.givenFile          ? "Fix the file (the model's experiment sets the share it allows)"
                                : r.bad == r.lines ? "None could: check data.text and data.columns against the file's "
                                                     "fields"
                                                   : "Fix the file, or raise data.max_bad_share to skip them";
        return name + ": " + counted(r.bad, t.array ? "element" : "line") + " could not be read (" + share + "). " +
               fix + ". The first:" + first;
    }
    if (t.report.rows == rowsBefore && r.lines == 0)
        return name + ": no papers in it" +
               (t.array                       ? std::string(" (its array is empty)")
                : format == DataFormat::Jsonl ? std::string(" (the file is empty or every line is blank)")
                                              : std::string(" (no rows under the header)")) +
               (t.givenFile ? "." : ". Check data.path.");
    return {};
}

// Reads one file's papers into t. Returns what is wrong with the file, or "".
std::string readFileInto(const fs::path &file, const DataSpec &spec, Tally &t)
{
    const std::string name = file.string();
    if (std::string problem = notAFile(file, t.givenFile); !problem.empty()) // a folder is named as one
        return problem;
    bool zst = false;
    const auto format = formatOf(file, spec.format, &zst);
    if (!format)
        return name + ": cannot tell the format from the file name; name it .jsonl, .csv or .tsv (with an "
                      "optional .zst)" +
               (t.givenFile ? "." : ", or set data.format to \"jsonl\", \"csv\" or \"tsv\".");
    if (!(spec.maxBadShare >= 0.0 && spec.maxBadShare <= 1.0))
        return "data.max_bad_share is " + std::to_string(spec.maxBadShare) + "; it must be between 0 and 1.";
    auto source = openByteSource(name, zst);
    if (!source)
        return source.message();
    LineReader lines(**source);
    t.fileNames.push_back(name);
    t.fileName = name;
    t.array = false;
    const ReadReport before = t.report;
    const int64_t rowsBefore = t.report.rows;
    std::string failure = *format == DataFormat::Jsonl
                              ? readJsonLines(lines, spec, t)
                              : readDelimited(lines, spec, *format == DataFormat::Csv ? ',' : '\t', t);
    if (!failure.empty())
        return failure;
    return fileProblem(name, spec, *format, t, before, rowsBefore);
}

} // namespace

Result<std::vector<Paper>> readPapers(const fs::path &file, const DataSpec &spec, ReadReport *report)
{
    return readPaperFiles({file}, spec, report);
}

namespace {

Status readInto(const std::vector<fs::path> &files, const DataSpec &spec, ReadReport *report, const ReadNeeds &needs,
                Tally &t)
{
    t.limit = spec.limit;
    t.categoriesRequired = needs.categories;
    t.keepAbstracts = needs.abstracts;
    t.asWritten = needs.asWritten;
    t.givenFile = needs.givenFile;
    t.fastJson = needs.fastJson;
    // Every file is there before any is read: data.limit reached within the first would leave a missing later one
    // unread and unsaid, while the run's config and cache key name it.
    if (files.size() > 1)
        for (const auto &f : files)
            if (const std::string missing = notAFile(f, t.givenFile); !missing.empty())
                return Error{missing};
    for (size_t i = 0; i < files.size() && !t.full(); ++i) {
        if (files.size() > 1)
            t.lineIdPrefix = files[i].filename().string() + ":";
        const std::string failure = readFileInto(files[i], spec, t);
        if (report)
            *report = t.report;
        if (!failure.empty())
            return Error{failure};
    }
    if (t.report.rows == 0 && !needs.asWritten) // predict says itself that nothing could be scored, and why
        return Error{(files.empty() ? std::string("data.path") : files.front().string()) + ": no papers in it" +
                     (files.size() > 1 ? " or the other " + std::to_string(files.size() - 1) + " files" : "") +
                     ". Check data.path."};
    return Unit{};
}

} // namespace

Result<std::vector<Paper>> readPaperFiles(const std::vector<fs::path> &files, const DataSpec &spec,
                                          ReadReport *report, const ReadNeeds &needs)
{
    Tally t;
    if (auto read = readInto(files, spec, report, needs, t); !read)
        return read.error();
    return std::move(t.papers);
}

std::optional<DataFormat> dataFormatOf(const fs::path &file)
{
    bool zst = false;
    return formatOf(file, DataFormat::Auto, &zst);
}

Status readPaperStream(const std::vector<fs::path> &files, const DataSpec &spec, const PaperSink &sink,
                       ReadReport *report, const ReadNeeds &needs)
{
    Tally t;
    t.sink = &sink;
    return readInto(files, spec, report, needs, t);
}

} // namespace lbk
