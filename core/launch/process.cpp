#include "launch/process.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace lbk {

namespace fs = std::filesystem;

int64_t processStartTime(int64_t pid)
{
    if (pid <= 0)
        return 0;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!in || !std::getline(in, stat))
        return 0;
    // The command name (field 2) may hold spaces and parentheses: fields after it start past the last ')'.
    const auto close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size())
        return 0;
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    rest >> field; // field 3: state
    if (field == "Z" || field == "X")
        return 0;
    for (int i = 4; i <= 22; ++i)
        rest >> field;
    try {
        return std::stoll(field);
    } catch (...) {
        return 0;
    }
}

bool processAlive(int64_t pid, int64_t startTime)
{
    const int64_t now = processStartTime(pid);
    return now != 0 && (startTime == 0 || now == startTime);
}

int otherProcessesNamed(const std::string &name, const std::string &firstArg)
{
    const std::string self = std::to_string(::getpid());
    int count = 0;
    std::error_code ec;
    for (auto it = fs::directory_iterator("/proc", ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
        const std::string pid = it->path().filename().string();
        if (pid == self || pid.find_first_not_of("0123456789") != std::string::npos)
            continue;
        std::ifstream comm(it->path() / "comm");
        std::string program, argv0, argv1;
        if (!std::getline(comm, program) || program != name)
            continue;
        if (!firstArg.empty()) {
            std::ifstream cmdline(it->path() / "cmdline");
            if (!std::getline(cmdline, argv0, '\0') || !std::getline(cmdline, argv1, '\0') || argv1 != firstArg)
                continue;
        }
        count += processStartTime(std::stoll(pid)) != 0; // a zombie (start time 0) holds no core
    }
    return count;
}

int otherEnginesRunning()
{
    return otherProcessesNamed("lbk-engine") + otherProcessesNamed("lbk", "worker");
}

std::string localHostName()
{
    char buf[256] = {0};
    ::gethostname(buf, sizeof buf - 1);
    return buf;
}

fs::path currentExecutable()
{
    std::error_code ec;
    auto p = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : p;
}

fs::path lbkExecutable()
{
    if (const char *env = std::getenv("LABBOOK_LBK"); env && *env)
        return env;
    const fs::path beside = currentExecutable().parent_path() / "lbk";
    if (std::error_code ec; fs::exists(beside, ec))
        return beside;
    if (const char *path = std::getenv("PATH")) {
        std::string p = path;
        size_t start = 0;
        while (start <= p.size()) {
            size_t colon = p.find(':', start);
            const fs::path candidate = fs::path(p.substr(start, colon - start)) / "lbk";
            if (::access(candidate.c_str(), X_OK) == 0)
                return candidate;
            if (colon == std::string::npos)
                break;
            start = colon + 1;
        }
    }
    return "lbk";
}

fs::path engineExecutable()
{
    if (const char *env = std::getenv("LABBOOK_ENGINE"); env && *env)
        return env;
    return currentExecutable().parent_path() / "lbk-engine";
}

namespace {

sigset_t stopSignals()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    return set;
}

} // namespace

void holdStopSignals()
{
    const sigset_t set = stopSignals();
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
}

void releaseStopSignals()
{
    const sigset_t set = stopSignals();
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
}

std::string engineUnavailable(const fs::path &engine, int err)
{
    return "this command needs the engine, " + engine.string() + ", which cannot be started: " + std::strerror(err) +
           ". Build or install it beside lbk (./run.sh builds both), or point $LABBOOK_ENGINE at it.";
}

Status workerProgramsAvailable()
{
    const fs::path lbk = lbkExecutable();
    if (!lbk.has_parent_path())
        return okStatus(); // found nowhere: the start itself says so
    if (::access(lbk.c_str(), X_OK) != 0)
        return Error{"cannot start " + lbk.string() + ": " + std::strerror(errno)};
    // Beside the program a link names, as engineExecutable() finds it from /proc/self/exe in the started lbk.
    std::error_code ec;
    const fs::path real = fs::canonical(lbk, ec);
    const char *env = std::getenv("LABBOOK_ENGINE");
    const fs::path engine = env && *env ? fs::path(env) : (ec ? lbk : real).parent_path() / "lbk-engine";
    if (::access(engine.c_str(), X_OK) != 0)
        return Error{engineUnavailable(engine, errno)};
    return okStatus();
}

Result<ProcessInfo> spawnDetached(const fs::path &program, const std::vector<std::string> &args, const fs::path &logFile,
                                  StopSignals stop)
{
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, logFile.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // A fresh session, and default signal handling with nothing blocked but what `stop` holds, whatever the caller
    // had: a worker started by a thread that blocks SIGTERM must still hear `lbk cancel`.
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    const sigset_t held = stopSignals();
    posix_spawnattr_setsigmask(&attr, stop == StopSignals::Held ? &held : &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<std::string> argv = {program.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char *> cargv;
    for (auto &a : argv)
        cargv.push_back(a.data());
    cargv.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, program.c_str(), &actions, &attr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        return Error{"cannot start " + program.string() + ": " + std::strerror(rc)};
    ProcessInfo info;
    info.pid = pid;
    // The start time is read once the child exists in /proc; it is there as soon as posix_spawn returns.
    info.startTime = processStartTime(pid);
    return info;
}

bool reapChild(int64_t pid, int *exitCode)
{
    int status = 0;
    const pid_t r = ::waitpid(pid_t(pid), &status, WNOHANG);
    if (r != pid_t(pid))
        return false;
    if (exitCode)
        *exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return true;
}

} // namespace lbk
