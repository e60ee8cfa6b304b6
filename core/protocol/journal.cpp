#include "protocol/journal.h"

#include <chrono>
#include <fstream>
#include <unistd.h>

namespace lbk {

double wallTime()
{
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

int64_t lastJournalSeq(const std::filesystem::path &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return 0;
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    // Look at growing tails until a complete line with a seq is found; predictions lines can be megabytes.
    for (std::streamoff tail = 64 * 1024;; tail *= 4) {
        const std::streamoff start = std::max<std::streamoff>(0, size - tail);
        in.clear();
        in.seekg(start);
        std::string buf(size_t(size - start), '\0');
        in.read(buf.data(), std::streamsize(buf.size()));
        size_t end = buf.rfind('\n');
        while (end != std::string::npos && end > 0) {
            size_t begin = buf.rfind('\n', end - 1);
            if (begin == std::string::npos && start > 0)
                break; // the line may begin before this tail
            begin = begin == std::string::npos ? 0 : begin + 1;
            auto j = nlohmann::json::parse(buf.begin() + std::ptrdiff_t(begin), buf.begin() + std::ptrdiff_t(end),
                                           nullptr, false);
            if (j.is_object() && j.contains("seq") && j["seq"].is_number_integer())
                return j["seq"].get<int64_t>();
            end = begin == 0 ? std::string::npos : begin - 1;
        }
        if (start == 0)
            return 0;
    }
}

Result<std::unique_ptr<JournalWriter>> JournalWriter::open(const std::filesystem::path &path)
{
    if (path == "-")
        return std::unique_ptr<JournalWriter>(new JournalWriter(stdout, false, 0));
    const int64_t seq = lastJournalSeq(path);
    std::FILE *f = std::fopen(path.c_str(), "ab");
    if (!f)
        return Error{path.string() + ": cannot open the run journal for writing"};
    return std::unique_ptr<JournalWriter>(new JournalWriter(f, true, seq));
}

JournalWriter::~JournalWriter()
{
    if (m_owned && m_file)
        std::fclose(m_file);
}

bool JournalWriter::emit(const std::string &type, nlohmann::json fields)
{
    nlohmann::json line = nlohmann::json::object();
    line["seq"] = ++m_seq;
    line["t"] = wallTime();
    line["type"] = type;
    for (auto &[k, v] : fields.items())
        line[k] = std::move(v);
    // Non-finite numbers have no JSON form; nlohmann writes them as null, which the store keeps as NaN.
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text += '\n';
    bool ok = std::fwrite(text.data(), 1, text.size(), m_file) == text.size() && std::fflush(m_file) == 0;
    if (ok && (type == "finished" || type == "failed" || type == "cancelled") && m_owned)
        ::fsync(fileno(m_file));
    if (m_mirror) {
        std::fwrite(text.data(), 1, text.size(), m_mirror);
        std::fflush(m_mirror);
    }
    return ok;
}

} // namespace lbk
