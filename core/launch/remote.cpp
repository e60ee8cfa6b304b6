#include "launch/remote.h"

#include <cassert>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <cctype>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "data/dataset.h"
#include "launch/local.h"
#include "launch/placeholders.h"
#include "launch/remoteshell.h"
#include "launch/shellquote.h"
#include "launch/slurm.h"
#include "store/runfiles.h"
#include "util/filebytes.h"
#include "util/sha256.h"
#include "util/stablehash.h"
#include "util/text.h"

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

// ----- remote.json -----

namespace {

fs::path infoPath(const RunSummary &run)
{
    return fs::path(run.runDir) / runfiles::kRemoteInfo;
}

void notify(const std::function<void(const std::string &)> &f, const std::string &msg)
{
    if (f)
        f(msg);
}

std::string trimmed(std::string s)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
        s.pop_back();
    size_t i = 0;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n'))
        ++i;
    return s.substr(i);
}

// The value after "KEY " on a line of output (our scripts mark what they report, since a setup preamble or a
// login banner may print other lines too).
std::string marked(const std::string &out, const std::string &key)
{
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(key + " ", 0) == 0)
            return trimmed(line.substr(key.size() + 1));
    return {};
}

std::vector<std::string> allMarked(const std::string &out, const std::string &key)
{
    std::vector<std::string> v;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(key + " ", 0) == 0)
            v.push_back(trimmed(line.substr(key.size() + 1)));
    return v;
}

// What to say when the remote lbk does not run: the same advice from launch and from check.
std::string lbkAdvice()
{
    return "install lbk there, or set \"lbk\" (its path) or \"setup\" (lines that put it on PATH) in the target";
}

// The remote work folder as a shell word ("labbook" is under the remote home).
std::string workDirWord(const Target &t)
{
    const std::string &w = t.workDir;
    if (w.rfind("/", 0) == 0 || w.rfind("~", 0) == 0)
        return remoteWord(w);
    return remoteWord("~/" + w);
}

// A run folder lock: the process that follows a run live holds it, so no two processes append to one mirror.
class FollowLock {
public:
    explicit FollowLock(const RunSummary &run)
    {
        m_fd = ::open((fs::path(run.runDir) / ".remote.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    }
    ~FollowLock()
    {
        if (m_fd >= 0)
            ::close(m_fd); // releases the lock
    }
    bool tryLock() { return m_fd >= 0 && ::flock(m_fd, LOCK_EX | LOCK_NB) == 0; }
    // Waits for a catch-up in progress (a second or two) to finish; false when the lock stays taken.
    bool lockWithin(std::chrono::seconds limit)
    {
        const auto until = std::chrono::steady_clock::now() + limit;
        while (!tryLock()) {
            if (std::chrono::steady_clock::now() > until)
                return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return true;
    }

private:
    int m_fd = -1;
};

int64_t mirrorSize(const RunSummary &run)
{
    struct stat st {};
    return ::stat(journalPath(run).c_str(), &st) == 0 ? int64_t(st.st_size) : 0;
}

Status appendMirror(const RunSummary &run, const std::string &bytes)
{
    if (bytes.empty())
        return okStatus();
    const int fd = ::open(journalPath(run).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return Error{journalPath(run).string() + ": cannot write the journal mirror: " + std::strerror(errno)};
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const std::string why = std::strerror(errno);
            ::close(fd);
            return Error{journalPath(run).string() + ": cannot write the journal mirror: " + why};
        }
        done += size_t(n);
    }
    ::close(fd);
    return okStatus();
}

std::string aliveCheck(const Target &t, const RemoteRunInfo &info)
{
    if (t.type == TargetType::Slurm)
        return "s=$(squeue -h -j " + shellQuote(info.jobId) + " -o %T 2>/dev/null) && [ -n \"$s\" ]";
    return "p=$(cat " + shellQuote(info.runDir + "/worker.pid") + " 2>/dev/null) && [ -n \"$p\" ] && kill -0 \"$p\" "
           "2>/dev/null";
}

// Prints the journal from byte `offset` as it grows, until the worker (or job) is gone; a last read follows the
// check that found it gone, so nothing written before the end is missed. Exit 0: the run's process is gone.
std::string followScript(const Target &t, const RemoteRunInfo &info, int64_t offset, bool once)
{
    const int every = t.type == TargetType::Slurm ? 7 : 1; // squeue every ~2 s, kill -0 every pass
    std::string s = "j=" + shellQuote(info.runDir + "/journal.jsonl") + "; off=" + std::to_string(offset) + "; n=0\n";
    s += "alive() { " + aliveCheck(t, info) + "; }\n";
    s += "while :; do\n"
         "  a=1\n"
         "  if [ $((n % " + std::to_string(every) + ")) -eq 0 ]; then alive || a=0; fi\n"
         "  n=$((n + 1))\n"
         "  if [ -f \"$j\" ]; then\n"
         "    size=$(wc -c < \"$j\"); size=$((size + 0))\n"
         "    if [ \"$size\" -gt \"$off\" ]; then\n"
         "      tail -c +$((off + 1)) \"$j\" | head -c $((size - off)) || exit 1\n"
         "      off=$size\n"
         "    fi\n"
         "  fi\n";
    s += once ? "  exit 0\n" : "  [ $a = 1 ] || exit 0\n  sleep 0.3\n";
    s += "done\n";
    return s;
}

// The remote journal's bytes past the local mirror, read once and appended to it.
Status fetchRestOfJournal(const Target &t, const RemoteRunInfo &info, const RunSummary &run)
{
    RemoteShell sh(t);
    auto out = sh.run(followScript(t, info, mirrorSize(run), /*once=*/true), {}, 300);
    if (!out)
        return out.error();
    if (out->exitCode != 0)
        return Error{t.name + ": cannot read the journal of run " + std::to_string(run.id) + ": " + trimmed(out->err)};
    return appendMirror(run, out->out);
}

Result<std::string> remoteTail(const Target &t, const std::string &file, int lines)
{
    RemoteShell sh(t);
    auto out = sh.run("tail -n " + std::to_string(lines) + " " + shellQuote(file) + " 2>/dev/null", {}, 30);
    if (!out || out->exitCode != 0)
        return Error{"no log"};
    return trimmed(out->out);
}

// What `lbk resume` of a remote run will do: go on from the last checkpoint its worker reported, or start again
// (one killed or cancelled before its first checkpoint, a job that never ran); another trainer's, start it again.
std::string resumeWords(const Store &store, const Target &t, const RunSummary &run)
{
    if (!trainedByLabbook(run) || !t.worker.empty()) // a script keeps its own checkpoints, and is told it resumes
        return "`lbk resume " + std::to_string(run.id) + "` " + whatAResumeDoes(run);
    int64_t step = -1;
    for (const auto &a : store.artifacts(run.id))
        if (a.kind == "checkpoint-last")
            step = std::max(step, a.step);
    const std::string resume = "`lbk resume " + std::to_string(run.id) + "` ";
    return step >= 0 ? resume + "continues from the last checkpoint (step " + std::to_string(step) + ")"
                     : resume + "starts it again from step 0 (it saved no checkpoint)";
}

// What a pending reason that waiting will not clear asks of the user: the job asks for more than its partition
// gives (cpus, mem, time, nodes) or for what no node has; it would sit queued for good.
std::string pendingAdvice(const std::string &reason, int64_t run)
{
    static const std::set<std::string> forGood = {"PartitionConfig", "PartitionNodeLimit", "PartitionTimeLimit",
                                                  "BadConstraints", "QOSMaxCpuPerJobLimit", "QOSMaxMemoryPerJob"};
    if (!forGood.count(reason))
        return {};
    return " (the job asks for more than its partition allows, or for what no node has: it will not start; `lbk "
           "cancel " + std::to_string(run) + "` and lower the target's cpus, mem, gres or time)";
}

// Decides how a run whose remote process is gone ended, when its journal does not say, or when the scheduler
// overrides it (a time limit).
void settle(Store &store, const Target &t, const RunSummary &run, const RemoteRunInfo &info, const RemoteState &st)
{
    auto fresh = store.runById(run.id);
    if (!fresh)
        return;
    if (t.type == TargetType::Slurm) {
        const std::string job = "Slurm job " + info.jobId;
        const std::string state = st.known ? st.state : info.state;
        const std::string why = st.reason.empty() ? "" : " (" + st.reason + ")";
        if (state == "TIMEOUT") {
            (void)store.setStatus(run.id, RunStatus::Failed,
                                  job + " ended TIMEOUT: it ran past its time limit" + why +
                                      "; everything up to step " + std::to_string(fresh->lastStep) +
                                      " is kept, and " + resumeWords(store, t, run) + " (under the same limit: "
                                      "raise the target's \"time\" in the targets file first if it needs longer)");
            return;
        }
        if (!isActive(fresh->status))
            return;
        std::string log;
        if (auto tail = remoteTail(t, info.runDir + "/slurm-" + info.jobId + ".out", 5); tail && !tail->empty())
            log = "\nLast lines of slurm-" + info.jobId + ".out:\n" + *tail;
        if (state == "CANCELLED")
            (void)store.setStatus(run.id, RunStatus::Cancelled, job + " was CANCELLED" + why + log);
        else if (state == "COMPLETED" || state.empty() || !st.known)
            (void)store.setStatus(run.id, RunStatus::Interrupted,
                                  job + " ended " + (state.empty() ? std::string("(state unknown)") : state) + why +
                                      " without the worker reporting how the run ended; " +
                                      resumeWords(store, t, run) + log);
        else
            (void)store.setStatus(run.id, RunStatus::Failed, job + " ended " + state + why + log);
        return;
    }
    if (!isActive(fresh->status))
        return;
    if (fresh->status == RunStatus::Queued && info.jobId.empty()) { // see adoptStartedWorker
        const std::string why = "lbk was stopped or killed while " + t.name + " ran the setup lines, and they ended "
                                "without starting a worker (`lbk targets check " + t.name + "` runs them and shows "
                                "what they say)";
        if (fresh->lastStep == 0)
            (void)store.setStatus(run.id, RunStatus::Failed, "its launch stopped before a worker was started: " + why +
                                                                 "; start it again with lbk run");
        else // a resume's start
            (void)store.setStatus(run.id, RunStatus::Interrupted,
                                  "its resume stopped before a worker was started: " + why +
                                      "; everything up to step " + std::to_string(fresh->lastStep) + " is kept, and " +
                                      resumeWords(store, t, run));
        return;
    }
    if (fresh->status == RunStatus::Queued && fresh->lastStep == 0) { // no run_started: a worker that could not start
        std::string why = "the worker (pid " + info.jobId + " on " + t.describe() +
                          ") ended before it began the run, so nothing was recorded and there is nothing to resume: "
                          "check the target's lbk (and lbk-engine beside it), worker and setup lines";
        if (auto tail = remoteTail(t, info.runDir + "/worker.log", 5); tail && !tail->empty())
            why += "\nLast lines of worker.log:\n" + *tail;
        (void)store.setStatus(run.id, RunStatus::Failed, why);
        return;
    }
    const auto tail = remoteTail(t, info.runDir + "/worker.log", 5);
    const std::string why = endedUnreportedReason("the worker (pid " + info.jobId + " on " + t.describe() + ")",
                                                  fresh->lastStep, resumeWords(store, t, run), tail ? *tail : "");
    (void)store.setStatus(run.id, RunStatus::Interrupted, why);
}

void recordState(Store &store, const RunSummary &run, RemoteRunInfo &info, const RemoteState &st)
{
    if (!st.known || (st.state == info.state && st.reason == info.reason))
        return;
    info.state = st.state;
    info.reason = st.reason;
    (void)writeRemoteInfo(run, info);
    // While the scheduler holds the job back, its reason is what a user wants to see on the run.
    if (st.state == "PENDING") {
        auto fresh = store.runById(run.id);
        if (fresh && fresh->status == RunStatus::Queued)
            (void)store.setStatus(run.id, RunStatus::Queued, "Slurm job " + info.jobId + " PENDING" +
                                                                 (st.reason.empty() ? "" : ": " + st.reason) +
                                                                 pendingAdvice(st.reason, run.id));
    }
}

struct Staged {
    std::string runDir;   // absolute
    std::string dataRoot; // what the worker gets as --data-root
};

// The worker command line, every word quoted: `lbk worker ...`, or the target's own trainer template.
std::string workerCommand(const Target &t, const RunSummary &run, const Staged &staged, bool lrFind, bool resume)
{
    // LABBOOK_RESUME=1 tells a target's own trainer that `lbk resume` started it again (Labbook's worker gets --resume).
    std::string cmd = "env LABBOOK_RUN_UID=" + shellQuote(run.uid) + " LABBOOK_RUN_NAME=" + shellQuote(run.name) +
                      " LABBOOK_RUN_DIR=" + shellQuote(staged.runDir) + (resume ? " LABBOOK_RESUME=1" : "") + " ";
    if (!t.worker.empty()) {
        const std::map<std::string, std::string> values = {
            {"run", run.uid},          {"name", run.name},
            {"run_dir", staged.runDir}, {"journal", staged.runDir + "/journal.jsonl"},
            {"experiment", staged.runDir + "/experiment.json"}, {"data_root", staged.dataRoot},
            {"lbk", t.lbk}}; // kWorkerPlaceholders, which validation checks templates against
        assert(values.size() == kWorkerPlaceholders.size());
        std::string words;
        for (const auto &part : t.worker)
            words += (words.empty() ? "" : " ") + remoteWord(substitute(part, values));
        return cmd + words;
    }
    std::vector<std::string> args = {"worker", "--run-dir", staged.runDir, "--run", run.uid};
    if (!staged.dataRoot.empty())
        args.insert(args.end(), {"--data-root", staged.dataRoot});
    if (lrFind)
        args.push_back("--lr-find");
    if (resume)
        args.push_back("--resume");
    return cmd + remoteWord(t.lbk) + " " + shellJoin(args);
}

// Whether a setup line leaves its command open for the next one (a continuation, a pipe, && or ||) or opens a
// here-document (its delimiter returned in heredoc): no check of an exit status may come between them.
bool continuesOnNextLine(std::string_view line, std::string &heredoc)
{
    line = trim(line);
    if (const size_t at = line.find("<<"); at != std::string_view::npos) {
        std::string_view word = trim(line.substr(at + 2));
        if (!word.empty() && word.front() == '-')
            word = trim(word.substr(1));
        word = word.substr(0, word.find_first_of(" \t;&|>"));
        heredoc.assign(word.begin(), word.end());
        std::erase_if(heredoc, [](char c) { return c == '\'' || c == '"'; });
        if (!heredoc.empty())
            return true;
    }
    for (std::string_view end : {"\\", "&&", "||", "|"})
        if (line.ends_with(end))
            return true;
    return false;
}

// The target's setup lines, each followed by a check of how it ended: a failing line (a `module load` of a module
// that is not there) ends the script with exit code 97 and says which line, on standard error (where the start's
// and targets check's messages and a Slurm job's output take it). It was ignored, and the worker trained without
// what the line was for. A line that may fail is written `... || true`.
std::string setupLines(const Target &t)
{
    std::string s, heredoc;
    for (size_t i = 0; i < t.setup.size(); ++i) {
        s += t.setup[i] + "\n";
        if (!heredoc.empty()) { // inside a here-document until its delimiter line
            if (trim(t.setup[i]) == heredoc)
                heredoc.clear();
            else
                continue;
        } else if (continuesOnNextLine(t.setup[i], heredoc)) {
            continue;
        }
        s += "lbk_rc=$?; [ \"$lbk_rc\" -eq 0 ] || { echo \"setup line " + std::to_string(i + 1) +
             " failed with exit code $lbk_rc:\" " + shellQuote(t.setup[i]) + " >&2; exit 97; }\n";
    }
    return s;
}

// A word no other start of a worker writes: 16 hex digits from the system's random source.
std::string attemptToken()
{
    std::random_device random;
    const uint64_t value = (uint64_t(random()) << 32) | random();
    return hexKey(value);
}

// Starts the worker; returns the job id (Slurm) or PID.
// training.processes of a run's resolved config (1 when absent).
int processesOf(const nlohmann::json &config)
{
    const auto training = config.value("training", nlohmann::json::object());
    const auto n = training.value("processes", nlohmann::json(1));
    return n.is_number_integer() ? std::max(1, n.get<int>()) : 1;
}

// A script target's worker (`worker` set) starts in a process group of its own where the host has setsid: a
// launcher (accelerate launch, torchrun, a shell) and the processes it starts are then cancelled together, as
// scancel signals every process of a Slurm job; SIGTERM to the launcher alone left its training processes running.
// (In the start script's non-interactive shell the background worker leads no group, so setsid does not fork and
// $! stays the worker's PID.) Labbook's own worker starts and stops its peers itself.
std::string ownGroup(const Target &t)
{
    return t.worker.empty() ? std::string() : "$(command -v setsid >/dev/null 2>&1 && echo setsid) ";
}

Result<std::string> startWorker(const Target &t, const RunDetail &run, const Staged &staged, bool lrFind, bool resume)
{
    RemoteShell sh(t);
    const std::string rd = shellQuote(staged.runDir);
    if (t.type == TargetType::Slurm) {
        // A data-parallel run (training.processes N, Labbook's own worker) is one job of N tasks that srun starts,
        // each worker taking its rank from SLURM_PROCID. No --kill-on-bad-exit: when one rank ends, the others
        // see it as an error of their next collective, and rank 0 must live to record how the run ended.
        const int tasks = lrFind || !t.worker.empty() ? 1 : processesOf(run.config);
        std::string batch = "#!/bin/sh\n";
        for (const auto &o : t.sbatch)
            batch += "#SBATCH " + o + "\n";
        std::string launcher = "exec ";
        if (tasks > 1) // some Slurm versions do not pass sbatch's --cpus-per-task on to srun
            launcher += "srun " + (t.cpus > 0 ? shellQuote("--cpus-per-task=" + std::to_string(t.cpus)) + " " : "");
        batch += "# Labbook run " + run.uid + "\n" + setupLines(t) + launcher +
                 workerCommand(t, run, staged, lrFind, resume) + "\n";
        std::vector<std::string> args = {"sbatch", "--parsable", "--job-name=" + run.name,
                                         "--output=" + staged.runDir + "/slurm-%j.out", "--chdir=" + staged.runDir};
        if (tasks > 1)
            args.push_back("--ntasks=" + std::to_string(tasks));
        if (!t.partition.empty())
            args.push_back("--partition=" + t.partition);
        if (!t.time.empty())
            args.push_back("--time=" + t.time);
        if (t.cpus > 0)
            args.push_back("--cpus-per-task=" + std::to_string(t.cpus));
        if (!t.mem.empty())
            args.push_back("--mem=" + t.mem);
        if (!t.gres.empty())
            args.push_back("--gres=" + t.gres);
        // sbatch's own refusal (an unknown partition, a bad option, no configuration) reaches its standard error
        // and its exit code, which check() reports.
        auto out = sh.check("submitting the job with sbatch",
                            "cd " + rd + " || exit 1\njob=$(" + shellJoin(args) + ") || exit $?\nprintf 'LBK-JOB %s\\n' \"$job\"",
                            batch);
        if (!out)
            return out.error();
        std::string job = marked(*out, "LBK-JOB");
        job = job.substr(0, job.find(';')); // "123;cluster"
        if (job.empty() || job.find_first_not_of("0123456789_") != std::string::npos)
            return Error{t.name + ": sbatch gave no job id (its output: " + trimmed(*out) + ")"};
        return job;
    }
    // Without lbk there, nohup would start nothing and the run would only turn interrupted later: say so now.
    const std::string lbkCheck = t.worker.empty() ? "command -v " + remoteWord(t.lbk) +
                                                        " >/dev/null 2>&1 || { echo 'LBK-NOLBK 1'; exit 0; }\n"
                                                  : std::string();
    // lbk stopped while the setup ran (its ssh killed, the shell there going on) leaves the marker "withdrawn":
    // the worker must not start after lbk failed the run, and one that started in the meantime is stopped. The
    // attempt's token keeps the clean-up off a worker.pid an earlier start left (its PID may be another's now).
    const std::string token = attemptToken();
    // starter.pid: while this script runs (its setup lines), a catch-up by an lbk that did not start it can tell a
    // start still under way from one that ended without a worker (adoptStartedWorker). The setup lines write to
    // setup.log, said to lbk when one fails: an lbk killed meanwhile takes the session's output with it, and a setup
    // line that printed then failed the start before its worker (tst_ssh, twice in a loaded session).
    const std::string script = "cd " + rd + " || exit 1\nrm -f withdrawn worker.pid\necho " + token + " > attempt\n" +
                               "trap '' PIPE HUP\necho $$ > starter.pid\n"
                               "trap 'lbk_end=$?; rm -f starter.pid; [ \"$lbk_end\" -ne 97 ] || cat setup.log >&2' "
                               "EXIT\ntrap 'exit 143' TERM\n{\n:\n" + // (": ": a group holds a command)
                               setupLines(t) + "} > setup.log 2>&1\n" + lbkCheck +
                               "[ -e withdrawn ] && { echo 'LBK-WITHDRAWN 1'; exit 0; }\nnohup " + ownGroup(t) +
                               workerCommand(t, run, staged, lrFind, resume) + " > worker.log 2>&1 < /dev/null &\n"
                               "echo $! > worker.pid\n"
                               "[ -e withdrawn ] && { kill -TERM -$! 2>/dev/null || kill $!; "
                               "echo 'LBK-WITHDRAWN 1'; exit 0; }\n"
                               "echo \"LBK-PID $!\"\n";
    auto out = sh.check("starting the worker", script);
    if (!out) {
        if (commandsStopped()) {
            CommandsForCleanUp cleanUp;
            (void)sh.run("cd " + rd + " && touch withdrawn && if [ \"$(cat attempt 2>/dev/null)\" = " + token +
                             " ] && [ -f worker.pid ]; then kill \"$(cat worker.pid)\"; fi 2>/dev/null; true",
                         {}, 20);
        }
        return out.error();
    }
    if (!marked(*out, "LBK-NOLBK").empty())
        return Error{t.name + " (" + t.describe() + "): starting the worker failed: the program \"" + t.lbk +
                     "\" is not found there; " + lbkAdvice()};
    if (!marked(*out, "LBK-WITHDRAWN").empty())
        return Error{t.name + ": the start was withdrawn (lbk cancel asked while the setup lines ran); no worker runs"};
    const std::string pid = marked(*out, "LBK-PID");
    if (pid.empty())
        return Error{t.name + ": the worker did not start (no PID reported; output: " + trimmed(*out) + ")"};
    return pid;
}

// The relative path under <work dir>/data a local data file is staged to, and whether the config must change.
std::string stagedDataPath(const std::string &written, const fs::path &local, const std::string &hash)
{
    const fs::path p(written);
    bool plain = p.is_relative() && !written.empty() && written.find_first_of("*?[") == std::string::npos;
    for (const auto &part : p)
        if (part == ".." || part == ".")
            plain = false;
    if (plain)
        return p.lexically_normal().string();
    return "staged/" + hash.substr(0, 16) + "/" + local.filename().string();
}

} // namespace

Result<RemoteRunInfo> readRemoteInfo(const RunSummary &run)
{
    std::ifstream in(infoPath(run));
    if (!in) // (found by an audit: "where it runs is unknown" of a run whose target the store names)
        return Error{"run " + std::to_string(run.id) + " was to train on " + run.target + " but has no " +
                     infoPath(run).string() + ": its launch failed before the host took it (or the file was "
                     "removed), so there is nothing there to follow or resume; start it again with `lbk run "
                     "--target " + run.target + "` and its experiment file"};
    auto j = json::parse(in, nullptr, false);
    if (!j.is_object())
        return Error{infoPath(run).string() + ": not valid JSON"};
    RemoteRunInfo info;
    info.target = j.value("target", "");
    info.runDir = j.value("run_dir", "");
    info.jobId = j.value("job_id", "");
    info.state = j.value("state", "");
    info.reason = j.value("reason", "");
    return info;
}

Status writeRemoteInfo(const RunSummary &run, const RemoteRunInfo &info)
{
    const json doc = {{"target", info.target}, {"run_dir", info.runDir}, {"job_id", info.jobId},
                      {"state", info.state}, {"reason", info.reason}};
    if (auto written = writeFileReplacing(infoPath(run), doc.dump(2) + "\n", 0600); !written)
        return written;
    std::error_code ec;
    fs::permissions(infoPath(run), fs::perms::owner_read | fs::perms::owner_write, ec);
    return okStatus();
}

namespace {

// The worker's id (its PID, or the Slurm job), where the catch-ups, cancel and resume read it: remote.json and the
// store. Empty: no worker known (a start under way, see adoptStartedWorker).
Status recordJob(Store &store, const Target &t, const RunSummary &run, RemoteRunInfo &info, const std::string &job)
{
    info.jobId = job;
    (void)writeRemoteInfo(run, info);
    return store.setJob(run.id, t.name, job);
}

} // namespace

namespace {

// The one local data file a target without a data_root receives, and its SHA-256; none for a target with one.
struct LocalData {
    fs::path file;
    std::string hash;
};

Result<LocalData> localDataFor(const Target &t, const Experiment &experiment, const LaunchRequest &request)
{
    if (!t.dataRoot.empty())
        return LocalData{};
    auto files = resolveDataFiles(experiment.data.paths, request.dataRoot);
    if (!files)
        return files.error();
    if (files->size() > 1)
        return Error{"data.path: " + experiment.data.pathText() + " names " + std::to_string(files->size()) +
                     " files; Labbook copies one data file to a target. Give target " + t.name +
                     " a data_root where the files already are (the pattern is then read there)"};
    LocalData d{files->front(), sha256File(files->front())};
    if (d.hash.empty())
        return Error{"data.path: " + d.file.string() + " cannot be read, so it cannot be copied to " + t.name};
    return d;
}

// Creates the run's folder on the target and returns the target's work folder as an absolute path.
Result<std::string> makeRemoteRunDir(RemoteShell &sh, const Target &t, const RunDetail &run)
{
    auto prepared = sh.check("creating the run folder",
                             "w=" + workDirWord(t) + "\nmkdir -p \"$w/runs/\"" + shellQuote(run.uid) +
                                 " \"$w/data\" && cd \"$w\" && printf 'LBK-DIR %s\\n' \"$(pwd -P)\"");
    if (!prepared)
        return prepared.error();
    const std::string workDir = marked(*prepared, "LBK-DIR");
    if (workDir.empty() || workDir.front() != '/')
        return Error{t.name + ": the remote work folder could not be found (output: " + trimmed(*prepared) + ")"};
    return workDir;
}

// Copies the data file to `dest` on the target unless a file with the same SHA-256 is there already; through a
// part file, so an interrupted copy never leaves a partial file under the final name.
Status copyDataOnce(RemoteShell &sh, const Target &t, const LocalData &data, const std::string &rel,
                    const std::string &dest, const std::string &runUid,
                    const std::function<void(const std::string &)> &onNotice)
{
    auto remoteHash = sh.run("sha256sum -- " + shellQuote(dest) + " 2>/dev/null || true", {}, 600);
    if (remoteHash && remoteHash->exitCode == 0 && remoteHash->out.rfind(data.hash, 0) == 0) {
        notify(onNotice, "data " + rel + " is already on " + t.name + " (same SHA-256), not copied");
        return okStatus();
    }
    std::error_code ec;
    notify(onNotice, "copying data " + rel + " (" + std::to_string(fs::file_size(data.file, ec) / 1024) +
                         " KiB) to " + t.name);
    const std::string part = dest + ".part-" + runUid;
    auto copied = sh.check("copying " + rel,
                           "mkdir -p -- " + shellQuote(fs::path(dest).parent_path().string()) + " && cat > " +
                               shellQuote(part) + " && mv -f -- " + shellQuote(part) + " " + shellQuote(dest),
                           {}, 3600, data.file);
    if (!copied)
        return copied.error();
    return okStatus();
}

} // namespace

Result<RunDetail> launchRemoteRun(Store &store, const Target &t, const Experiment &experiment,
                                  const LaunchRequest &request, const std::function<void(const std::string &)> &onNotice)
{
    if (!t.remote())
        return Error{"target " + t.name + " is not remote"};
    // Everything that can fail on this side is checked before the run exists.
    const auto data = localDataFor(t, experiment, request);
    if (!data)
        return data.error();
    LaunchRequest forRun = request;
    forRun.scriptTarget = !t.worker.empty();
    auto created = createLocalRun(store, experiment, forRun);
    if (!created)
        return created.error();
    RunDetail run = std::move(*created);
    // Until the worker runs, the run has no PID to ask about: a catch-up meanwhile (the GUI's, another lbk's)
    // would take it for a worker that died. Holding the follow lock makes them read the (empty) mirror only.
    FollowLock launching(run);
    (void)launching.tryLock();
    auto fail = [&](const std::string &msg) -> Result<RunDetail> {
        if (auto now = store.runById(run.id); !now || now->status != RunStatus::Cancelled) // lbk cancel's withdrawal
            (void)store.setStatus(run.id, RunStatus::Failed, msg);
        return Error{msg};
    };
    if (auto st = store.setJob(run.id, t.name, ""); !st)
        return fail(st.message());
    run.target = t.name;
    RemoteShell sh(t);
    notify(onNotice, "preparing " + t.name + " (" + t.describe() + ")");
    const auto workDir = makeRemoteRunDir(sh, t, run);
    if (!workDir)
        return fail(workDir.message());
    Staged staged;
    staged.runDir = *workDir + "/runs/" + run.uid;
    staged.dataRoot = t.dataRoot;
    json remoteConfig = experiment.config;
    if (t.dataRoot.empty()) {
        const std::string &asWritten = experiment.data.paths.front(); // one file, checked above
        const std::string rel = stagedDataPath(asWritten, data->file, data->hash);
        staged.dataRoot = *workDir + "/data";
        if (rel != asWritten)
            remoteConfig["data"]["path"] = rel;
        if (auto copied = copyDataOnce(sh, t, *data, rel, staged.dataRoot + "/" + rel, run.uid, onNotice); !copied)
            return fail(copied.message());
    }
    auto sent = sh.check("copying experiment.json", "cat > " + shellQuote(staged.runDir + "/experiment.json"),
                         remoteConfig.dump(2) + "\n");
    if (!sent)
        return fail(sent.message());
    RemoteRunInfo info;
    info.target = t.name;
    info.runDir = staged.runDir;
    if (auto st = writeRemoteInfo(run, info); !st)
        return fail(st.message());
    auto job = startWorker(t, run, staged, request.lrFind, false);
    if (!job)
        return fail(job.message());
    if (t.type == TargetType::Slurm)
        info.state = "PENDING";
    (void)recordJob(store, t, run, info, *job);
    run.jobId = *job;
    notify(onNotice, t.type == TargetType::Slurm ? "submitted Slurm job " + *job : "worker started, pid " + *job);
    return run;
}

Status resumeRemoteRun(Store &store, const Target &t, const RunDetail &run, const LaunchRequest &request)
{
    auto info = readRemoteInfo(run);
    if (!info)
        return info.error();
    if (const auto ended = whyNotResumable(run))
        return Error{*ended};
    Staged staged;
    staged.runDir = info->runDir;
    staged.dataRoot = t.dataRoot.empty() ? fs::path(info->runDir).parent_path().parent_path().string() + "/data"
                                         : t.dataRoot;
    // The old PID is dead: a catch-up between queued and the new PID would settle the run again (see launch).
    // Taken before the journal is read too, so no other follower appends the same bytes to the mirror meanwhile.
    FollowLock resuming(run);
    if (!resuming.lockWithin(std::chrono::seconds(30)))
        return Error{"run " + std::to_string(run.id) + " is being followed by another lbk process; stop it first"};
    // The journal there may say more than the store: a worker that went on to the end while nobody could read it.
    if (fetchRestOfJournal(t, *info, run)) {
        (void)syncRun(store, run);
        if (auto now = store.runById(run.id); now && now->status == RunStatus::Finished)
            return badInput("run " + std::to_string(run.id) + " finished on " + t.name + " after all (the rest of its "
                            "journal was read just now); there is nothing to resume");
    }
    if (auto st = store.setStatus(run.id, RunStatus::Queued); !st)
        return st.error();
    // The old worker's id goes: an lbk killed during the setup lines leaves no id, and the next catch-up asks the
    // host for the new worker (adoptStartedWorker) instead of taking the old one's absence for the end.
    (void)recordJob(store, t, run, *info, "");
    auto job = startWorker(t, run, staged, request.lrFind, true);
    if (!job) {
        if (auto now = store.runById(run.id); now && now->status == RunStatus::Queued) // not cancelled meanwhile
            (void)store.setStatus(run.id, RunStatus::Interrupted, job.message());
        return job.error();
    }
    info->state = t.type == TargetType::Slurm ? "PENDING" : "";
    info->reason.clear();
    return recordJob(store, t, run, *info, *job);
}

namespace {

enum class StartState { Adopted, Starting, Gone };

// remote.json is written before the worker is started, its PID after: an lbk killed in between (SIGKILL while the
// target ran its setup lines) left a run without a PID, which the next catch-up failed at once while the setup
// went on and started a worker nobody followed. The host says what became of the start: a worker.pid is adopted
// (the run is followed, cancelled and settled as any other), a start script still running is left to finish.
Result<StartState> adoptStartedWorker(Store &store, const Target &t, const RunSummary &run, RemoteRunInfo &info)
{
    RemoteShell sh(t);
    const std::string rd = shellQuote(info.runDir);
    // The start script first: it writes worker.pid before it ends, so once it is gone the file says all there is.
    // (Asked the other way round, a start that wrote worker.pid and ended between the two questions read as one that
    // ended without a worker: found by a fresh ./test.sh on a loaded machine.)
    auto out = sh.run("cd " + rd + " 2>/dev/null || { echo 'LBK-START gone'; exit 0; }\n"
                      "if [ -s starter.pid ] && kill -0 \"$(cat starter.pid)\" 2>/dev/null; then\n"
                      "  echo 'LBK-START starting'\n"
                      "elif [ -s worker.pid ]; then echo \"LBK-START pid $(cat worker.pid)\"\n"
                      "else echo 'LBK-START gone'; fi",
                      {}, 60);
    if (!out)
        return out.error();
    const std::string said = marked(out->out, "LBK-START");
    if (out->exitCode != 0 || out->timedOut || said.empty())
        return Error{t.name + " (" + t.describe() + "): cannot reach the host to ask about the worker's start" +
                     (out->err.empty() ? "" : ": " + trimmed(out->err))};
    if (said == "starting")
        return StartState::Starting;
    if (said.rfind("pid ", 0) != 0)
        return StartState::Gone;
    (void)recordJob(store, t, run, info, trimmed(said.substr(4)));
    return StartState::Adopted;
}

} // namespace

Status cancelRemoteRun(const Target &t, const RunSummary &run)
{
    auto info = readRemoteInfo(run);
    if (!info)
        return info.error();
    RemoteShell sh(t);
    if (t.type == TargetType::Slurm) {
        auto out = sh.check("cancelling Slurm job " + info->jobId, shellJoin({"scancel", info->jobId}));
        if (!out)
            return out.error();
        return okStatus();
    }
    // The worker's process group when it leads one (ownGroup), else the worker alone. (dash's kill takes no "--":
    // "kill -TERM -- -PID" fails there and signals nothing.)
    auto out = sh.check("stopping the worker", "p=$(cat " + shellQuote(info->runDir + "/worker.pid") +
                                                   ") && { kill -TERM -\"$p\" 2>/dev/null || kill -TERM \"$p\"; }");
    if (!out)
        return out.error();
    return okStatus();
}

Result<std::string> cancelRun(Store &store, const Target &target, const RunSummary &run)
{
    const std::string id = std::to_string(run.id);
    if (!isActive(run.status))
        return Error{"run " + id + " is " + toString(run.status) + ", not running"};
    if (run.remote() != target.remote() || (run.remote() && run.target != target.name))
        return Error{"run " + id + " runs on target \"" + run.target + "\", not on \"" + target.name + "\""};
    RunSummary asked = run;
    if (run.remote() && run.jobId.empty() && target.type != TargetType::Slurm) {
        // Still running its setup lines there, its launcher gone: a worker already there is adopted and cancelled as
        // any other; else the start is withdrawn (the start script starts no worker once it finds the mark, and stops
        // one it has just started) and its setup stopped: its process group when the script leads one, else the
        // script and the line it runs (the shell defers a signal's trap until its foreground command ends).
        auto info = readRemoteInfo(run);
        if (!info)
            return info.error();
        auto started = adoptStartedWorker(store, target, run, *info);
        if (!started)
            return started.error();
        if (*started == StartState::Adopted) {
            asked.jobId = info->jobId;
        } else {
            auto out = RemoteShell(target).check(
                "withdrawing the start",
                "cd " + shellQuote(info->runDir) + " || exit 1\ntouch withdrawn\ns=$(cat starter.pid 2>/dev/null)\n"
                "[ -n \"$s\" ] && { kill -TERM -\"$s\" 2>/dev/null ||\n"
                "  { pkill -TERM -P \"$s\" 2>/dev/null; kill -TERM \"$s\" 2>/dev/null; }; }\n"
                // a worker this start launched just before the mark (the script past its last look at it)
                "p=$(cat worker.pid 2>/dev/null) && [ -n \"$p\" ] && { kill -TERM -\"$p\" 2>/dev/null || "
                "kill -TERM \"$p\" 2>/dev/null; }\ntrue");
            if (!out)
                return out.error();
            (void)store.setStatus(run.id, RunStatus::Cancelled,
                                  "cancelled while " + target.name + " ran its setup lines: no worker was started");
            return "run " + id + " was still being set up on " + target.name + "; withdrawn and marked cancelled";
        }
    }
    if (run.remote()) {
        if (auto st = cancelRemoteRun(target, asked); !st)
            return st.error();
        return "asked run " + id + " on " + target.name + " (job " + asked.jobId + ") to stop; " + whatAStopDoes(run);
    }
    const bool noWorker = run.pid == 0 || (run.host == localHostName() && !processAlive(run.pid, run.pidStart));
    if (noWorker) {
        // Nothing is running it (it never started, or its worker died unseen): record the cancel.
        (void)store.setStatus(run.id, RunStatus::Cancelled, "cancelled while no worker was running it");
        return "run " + id + " had no live worker; marked cancelled";
    }
    if (run.host != localHostName())
        return Error{"run " + id + " runs on " + run.host + ", not on this machine"};
    ::kill(pid_t(run.pid), SIGTERM);
    return "asked run " + id + " (pid " + std::to_string(run.pid) + ") to stop; " + whatAStopDoes(run);
}

Result<RemoteState> queryRemoteState(const Target &t, const RemoteRunInfo &info)
{
    RemoteShell sh(t);
    RemoteState st;
    if (info.jobId.empty()) {
        st.alive = false;
        st.state = "NOT STARTED";
        return st;
    }
    if (t.type == TargetType::Slurm) {
        auto out = sh.run("scontrol show job -o " + shellQuote(info.jobId) + " 2>&1; echo \"LBK-RC $?\"", {}, 60);
        if (!out)
            return out.error();
        if (out->exitCode != 0 || out->timedOut)
            return Error{t.name + " (" + t.describe() + "): cannot ask Slurm about job " + info.jobId + ": " +
                         trimmed(out->err)};
        auto job = parseScontrolJob(out->out);
        if (!job) {
            // Gone from slurmctld's memory (MinJobAge): the job ended; keep the last state seen.
            st.known = false;
            st.alive = false;
            st.state = info.state;
            st.reason = info.reason;
            return st;
        }
        st.state = job->state;
        st.reason = job->reason;
        if (!job->exitCode.empty() && job->exitCode != "0:0")
            st.reason += (st.reason.empty() ? "" : ", ") + std::string("exit code ") + job->exitCode;
        if (st.state == "TIMEOUT" && !job->timeLimit.empty())
            st.reason += (st.reason.empty() ? "" : ", ") + std::string("time limit ") + job->timeLimit;
        st.alive = !runStatusForSlurmState(st.state).has_value();
        return st;
    }
    auto out = sh.run("if " + aliveCheck(t, info) + "; then echo 'LBK-ALIVE 1'; else echo 'LBK-ALIVE 0'; fi", {}, 60);
    if (!out)
        return out.error();
    if (out->exitCode != 0 || out->timedOut || marked(out->out, "LBK-ALIVE").empty())
        return Error{t.name + " (" + t.describe() + "): cannot reach the worker's host" +
                     (out->err.empty() ? "" : ": " + trimmed(out->err))};
    st.alive = marked(out->out, "LBK-ALIVE") == "1";
    st.state = st.alive ? "RUNNING" : "ENDED";
    return st;
}

namespace {

constexpr int kUnreachableRetrySeconds = 60;

// A target that did not answer a catch-up is left alone for a minute, by every lbk command and the GUI (a file
// in the store's runs folder remembers when), so that an unreachable host costs one connection timeout a
// minute, not one per active run on every command.
fs::path unreachableMark(const Store &store, const Target &t)
{
    std::string name = t.name;
    for (char &c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
            c = '_';
    return store.runsRoot() / (".unreachable-" + name);
}

// Seconds since the target last failed to answer, when under the retry interval.
std::optional<int> recentlyUnreachable(const Store &store, const Target &t)
{
    std::error_code ec;
    const auto when = fs::last_write_time(unreachableMark(store, t), ec);
    if (ec)
        return std::nullopt;
    const auto age = std::chrono::duration_cast<std::chrono::seconds>(fs::file_time_type::clock::now() - when).count();
    if (age < 0 || age >= kUnreachableRetrySeconds)
        return std::nullopt;
    return int(age);
}

bool isConnectionFailure(const std::string &message)
{
    for (const char *sign : {"could not connect", "cannot reach", "no answer within", "Connection timed out",
                             "Connection refused"})
        if (message.find(sign) != std::string::npos)
            return true;
    return false;
}

// Remembers the outcome of a catch-up's questions: a connection failure marks the target, an answer clears it.
void noteReachability(const Store &store, const Target &t, const Status &asked)
{
    std::error_code ec;
    if (asked) {
        fs::remove(unreachableMark(store, t), ec);
    } else if (isConnectionFailure(asked.message())) {
        fs::create_directories(store.runsRoot(), ec);
        std::ofstream(unreachableMark(store, t)) << "unreachable\n";
    }
}

} // namespace

Result<IngestStats> catchUpRemoteRun(Store &store, const Target &t, const RunSummary &run)
{
    FollowLock lock(run);
    if (!lock.tryLock())
        return syncRun(store, run); // a live follower fetches; the mirror is still ours to read
    std::error_code ec;
    const double age = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() -
                       run.createdAt; // (a launcher takes the lock right after it creates the run)
    if (run.status == RunStatus::Queued && age > 30 && !fs::exists(infoPath(run), ec)) {
        // Its launcher held the lock until the worker was started, which writes remote.json first: it died while
        // preparing the target (killed, its terminal closed), and nothing runs this run.
        (void)store.setStatus(run.id, RunStatus::Failed,
                              "its launch on " + t.name + " stopped before the worker was started (lbk was stopped "
                              "or killed while preparing the target); start it again with lbk run");
        return syncRun(store, run);
    }
    auto info = readRemoteInfo(run);
    if (!info)
        return info.error();
    if (const auto age = recentlyUnreachable(store, t))
        return Error{"not caught up: " + t.name + " did not answer " + std::to_string(*age) + " s ago; next try in " +
                     std::to_string(kUnreachableRetrySeconds - *age) + " s (`lbk resume " + std::to_string(run.id) +
                     "` asks at once)"};
    if (info->jobId.empty() && t.type != TargetType::Slurm) {
        auto started = adoptStartedWorker(store, t, run, *info);
        noteReachability(store, t, started ? okStatus() : Status(started.error()));
        if (!started)
            return started.error();
        if (*started == StartState::Starting)
            return syncRun(store, run);
    }
    // The state first, then the bytes: a worker that wrote its last line and exited between the two reads is
    // then never taken for one that died silently.
    auto st = queryRemoteState(t, *info);
    noteReachability(store, t, st ? okStatus() : Status(st.error()));
    if (!st)
        return st.error();
    if (auto fetched = fetchRestOfJournal(t, *info, run); !fetched) {
        noteReachability(store, t, fetched);
        return fetched.error();
    }
    auto stats = syncRun(store, run);
    if (!stats)
        return stats;
    recordState(store, run, *info, *st);
    if (!st->alive)
        settle(store, t, run, *info, *st);
    return stats;
}

SyncResult syncRemoteRuns(Store &store, const TargetsFile &targets, const std::atomic<bool> *stop)
{
    SyncResult result;
    for (auto status : {RunStatus::Running, RunStatus::Queued}) {
        RunFilter filter;
        filter.status = status;
        for (const auto &run : store.runs(filter)) {
            if (!run.remote())
                continue;
            if (stop && stop->load())
                return result;
            const Target *t = targets.find(run.target);
            if (!t) {
                result.warnings.push_back("run " + std::to_string(run.id) + " runs on target \"" + run.target +
                                          "\", which " + targets.path.string() + " does not name; it cannot be "
                                          "followed until the target is configured again");
                continue;
            }
            auto stats = catchUpRemoteRun(store, *t, run);
            if (!stats) {
                result.warnings.push_back("run " + std::to_string(run.id) + ": " + stats.message());
                continue;
            }
            result.events += stats->events;
            auto fresh = store.runById(run.id);
            if (fresh && fresh->status == RunStatus::Interrupted)
                result.interrupted++;
        }
    }
    return result;
}

namespace {

// Another lbk (or the GUI) streams this run: shows what it stores until the run ends or the user detaches
// (an end), or the other follower stops and the lock is taken (nullopt: follow it from here).
// shown: the journal bytes shown so far, handed on to the follower that takes over.
std::optional<Result<FollowEnd>> watchOtherFollower(Store &store, const RunSummary &run, const FollowOptions &o,
                                                    FollowLock &lock, int64_t &shown)
{
    notify(o.onNotice, "another lbk process follows this run; showing what it stores");
    for (;;) {
        if (auto st = syncRun(store, run, o.onEvent, &shown); !st)
            return Result<FollowEnd>(st.error());
        auto fresh = store.runById(run.id);
        if (!fresh || !isActive(fresh->status))
            return Result<FollowEnd>(FollowEnd::Ended);
        // A watcher cancels nothing (the follower that streams the run does): its first Ctrl-C or SIGTERM stops it,
        // where it waited for a second one and said nothing (`timeout 8 lbk resume` ran on for minutes).
        if (o.interrupts && o.interrupts->load() >= 1)
            return Result<FollowEnd>(FollowEnd::Detached);
        if (lock.tryLock())
            return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
}

// One follower of a remote run: streams the journal's new bytes into the local mirror and the store, asks the
// target how the run ended when the stream ends, and reconnects with back-off when the connection drops.
class RemoteFollower {
public:
    RemoteFollower(Store &store, const Target &t, const RunSummary &run, const FollowOptions &o, RemoteRunInfo info,
                   int64_t shown)
        : m_store(store), m_t(t), m_run(run), m_o(o), m_shown(shown), m_info(std::move(info)), m_sh(t)
    {
    }

    Result<FollowEnd> follow()
    {
        for (;;) {
            if (detachAsked())
                return FollowEnd::Detached;
            pollSlurmState();
            if (!m_stream) {
                const auto script = followScript(m_t, m_info, mirrorSize(m_run), false);
                auto started = StreamingProcess::start(m_sh.argv(script));
                if (!started)
                    return started.error();
                m_stream = std::move(*started);
            }
            auto running = pump();
            if (!running)
                return running.error();
            if (*running)
                continue;
            const AfterStream next = streamEnded();
            if (next == AfterStream::Ended)
                return FollowEnd::Ended;
            if (next == AfterStream::Reconnect && !waitToReconnect())
                return FollowEnd::LostConnection;
        }
    }

private:
    using clock = std::chrono::steady_clock;
    enum class AfterStream { Ended, Restream, Reconnect };

    bool interrupted() const { return m_o.interrupts && m_o.interrupts->load() > m_handledInterrupts; }

    // The first Ctrl-C cancels the run (its worker saves a checkpoint), the second stops following.
    bool detachAsked()
    {
        if (!interrupted())
            return false;
        m_handledInterrupts = m_o.interrupts->load();
        if (m_handledInterrupts > 1 || !m_o.interruptCancels)
            return true;
        auto c = cancelRemoteRun(m_t, m_run);
        const auto now = m_store.runById(m_run.id);
        notify(m_o.onNotice, c ? "cancelling (" + whatAStopDoes(now ? *now : m_run) +
                                     "; Ctrl-C again to stop following and leave the run as it is)"
                               : "cannot cancel: " + c.message());
        return false;
    }

    void sayState(const RemoteState &st)
    {
        notify(m_o.onNotice,
               "Slurm job " + m_info.jobId + ": " + st.state + (st.reason.empty() ? "" : " (" + st.reason + ")"));
    }

    // Every 5 s a Slurm job's state (pending, running, its reason) is asked for and recorded when it changed.
    void pollSlurmState()
    {
        if (m_t.type != TargetType::Slurm || clock::now() - m_lastStatePoll < std::chrono::seconds(5))
            return;
        m_lastStatePoll = clock::now();
        if (auto st = queryRemoteState(m_t, m_info); st && st->known && st->state != m_info.state) {
            sayState(*st);
            recordState(m_store, m_run, m_info, *st);
        }
    }

    // What the stream sent in the last 250 ms, into the mirror and the store; false once the stream has ended.
    Result<bool> pump()
    {
        std::string bytes;
        const bool running = m_stream->read(bytes, std::chrono::milliseconds(250));
        if (!bytes.empty()) {
            m_inOutage = false;
            m_backoff = 1;
            if (auto w = appendMirror(m_run, bytes); !w)
                return w.error();
            if (auto s = syncRun(m_store, m_run, m_o.onEvent, &m_shown); !s)
                notify(m_o.onNotice, "warning: " + s.message());
        }
        return running;
    }

    // The stream ended: when cleanly, the target (and Slurm) says how the run ended and the run is settled (or it
    // still runs: stream again at once); a lost connection or a failed question is said, then reconnect.
    AfterStream streamEnded()
    {
        const int code = m_stream->exitCode();
        const std::string err = m_sh.sanitize(trimmed(m_stream->errors()));
        m_stream.reset();
        if (code != 0) {
            notify(m_o.onNotice, "connection to " + m_t.name + " lost (exit code " + std::to_string(code) +
                                     (err.empty() ? "" : ": " + err) + "); reconnecting from byte " +
                                     std::to_string(mirrorSize(m_run)) + " in " + std::to_string(int(m_backoff)) +
                                     " s");
            return AfterStream::Reconnect;
        }
        auto st = queryRemoteState(m_t, m_info);
        if (!st) {
            notify(m_o.onNotice, "cannot ask how the run ended: " + st.message());
            return AfterStream::Reconnect;
        }
        if (st->alive) // a transient squeue failure: stream on
            return AfterStream::Restream;
        // The stream may have ended before the journal did (its loop took a failing squeue, a controller that was
        // down, for the job's end): read what is left before deciding how the run ended.
        if (auto fetched = fetchRestOfJournal(m_t, m_info, m_run); !fetched) {
            notify(m_o.onNotice, "cannot read the rest of the journal: " + fetched.message());
            return AfterStream::Reconnect;
        }
        const bool news = st->state != m_info.state; // the 5 s poll may have said this end already
        recordState(m_store, m_run, m_info, *st);
        (void)syncRun(m_store, m_run, m_o.onEvent, &m_shown);
        settle(m_store, m_t, m_run, m_info, *st);
        if (m_t.type == TargetType::Slurm && news)
            sayState(*st);
        return AfterStream::Ended;
    }

    // Sleeps the back-off (shorter when Ctrl-C is pressed) and doubles it up to 15 s; false when the connection
    // has been down longer than the options allow.
    bool waitToReconnect()
    {
        if (!m_inOutage) {
            m_inOutage = true;
            m_outageSince = clock::now();
        }
        if (std::chrono::duration<double>(clock::now() - m_outageSince).count() > m_o.maxOutageSeconds)
            return false;
        const auto until = clock::now() + std::chrono::duration<double>(m_backoff);
        while (clock::now() < until && !interrupted())
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        m_backoff = std::min(m_backoff * 2, 15.0);
        return true;
    }

    Store &m_store;
    const Target &m_t;
    const RunSummary &m_run;
    const FollowOptions &m_o;
    int64_t m_shown = -1; // the mirror's bytes m_o.onEvent has seen (syncRun)
    RemoteRunInfo m_info;
    RemoteShell m_sh;
    std::unique_ptr<StreamingProcess> m_stream;
    int m_handledInterrupts = 0;
    double m_backoff = 1; // seconds before the next reconnection
    bool m_inOutage = false;
    clock::time_point m_outageSince{};
    clock::time_point m_lastStatePoll = clock::now() - std::chrono::hours(1);
};

} // namespace

Result<FollowEnd> followRemoteRun(Store &store, const Target &t, const RunSummary &run, const FollowOptions &o)
{
    FollowLock lock(run);
    int64_t shown = -1; // what a watcher showed before it took over: the follower shows on from there
    if (!lock.tryLock())
        if (auto end = watchOtherFollower(store, run, o, lock, shown))
            return *end;
    auto info = readRemoteInfo(run);
    if (!info)
        return info.error();
    return RemoteFollower(store, t, run, o, std::move(*info), shown).follow();
}

namespace {

// What pull copies: every file of the folder (--all), else the artifacts the run reported and the files a run is
// scored from (a run that ended before it reported them, cancelled or timed out, still has them).
Result<std::vector<std::string>> filesToPull(Store &store, RemoteShell &sh, const RemoteRunInfo &info,
                                             const RunSummary &run, bool all)
{
    std::vector<std::string> paths;
    if (all) {
        auto out = sh.check("listing the run folder", "cd " + shellQuote(info.runDir) + " && find . -type f");
        if (!out)
            return out.error();
        std::istringstream in(*out);
        for (std::string line; std::getline(in, line);)
            if (line.rfind("./", 0) == 0)
                paths.push_back(line.substr(2));
        return paths;
    }
    std::set<std::string> wanted(std::begin(runfiles::kModelFiles), std::end(runfiles::kModelFiles));
    for (const auto &a : store.artifacts(run.id))
        wanted.insert(a.path);
    // One listing for all of them: a folder (a fine-tune's "hf" tokenizer) by its files, a file that is not
    // there left out; no folder at all, nothing.
    std::string script = "cd " + shellQuote(info.runDir) + " 2>/dev/null || exit 0; for p in";
    for (const auto &w : wanted)
        script += " " + shellQuote(w);
    script += "; do if [ -d \"$p\" ]; then find \"$p\" -type f; elif [ -f \"$p\" ]; then echo \"$p\"; fi; done";
    auto out = sh.check("listing the run's files", script);
    if (!out)
        return out.error();
    std::istringstream in(*out);
    for (std::string line; std::getline(in, line);)
        if (!line.empty())
            paths.push_back(line);
    return paths;
}

bool safeRelative(const std::string &rel)
{
    const fs::path p(rel);
    bool safe = p.is_relative() && !rel.empty();
    for (const auto &part : p)
        if (part == "..")
            safe = false;
    return safe && rel != runfiles::kJournal && rel != runfiles::kRemoteInfo && rel != ".remote.lock";
}

} // namespace

Result<std::vector<std::string>> pullArtifacts(Store &store, const Target &t, const RunSummary &run, bool all)
{
    auto info = readRemoteInfo(run);
    if (!info)
        return info.error();
    RemoteShell sh(t);
    auto paths = filesToPull(store, sh, *info, run, all);
    if (!paths)
        return paths.error();
    std::vector<std::string> copied;
    for (const auto &rel : *paths) {
        if (!safeRelative(rel))
            continue;
        // Streamed to a temporary file (checkpoints can be large), renamed into place when complete.
        const fs::path dest = fs::path(run.runDir) / rel;
        const fs::path part = dest.string() + ".part";
        std::error_code ec;
        fs::create_directories(dest.parent_path(), ec);
        auto proc = StreamingProcess::start(sh.argv("cat -- " + shellQuote(info->runDir + "/" + rel)));
        if (!proc)
            return proc.error();
        {
            std::ofstream f(part, std::ios::binary | std::ios::trunc);
            ::chmod(part.c_str(), 0600);
            std::string chunk;
            while ((*proc)->read(chunk, std::chrono::milliseconds(500))) {
                f.write(chunk.data(), std::streamsize(chunk.size()));
                chunk.clear();
            }
            f.write(chunk.data(), std::streamsize(chunk.size()));
            if (!f)
                return Error{part.string() + ": cannot write"};
        }
        if ((*proc)->exitCode() == 255 && t.ssh) { // ssh's own failure: the connection, not a missing file
            fs::remove(part, ec);
            return Error{"copying " + rel + " from " + t.name + " failed: ssh exit code 255 (" +
                         sh.sanitize(trimmed((*proc)->errors())) + "); " + counted(int64_t(copied.size()), "file") +
                         " copied before it"};
        }
        if ((*proc)->exitCode() != 0) {
            fs::remove(part, ec); // not there: a checkpoint the worker replaced since it was reported, a file the
            continue;             // run never wrote
        }
        fs::rename(part, dest, ec);
        if (ec)
            return Error{dest.string() + ": cannot write: " + ec.message()};
        copied.push_back(rel);
    }
    if (copied.empty())
        return Error{"nothing copied from " + t.name + ": " + info->runDir + " there holds none of the run's files " +
                     "(removed, or never written)"};
    return copied;
}

std::string TargetCheck::text() const
{
    std::string out = heading + "\n";
    for (const auto &[what, result] : lines) {
        char label[32];
        std::snprintf(label, sizeof label, "  %-12s ", what.c_str());
        out += label + result + "\n";
    }
    if (connected)
        out += ready ? "ready\n" : "not ready\n";
    return out;
}

namespace {

// What `lbk targets check` asks the target, in one round trip: each answer on a line of its own, marked.
std::string checkScript(const Target &t)
{
    const std::string w = workDirWord(t);
    std::string script = "w=" + w + "\nmkdir -p \"$w\" 2>/dev/null\necho \"LBK-HOST $(hostname)\"\n";
    script += setupLines(t) + "echo 'LBK-SETUP ok'\n"; // a setup line that exits ends the script before this
    if (t.worker.empty())
        script += "v=$(" + remoteWord(t.lbk) + " --version 2>&1); rc=$?\n"
                  "printf 'LBK-VERSION %s\\n' \"$(printf '%s\\n' \"$v\" | head -n 1)\"; echo \"LBK-LBKRC $rc\"\n"
                  "e=\"$(dirname \"$(readlink -f \"$(command -v " + remoteWord(t.lbk) + ")\" 2>/dev/null)\")/lbk-engine\"\n"
                  "[ -x \"$e\" ] && echo 'LBK-ENGINE ok'\n";
    script += "echo \"LBK-DISK $(df -Pk \"$w\" 2>/dev/null | awk 'NR==2 {print $4}')\"\n"
              "[ -d \"$w\" ] && [ -w \"$w\" ] && echo 'LBK-WRITABLE ok'\n"
              "echo \"LBK-CPUS $( (nproc || getconf _NPROCESSORS_ONLN) 2>/dev/null)\"\n"
              "if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi -L 2>&1 | sed 's/^/LBK-GPU /'; fi\n"
              "for d in /dev/accel*; do [ -e \"$d\" ] && echo \"LBK-TPU $d\"; done\n";
    if (!t.dataRoot.empty())
        script += "[ -d " + remoteWord(t.dataRoot) + " ] && echo 'LBK-DATAROOT ok'\n";
    if (t.type == TargetType::Slurm)
        script += "if command -v sinfo >/dev/null 2>&1; then sinfo -h -o '%P %a %D %t' 2>&1 | sed 's/^/LBK-SINFO /'; "
                  "else echo 'LBK-SINFO sinfo not found'; fi\n";
    return script;
}

// lbk there, with its engine beside it (or the target's own trainer). False when a run could not start.
bool checkLbk(const Target &t, const std::string &out, TargetCheck &check)
{
    if (!t.worker.empty()) {
        check.lines.push_back({"trainer", t.worker.front() + " (its own program; lbk is not needed there)"});
        return true;
    }
    const std::string version = marked(out, "LBK-VERSION");
    if (marked(out, "LBK-LBKRC") != "0") {
        check.lines.push_back({"lbk", "NOT WORKING (" + version + "): " + lbkAdvice()});
        return false;
    }
    if (marked(out, "LBK-ENGINE").empty()) {
        check.lines.push_back({"lbk", version + ", but no lbk-engine beside it: training needs both programs "
                                                "in one folder (build/bin/ holds them)"});
        return false;
    }
    check.lines.push_back({"lbk", version});
    return true;
}

bool checkWorkFolder(const Target &t, const std::string &out, TargetCheck &check)
{
    const std::string disk = marked(out, "LBK-DISK");
    if (disk.empty() || marked(out, "LBK-WRITABLE").empty()) {
        check.lines.push_back({"work folder", t.workDir + (disk.empty() ? ": cannot be created or measured"
                                                                        : ": cannot be written there")});
        return false;
    }
    char free[64];
    std::snprintf(free, sizeof free, ": %.1f GiB free", std::atof(disk.c_str()) / (1024.0 * 1024.0));
    check.lines.push_back({"work folder", t.workDir + free});
    return true;
}

void listDevices(const std::string &out, TargetCheck &check)
{
    std::string devices = marked(out, "LBK-CPUS") + " CPU cores";
    const auto gpus = allMarked(out, "LBK-GPU");
    const auto tpus = allMarked(out, "LBK-TPU");
    for (const auto &g : gpus)
        devices += "; " + g;
    if (!tpus.empty())
        devices += "; " + std::to_string(tpus.size()) + " TPU device(s)";
    if (gpus.empty() && tpus.empty())
        devices += "; no GPU or TPU found (no nvidia-smi, no /dev/accel*)";
    check.lines.push_back({"devices", devices});
}

// The target's data_root, where runs read their data (found by an audit: a missing one was found only by a run).
bool checkDataRoot(const Target &t, const std::string &out, TargetCheck &check)
{
    if (t.dataRoot.empty())
        return true;
    const bool there = !marked(out, "LBK-DATAROOT").empty();
    if (t.type == TargetType::Slurm) { // asked of the login node; the nodes may have it where it has not (scratch)
        check.lines.push_back(
            {"data root", t.dataRoot + (there ? "" : ": not on the login node (fine if the compute nodes have it)")});
        return true;
    }
    check.lines.push_back({"data root", t.dataRoot + (there ? "" : ": no such folder there; runs would fail to read "
                                                                   "their data (data_root in the targets file)")});
    return there;
}

// sinfo's partitions, and the target's own partition among them.
bool checkSlurm(const Target &t, const std::string &out, TargetCheck &check)
{
    const auto partitions = allMarked(out, "LBK-SINFO");
    bool ok = !partitions.empty();
    std::set<std::string> names;
    for (const auto &p : partitions) {
        check.lines.push_back({"slurm", p});
        ok = ok && p.find("fatal") == std::string::npos && p.find("error") == std::string::npos &&
             p != "sinfo not found";
        std::string name = p.substr(0, p.find(' '));
        if (!name.empty() && name.back() == '*') // the default partition
            name.pop_back();
        names.insert(name);
    }
    std::string missing; // of the target's partitions ("cpu,gpu" lets Slurm pick either)
    std::istringstream list(t.partition);
    for (std::string one; std::getline(list, one, ',');)
        if (!one.empty() && !names.count(one))
            missing += (missing.empty() ? "" : ", ") + one;
    if (partitions.empty())
        check.lines.push_back({"slurm", "no partitions reported"});
    else if (!missing.empty())
        check.lines.push_back({"slurm", "the target's partition \"" + missing + "\" is not among them"});
    return ok && missing.empty();
}

} // namespace

TargetCheck checkTarget(const Target &t)
{
    TargetCheck check;
    check.heading = t.name + ": " + t.describe();
    RemoteShell sh(t);
    const auto start = std::chrono::steady_clock::now();
    auto out = sh.run(checkScript(t), {}, 60);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!out || out->timedOut || marked(out->out, "LBK-HOST").empty()) {
        std::string why = !out ? out.message() : out->timedOut ? "no answer within 60 s" : sh.sanitize(out->err);
        why = trimmed(why);
        if (out && out->exitCode == 255)
            if (const std::string advice = sshAdvice(t, why); !advice.empty())
                why += " (" + advice + ")";
        check.lines.push_back({"connect", "FAILED: " + (why.empty() ? std::string("no output") : why)});
        return check;
    }
    check.connected = true;
    char took[32];
    std::snprintf(took, sizeof took, " (%.2f s)", seconds);
    check.lines.push_back({"connect", "ok, host " + marked(out->out, "LBK-HOST") + took});
    if (marked(out->out, "LBK-SETUP").empty()) {
        const std::string err = trimmed(sh.sanitize(out->err));
        check.lines.push_back({"setup", "FAILED: a setup line failed or ended the shell (exit code " +
                                            std::to_string(out->exitCode) + ")" + (err.empty() ? "" : ": " + err)});
        return check;
    }
    bool ok = checkLbk(t, out->out, check);
    ok = checkWorkFolder(t, out->out, check) && ok;
    ok = checkDataRoot(t, out->out, check) && ok;
    listDevices(out->out, check);
    if (t.type == TargetType::Slurm)
        ok = checkSlurm(t, out->out, check) && ok;
    check.ready = ok;
    return check;
}

} // namespace lbk
