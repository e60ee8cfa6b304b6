// Where the data lives, which paper an id names, and the text a model sees. Reading is in readers.cpp, labels in
// labels.cpp, the split in split.cpp.
#include "data/dataset.h"

#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <system_error>

#include "util/stablehash.h"

namespace lbk {

namespace fs = std::filesystem;

namespace {

bool allDigits(std::string_view s)
{
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// arXiv's identifiers: "2101.00001" since 2007 (four digits after the dot until 2014), and before that an
// archive and a number, "hep-th/9901001" or "math.GT/0309136".
bool isArxivId(std::string_view id)
{
    if (const size_t slash = id.find('/'); slash != std::string_view::npos) {
        const std::string_view archive = id.substr(0, slash), number = id.substr(slash + 1);
        const auto archiveChar = [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.';
        };
        return !archive.empty() && std::all_of(archive.begin(), archive.end(), archiveChar) && number.size() == 7 &&
               allDigits(number);
    }
    return (id.size() == 9 || id.size() == 10) && id[4] == '.' && allDigits(id.substr(0, 4)) && allDigits(id.substr(5));
}

bool isDirectory(const fs::path &p)
{
    std::error_code ec;
    return fs::is_directory(p, ec);
}

// Walks up from start, checking <dir>/../shared/data at each level: the data sits beside the checkout, and the
// executable (or the working directory) is somewhere inside the checkout or its build folder.
fs::path findSharedDataFrom(fs::path start)
{
    std::error_code ec;
    start = fs::weakly_canonical(start, ec);
    if (ec || start.empty())
        return {};
    for (fs::path dir = start;; dir = dir.parent_path()) {
        const fs::path candidate = dir.parent_path() / "shared" / "data";
        if (isDirectory(candidate))
            return fs::weakly_canonical(candidate, ec);
        if (dir == dir.parent_path())
            break;
    }
    return {};
}

} // namespace

fs::path defaultDataRoot()
{
    if (const char *env = std::getenv("LABBOOK_DATA"); env && *env)
        return fs::path(env);

    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        if (fs::path found = findSharedDataFrom(exe.parent_path()); !found.empty())
            return found;
    }
    const fs::path cwd = fs::current_path(ec);
    if (!ec) {
        if (fs::path found = findSharedDataFrom(cwd); !found.empty())
            return found;
    }
    return {};
}

bool startsAtDataRoot(const std::string &path)
{
    return !path.empty() && !path.starts_with("~/") && fs::path(path).is_relative();
}

fs::path resolveDataPath(const std::string &path, const std::string &dataRoot)
{
    fs::path p(path);
    if (path.size() >= 2 && path[0] == '~' && path[1] == '/') {
        if (const char *home = std::getenv("HOME"); home && *home)
            return fs::path(home) / path.substr(2);
    }
    if (p.empty() || p.is_absolute())
        return p;
    const fs::path root = dataRoot.empty() ? defaultDataRoot() : fs::path(dataRoot);
    // No data root anywhere: leave the path relative to the working directory, and let the reader's "no such
    // file" message say where it looked.
    return root.empty() ? p : root / p;
}

Result<std::vector<fs::path>> resolveDataFiles(const std::string &path, const std::string &dataRoot)
{
    const fs::path resolved = resolveDataPath(path, dataRoot);
    if (path.find_first_of("*?[") == std::string::npos)
        return std::vector<fs::path>{resolved};
    glob_t found{};
    // Without GLOB_ERR: a folder of the pattern that does not exist is no match (named below), not a read error.
    const int rc = ::glob(resolved.c_str(), 0, nullptr, &found);
    std::vector<fs::path> files;
    for (size_t i = 0; rc == 0 && i < found.gl_pathc; ++i)
        if (std::error_code ec; !fs::is_directory(found.gl_pathv[i], ec))
            files.emplace_back(found.gl_pathv[i]);
    globfree(&found);
    if (rc != 0 && rc != GLOB_NOMATCH)
        return Error{"data.path: cannot list the folders of " + resolved.string()};
    if (files.empty())
        return Error{"data.path: no file matches " + resolved.string() +
                     " (in a pattern * stands for any characters, ? for one, [abc] for one of a set)"};
    return files;
}

Result<std::vector<fs::path>> resolveDataFiles(const std::vector<std::string> &paths, const std::string &dataRoot)
{
    if (paths.empty())
        return Error{"data.path: is required (the dataset file)"};
    std::vector<fs::path> all;
    std::set<fs::path> seen;
    for (const auto &path : paths) {
        auto files = resolveDataFiles(path, dataRoot);
        if (!files)
            return files.error();
        for (auto &f : *files)
            if (seen.insert(f.lexically_normal()).second)
                all.push_back(std::move(f));
    }
    return all;
}

std::string dataNotHere(const std::vector<std::string> &paths, const std::string &dataRoot)
{
    auto files = resolveDataFiles(paths, dataRoot);
    if (!files)
        return files.message();
    std::error_code ec;
    for (const auto &f : *files)
        if (!fs::exists(f, ec))
            return "data.path: " + f.lexically_normal().string() + ": no such file";
    return {};
}

fs::path dataSourcePath(const DataSpec &spec, const std::string &dataRoot)
{
    return spec.paths.size() == 1 ? resolveDataPath(spec.paths.front(), dataRoot) : fs::path(spec.pathText());
}

std::string paperText(const Paper &paper, TextField field)
{
    switch (field) {
    case TextField::Title: return paper.title;
    case TextField::Abstract: return paper.abstract;
    case TextField::TitleAbstract:
        if (paper.abstract.empty())
            return paper.title;
        if (paper.title.empty())
            return paper.abstract;
        return paper.title + ". " + paper.abstract;
    }
    return paper.title;
}

std::string canonicalPaperId(std::string_view id)
{
    const size_t v = id.rfind('v');
    if (v != std::string_view::npos && allDigits(id.substr(v + 1)) && isArxivId(id.substr(0, v)))
        return std::string(id.substr(0, v));
    return std::string(id);
}

Status notAnInput(const fs::path &out, const std::vector<fs::path> &inputs, const std::string &option)
{
    std::error_code ec;
    if (!fs::exists(out, ec))
        return okStatus();
    for (const auto &in : inputs)
        if (fs::equivalent(out, in, ec))
            return badInput(out.string() + ": is the data file " + in.string() + " itself; give " + option +
                            " another file");
    return okStatus();
}

uint64_t dataFilesStamp(const std::vector<fs::path> &files)
{
    uint64_t h = stableHash("data-files-v2");
    for (const auto &f : files) {
        struct stat st {};
        std::error_code ec;
        h = stableHash(fs::absolute(f, ec).string(), h);
        if (::stat(f.c_str(), &st) != 0) {
            h = stableHash("missing", h);
            continue;
        }
        h = stableHash(std::to_string(st.st_size) + "|" + std::to_string(st.st_mtim.tv_sec) + "." +
                           std::to_string(st.st_mtim.tv_nsec),
                       h);
        // Its first and last 64 KiB too: a file rewritten with its size and time kept (rsync -a, cp -p of another
        // version) is still told apart, without reading all of it.
        std::ifstream in(f, std::ios::binary);
        std::string chunk(size_t(std::min<int64_t>(st.st_size, 1 << 16)), '\0');
        in.read(chunk.data(), std::streamsize(chunk.size()));
        h = stableHash(chunk, h);
        in.seekg(std::max<int64_t>(0, int64_t(st.st_size) - (1 << 16)));
        in.read(chunk.data(), std::streamsize(chunk.size()));
        h = stableHash(chunk, h);
    }
    return h;
}

} // namespace lbk
