#include "launch/external.h"

#include <algorithm>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <vector>

#include "experiment/experiment.h"
#include "experiment/schema.h"
#include "launch/local.h"
#include "launch/process.h"
#include "store/runfiles.h"
#include "util/stablehash.h"

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

Result<RunDetail> createExternalRun(Store &store, const ExternalRun &request)
{
    int64_t started = 0;
    if (request.pid != 0) {
        started = processStartTime(request.pid);
        if (started == 0)
            return badInput("--pid " + std::to_string(request.pid) + ": no such process on this machine; give the pid "
                            "of the program that writes the run's journal");
    }
    NewRun nr;
    nr.uid = request.uid;
    nr.name = request.name.empty() ? "python" : request.name;
    nr.experiment = request.experiment.empty() ? nr.name : request.experiment;
    nr.kind = request.kind;
    nr.task = request.task;
    nr.tags = request.tags;
    nr.config = request.config.is_object() ? request.config : nlohmann::json::object();
    nr.configHash = configHash(nr.config);
    nr.target = kLocalTarget;
    auto run = createRunWithFolder(store, nr);
    if (!run || request.pid == 0)
        return run;
    if (auto st = store.setProcess(run->id, localHostName(), request.pid, started); !st) {
        (void)store.setStatus(run->id, RunStatus::Failed, st.message());
        return st.error();
    }
    run->host = localHostName();
    run->pid = request.pid;
    run->pidStart = started;
    return run;
}

namespace {
// The uid of a run whose journal names none (a trainer that writes no run_started, or one without "run"): its file
// and first line, which stay as it grows, so recording it again finds the run instead of making a second one.
std::string journalUid(const fs::path &journal, const std::string &firstLine)
{
    std::error_code ec;
    const auto where = fs::weakly_canonical(fs::absolute(journal, ec), ec).string();
    const std::string identity = where + '\n' + firstLine;
    char buf[40];
    std::snprintf(buf, sizeof buf, "journal-%016llx", static_cast<unsigned long long>(stableHash(identity, 3)));
    return buf;
}
// A Labbook worker's run_started names no run or task of its own: its config (the resolved experiment) has them
// (found by an audit: a store rebuilt from run folders listed every run as "python", with no task).
void fillFromWorkerConfig(ExternalRun &request, const std::string &kind)
{
    const auto experiment = experimentFromRecorded(request.config);
    if (!experiment)
        return;
    if (request.name.empty())
        request.name = experiment->name;
    if (request.experiment.empty())
        request.experiment = experiment->name;
    if (request.task.empty())
        request.task = experiment->training.objective == TrainingObjective::Mlm ? toString(TrainingObjective::Mlm)
                                                                              : toString(experiment->labels.kind);
    if (request.tags.empty())
        request.tags = request.config.value("tags", std::vector<std::string>{});
    if (kind == "lr_find")
        request.kind = kind;
}

// A Labbook run's files from the folder of the journal brought (a store rebuilt from its run folders), into the
// run's own folder: copies, but the checkpoints hard-linked where the two folders share a file system (a checkpoint is
// renamed into place when saved, so neither run ever writes through the other's). What the folder holds already stays.
Status bringRunFolder(const fs::path &from, const fs::path &to)
{
    std::error_code ec;
    if (fs::equivalent(from, to, ec))
        return okStatus();
    if (const fs::path inside = fs::relative(to, from, ec); !ec && !inside.empty() && *inside.begin() != "..")
        return badInput(to.string() + " is inside " + from.string() + ", the folder it would take the run's files "
                        "from: give the new store a place outside the run's folder");
    const auto failed = [&](const fs::path &what) {
        return Error{what.string() + ": cannot bring it into the run's folder " + to.string() + ": " + ec.message()};
    };
    for (const char *name : runfiles::kModelFiles)
        if (fs::exists(from / name, ec) && !fs::exists(to / name, ec)) {
            fs::copy(from / name, to / name, fs::copy_options::recursive, ec);
            if (ec)
                return failed(from / name);
        }
    if (!fs::is_directory(from / runfiles::kCheckpoints, ec))
        return okStatus();
    fs::create_directories(to / runfiles::kCheckpoints, ec);
    for (const auto &entry : fs::directory_iterator(from / runfiles::kCheckpoints, ec)) {
        const fs::path into = to / runfiles::kCheckpoints / entry.path().filename();
        if (!entry.is_regular_file(ec) || fs::exists(into, ec))
            continue;
        if (std::error_code linked; fs::create_hard_link(entry.path(), into, linked), linked)
            fs::copy_file(entry.path(), into, ec);
        if (ec)
            return failed(entry.path());
    }
    return ec ? Status(failed(from / runfiles::kCheckpoints)) : okStatus();
}

} // namespace

bool fillFromJournal(ExternalRun &request, const fs::path &journal)
{
    std::ifstream in(journal);
    std::string line, first;
    bool events = false;
    for (int n = 0; n < 1000 && std::getline(in, line); ++n) { // run_started comes first; a bound all the same
        if (first.empty())
            first = line;
        const json e = json::parse(line, nullptr, false);
        const auto type = e.is_object() ? e.find("type") : e.end();
        events = events || (type != e.end() && type->is_string());
        if (!e.is_object() || type == e.end() || *type != "run_started")
            continue;
        const auto text = [&](const char *key) {
            const auto it = e.find(key);
            return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        if (request.name.empty())
            request.name = text("name");
        if (request.task.empty() && fromWord<TaskKind>(text("task")))
            request.task = text("task");
        if (const auto tags = e.find("tags"); request.tags.empty() && tags != e.end() && tags->is_array())
            for (const auto &t : *tags)
                if (t.is_string())
                    request.tags.push_back(t.get<std::string>());
        if (const auto config = e.find("config"); request.config.empty() && config != e.end() && config->is_object())
            request.config = *config;
        if (e.contains("engine")) // Labbook's worker: its config says what the run is
            fillFromWorkerConfig(request, text("kind"));
        if (validUid(text("run")))
            request.uid = text("run"); // the same journal recorded twice is then the same run, said so
        else
            request.uid = journalUid(journal, first);
        return true;
    }
    if (events)
        request.uid = journalUid(journal, first);
    return events;
}

std::optional<RunDetail> recordedBefore(const Store &store, const ExternalRun &request)
{
    if (request.uid.empty())
        return std::nullopt;
    auto known = store.run(request.uid);
    if (!known || known->uid != request.uid)
        return std::nullopt;
    return std::move(*known);
}

namespace {
// The first byte at which two files differ within their first n bytes (none when they agree there), or why
// either cannot be read that far. The caller has checked that both hold n bytes.
Result<std::optional<uintmax_t>> firstDifference(const fs::path &a, const fs::path &b, uintmax_t n)
{
    std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
    for (const auto &[f, path] : {std::pair{&fa, &a}, std::pair{&fb, &b}})
        if (!f->is_open())
            return Error{path->string() + ": cannot open it to compare the journals: " + std::strerror(errno)};
    std::vector<char> ba(1 << 16), bb(1 << 16);
    for (uintmax_t at = 0; at < n;) {
        const auto want = std::streamsize(std::min<uintmax_t>(ba.size(), n - at));
        errno = 0;
        fa.read(ba.data(), want);
        fb.read(bb.data(), want);
        for (const auto &[f, path] : {std::pair{&fa, &a}, std::pair{&fb, &b}})
            if (f->gcount() < want)
                return Error{path->string() + ": cannot read byte " + std::to_string(at + uintmax_t(f->gcount())) +
                             " of " + std::to_string(n) + " to compare the journals: " +
                             (errno ? std::strerror(errno) : "it ends there (it changed while being read)")};
        const auto [pa, pb] = std::mismatch(ba.begin(), ba.begin() + want, bb.begin());
        if (pa != ba.begin() + want)
            return std::optional<uintmax_t>(at + uintmax_t(pa - ba.begin()));
        at += uintmax_t(want);
    }
    return std::optional<uintmax_t>();
}
} // namespace

Result<IngestStats> importJournal(Store &store, const RunSummary &run, const fs::path &journal, bool newRun)
{
    if (isActive(run.status) && run.pid > 0 && processAlive(run.pid, run.pidStart))
        return badInput("run " + std::to_string(run.id) + " (" + run.uid + ") is being written by process " +
                        std::to_string(run.pid) + ", and its journal is stored as it grows; record this copy once "
                        "that process has ended");
    std::error_code ec;
    const bool same = fs::equivalent(journal, journalPath(run), ec); // its own journal, recorded again: no copy
    if (!same && fs::exists(journalPath(run), ec)) { // checked before the copy replaces what the run holds
        const auto held = fs::file_size(journalPath(run), ec), given = fs::file_size(journal, ec);
        if (!ec && given < held)
            return badInput(journal.string() + " is " + std::to_string(given) + " bytes, shorter than the journal "
                            "run " + std::to_string(run.id) + " holds already (" + std::to_string(held) + " bytes): "
                            "an earlier or cut copy; the run keeps its own, and nothing was read");
        const auto at = ec ? Result(std::optional<uintmax_t>()) : firstDifference(journalPath(run), journal, held);
        if (!at)
            return Error{at.message() + "; the run keeps its own journal, and nothing was read"};
        if (*at)
            return badInput(journal.string() + " does not continue the journal run " + std::to_string(run.id) +
                            " holds (they differ at byte " + std::to_string(**at) + "): another run's journal with "
                            "the same uid, or a copy edited since; the run keeps its own, and nothing was read");
    }
    ec.clear();
    if (!same)
        fs::copy_file(journal, journalPath(run), fs::copy_options::overwrite_existing, ec);
    if (ec) {
        const std::string why = journal.string() + ": cannot copy the journal into the run's folder " + run.runDir +
                                ": " + ec.message();
        if (newRun) // a run made for this journal holds nothing else; one recorded before keeps how it stood
            (void)store.setStatus(run.id, RunStatus::Failed, why);
        return Error{why};
    }
    auto stats = ingestJournal(store, run.id, journalPath(run));
    const auto now = store.runById(run.id);
    if (stats && !stats->finalEvent && now && isActive(now->status)) // (an end stored from an earlier copy stays)
        (void)store.markInterrupted(run.id, "the imported journal " + journal.string() +
                                                " ends without reporting how the run ended");
    // Labbook's worker wrote it (its run_started names the engine): the run's files beside it come too, also when it
    // is recorded again (what failed to come before comes then).
    if (stats && now && now->byWorker().value_or(false) && !same)
        if (auto brought = bringRunFolder(fs::absolute(journal, ec).parent_path(), run.runDir); !brought)
            return Error{"run " + std::to_string(run.id) + " is recorded, but not yet with its files: " +
                         brought.message() + "; `lbk record --journal` of the same journal again brings them"};
    return stats;
}

} // namespace lbk
