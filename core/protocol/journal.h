#pragma once
// Writing a run's events (docs/PROTOCOL.md): one JSON object per line, flushed per line, appended to the run's
// journal. Reopening a journal continues its sequence numbers, so a resumed run appends to the same record.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace lbk {

// The events that end a run (finished, failed, cancelled): one list for the writer's fsync and the ingester.
inline bool isFinalEvent(std::string_view type)
{
    return type == "finished" || type == "failed" || type == "cancelled";
}

class JournalWriter {
public:
    // Opens path for appending ("-" writes to stdout). The next seq follows the last complete line's seq. A
    // torn last line (a worker killed mid-write) is closed with a newline first, so it stays one malformed
    // line instead of swallowing the next event. Fails when another live process holds the journal.
    static Result<std::unique_ptr<JournalWriter>> open(const std::filesystem::path &path);
    ~JournalWriter();
    JournalWriter(const JournalWriter &) = delete;
    JournalWriter &operator=(const JournalWriter &) = delete;

    // Writes {"seq", "t", "type", ...fields} and flushes. Final events (finished, failed, cancelled) are also
    // fsync'ed, so a power loss right after cannot lose how the run ended. Returns false when the write failed.
    bool emit(const std::string &type, nlohmann::json fields = nlohmann::json::object());
    int64_t lastSeq() const { return m_seq; }

    // Also echo every line to this stream (the command launcher reads the worker's stdout).
    void mirrorTo(std::FILE *stream) { m_mirror = stream; }

private:
    JournalWriter(int fd, bool owned, int64_t seq) : m_fd(fd), m_owned(owned), m_seq(seq) {}
    int m_fd;
    bool m_owned;
    int64_t m_seq;
    std::FILE *m_mirror = nullptr;
};

// The highest seq among the journal's complete lines (0 for a missing or empty file). Reads only the tail.
int64_t lastJournalSeq(const std::filesystem::path &path);

double wallTime(); // seconds since the Unix epoch

} // namespace lbk
