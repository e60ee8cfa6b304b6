#include "launch/remoteshell.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "launch/placeholders.h"
#include "launch/shellquote.h"

extern char **environ;

namespace lbk {

namespace fs = std::filesystem;

namespace {

struct Pipe {
    int fd[2] = {-1, -1};
    bool open() { return ::pipe2(fd, O_CLOEXEC) == 0; }
    void closeBoth()
    {
        for (int &f : fd)
            if (f >= 0) {
                ::close(f);
                f = -1;
            }
    }
};

void ignoreSigpipe()
{
    // Writing a command's stdin after it exited must be an error code, not the end of lbk.
    static const bool once = [] {
        std::signal(SIGPIPE, SIG_IGN);
        return true;
    }();
    (void)once;
}

Result<pid_t> spawn(const std::vector<std::string> &argv, int in, int out, int err)
{
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in, 0);
    posix_spawn_file_actions_adddup2(&actions, out, 1);
    posix_spawn_file_actions_adddup2(&actions, err, 2);
    std::vector<std::string> copy = argv;
    std::vector<char *> cargv;
    for (auto &a : copy)
        cargv.push_back(a.data());
    cargv.push_back(nullptr);
    // A process group of its own: Ctrl-C at the terminal is lbk's to act on (cancel the run, say so); ssh sent it
    // too dropped the connection under lbk ("connection lost ... reconnecting").
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, copy[0].c_str(), &actions, &attr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        return Error{"cannot start " + argv[0] + ": " + std::strerror(rc)};
    return pid;
}

int decodeStatus(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

void setNonBlocking(int fd)
{
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Reads what is available; false at end of file.
bool drain(int fd, std::string &into)
{
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            into.append(buf, size_t(n));
            continue;
        }
        if (n == 0)
            return false;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK;
    }
}

} // namespace

namespace {

// Starts argv with stdin from inputFile (when given) or the in pipe, stdout and stderr into out and err; the
// child's ends are closed here, the parent's stay open (all closed on failure).
Result<pid_t> startWithPipes(const std::vector<std::string> &argv, const fs::path &inputFile, Pipe &in, Pipe &out,
                             Pipe &err)
{
    int fileIn = -1;
    if (!inputFile.empty()) {
        fileIn = ::open(inputFile.c_str(), O_RDONLY | O_CLOEXEC);
        if (fileIn < 0)
            return Error{inputFile.string() + ": cannot read: " + std::strerror(errno)};
    }
    if ((fileIn < 0 && !in.open()) || !out.open() || !err.open()) {
        if (fileIn >= 0)
            ::close(fileIn);
        in.closeBoth(), out.closeBoth(), err.closeBoth();
        return Error{std::string("cannot create pipes: ") + std::strerror(errno)};
    }
    auto pid = spawn(argv, fileIn >= 0 ? fileIn : in.fd[0], out.fd[1], err.fd[1]);
    if (fileIn >= 0)
        ::close(fileIn);
    if (in.fd[0] >= 0) {
        ::close(in.fd[0]);
        in.fd[0] = -1;
    }
    ::close(out.fd[1]);
    ::close(err.fd[1]);
    out.fd[1] = err.fd[1] = -1;
    if (!pid)
        in.closeBoth(), out.closeBoth(), err.closeBoth();
    return pid;
}

std::atomic<bool> g_stopCommands{false};

// Writes input to the child and reads its stdout and stderr until both close, or kills it at the deadline.
void exchange(pid_t pid, const std::string &input, double timeoutSeconds, Pipe &in, Pipe &out, Pipe &err,
              ProcessOutput &result)
{
    int writeFd = in.fd[1];
    size_t written = 0;
    const auto closeInput = [&] {
        ::close(writeFd);
        writeFd = in.fd[1] = -1;
    };
    if (writeFd >= 0 && input.empty())
        closeInput();
    if (writeFd >= 0)
        setNonBlocking(writeFd);
    setNonBlocking(out.fd[0]);
    setNonBlocking(err.fd[0]);
    bool outOpen = true, errOpen = true;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeoutSeconds);
    while (outOpen || errOpen || writeFd >= 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || g_stopCommands.load()) {
            (left.count() <= 0 ? result.timedOut : result.stopped) = true;
            ::kill(pid, SIGKILL);
            return;
        }
        pollfd fds[3];
        int n = 0;
        if (outOpen)
            fds[n++] = {out.fd[0], POLLIN, 0};
        if (errOpen)
            fds[n++] = {err.fd[0], POLLIN, 0};
        if (writeFd >= 0)
            fds[n++] = {writeFd, POLLOUT, 0};
        const int rc = ::poll(fds, nfds_t(n), int(std::min<int64_t>(left.count(), 1000)));
        if (rc < 0 && errno != EINTR)
            return;
        for (int i = 0; i < n; ++i) {
            if (!fds[i].revents)
                continue;
            if (fds[i].fd == out.fd[0] && outOpen)
                outOpen = drain(out.fd[0], result.out);
            else if (fds[i].fd == err.fd[0] && errOpen)
                errOpen = drain(err.fd[0], result.err);
            else if (fds[i].fd == writeFd) {
                const ssize_t w = ::write(writeFd, input.data() + written, input.size() - written);
                if (w > 0)
                    written += size_t(w);
                if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size())
                    closeInput();
            }
        }
    }
}

} // namespace

void stopCommands()
{
    g_stopCommands.store(true);
}

bool commandsStopped()
{
    return g_stopCommands.load();
}

CommandsForCleanUp::CommandsForCleanUp() : m_wasStopped(g_stopCommands.exchange(false)) {}

CommandsForCleanUp::~CommandsForCleanUp()
{
    if (m_wasStopped)
        g_stopCommands.store(true);
}

Result<ProcessOutput> runProcess(const std::vector<std::string> &argv, const std::string &input, double timeoutSeconds,
                                 const fs::path &inputFile)
{
    ignoreSigpipe();
    if (argv.empty())
        return Error{"no command to run"};
    Pipe in, out, err;
    auto pid = startWithPipes(argv, inputFile, in, out, err);
    if (!pid)
        return pid.error();
    ProcessOutput result;
    exchange(*pid, input, timeoutSeconds, in, out, err, result);
    in.closeBoth(), out.closeBoth(), err.closeBoth();
    int status = 0;
    while (::waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exitCode = decodeStatus(status);
    return result;
}

// ----- StreamingProcess -----

Result<std::unique_ptr<StreamingProcess>> StreamingProcess::start(const std::vector<std::string> &argv)
{
    ignoreSigpipe();
    Pipe out, err;
    if (!out.open() || !err.open()) {
        out.closeBoth(), err.closeBoth();
        return Error{std::string("cannot create pipes: ") + std::strerror(errno)};
    }
    const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    auto pid = spawn(argv, devnull, out.fd[1], err.fd[1]);
    ::close(devnull);
    ::close(out.fd[1]);
    ::close(err.fd[1]);
    if (!pid) {
        ::close(out.fd[0]);
        ::close(err.fd[0]);
        return pid.error();
    }
    std::unique_ptr<StreamingProcess> p(new StreamingProcess);
    p->m_pid = *pid;
    p->m_out = out.fd[0];
    p->m_errFd = err.fd[0];
    setNonBlocking(p->m_out);
    setNonBlocking(p->m_errFd);
    return p;
}

StreamingProcess::~StreamingProcess()
{
    terminate();
}

void StreamingProcess::terminate()
{
    if (m_pid > 0 && !m_exited) {
        ::kill(pid_t(m_pid), SIGTERM);
        int status = 0;
        for (int i = 0; i < 50; ++i) {
            if (::waitpid(pid_t(m_pid), &status, WNOHANG) == pid_t(m_pid)) {
                m_exited = true;
                m_exitCode = decodeStatus(status);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (!m_exited) {
            ::kill(pid_t(m_pid), SIGKILL);
            ::waitpid(pid_t(m_pid), &status, 0);
            m_exited = true;
            m_exitCode = decodeStatus(status);
        }
    }
    for (int *fd : {&m_out, &m_errFd})
        if (*fd >= 0) {
            ::close(*fd);
            *fd = -1;
        }
}

bool StreamingProcess::read(std::string &out, std::chrono::milliseconds timeout)
{
    if (m_out < 0 && m_errFd < 0) {
        if (!m_exited) {
            int status = 0;
            if (::waitpid(pid_t(m_pid), &status, 0) == pid_t(m_pid))
                m_exitCode = decodeStatus(status);
            m_exited = true;
        }
        return false;
    }
    pollfd fds[2];
    int n = 0;
    if (m_out >= 0)
        fds[n++] = {m_out, POLLIN, 0};
    if (m_errFd >= 0)
        fds[n++] = {m_errFd, POLLIN, 0};
    const int rc = ::poll(fds, nfds_t(n), int(timeout.count()));
    if (rc <= 0)
        return true;
    for (int i = 0; i < n; ++i) {
        if (!fds[i].revents)
            continue;
        if (fds[i].fd == m_out && !drain(m_out, out)) {
            ::close(m_out);
            m_out = -1;
        } else if (fds[i].fd == m_errFd && !drain(m_errFd, m_err)) {
            ::close(m_errFd);
            m_errFd = -1;
        }
    }
    if (m_err.size() > 65536)
        m_err.erase(0, m_err.size() - 65536);
    return true;
}

// ----- RemoteShell -----

std::string remoteWord(const std::string &path)
{
    if (path == "~")
        return "\"$HOME\"";
    if (path.rfind("~/", 0) == 0)
        return "\"$HOME\"/" + shellQuote(path.substr(2));
    return shellQuote(path);
}

std::string RemoteShell::prelude() const
{
    // Run folders, staged data and logs on the target are the user's alone, as they are here.
    std::string s = "umask 077\n";
    for (const auto &[k, v] : m_target.env)
        s += "export " + k + "=" + shellQuote(v) + "\n"; // keys are checked names (targets.cpp)
    return s;
}

std::vector<std::string> RemoteShell::argv(const std::string &scriptIn) const
{
    const std::string script = prelude() + scriptIn;
    const std::string remoteCommand = "sh -c " + shellQuote(script);
    const auto &t = m_target;
    if (t.ssh) {
        const auto &e = *t.ssh;
        std::vector<std::string> a = {"ssh", "-T", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                                      "-o", "ConnectTimeout=" + std::to_string(e.connectTimeout),
                                      "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
                                      "-o", "LogLevel=ERROR"};
        if (!e.knownHosts.empty())
            a.insert(a.end(), {"-o", "UserKnownHostsFile=" + e.knownHosts, "-o", "GlobalKnownHostsFile=/dev/null"});
        if (!e.identityFile.empty())
            a.insert(a.end(), {"-i", e.identityFile, "-o", "IdentitiesOnly=yes"});
        for (const auto &o : e.options)
            a.insert(a.end(), {"-o", o});
        a.insert(a.end(), {"-p", std::to_string(e.port)});
        if (!e.user.empty())
            a.insert(a.end(), {"-l", e.user});
        a.insert(a.end(), {"--", e.host, remoteCommand});
        return a;
    }
    if (t.type == TargetType::Command) {
        std::vector<std::string> a;
        std::map<std::string, std::string> values = t.vars;
        values["cmd"] = remoteCommand; // one pass: a value that itself holds "{cmd}" stays as it is
        for (const std::string &part : t.command)
            a.push_back(substitute(part, values));
        return a;
    }
    return {"sh", "-c", script};
}

Result<ProcessOutput> RemoteShell::run(const std::string &script, const std::string &input, double timeoutSeconds,
                                       const fs::path &inputFile) const
{
    auto r = runProcess(argv(script), input, timeoutSeconds, inputFile);
    if (r) {
        r->err = sanitize(r->err);
        r->out = sanitize(r->out);
    }
    return r;
}

namespace {
// Whether standard error holds ssh's own complaint: exit code 255 is also what a remote command may return
// (sbatch refusing an option does), which is no connection problem.
bool sshSaidIt(const std::string &err)
{
    for (const char *sign : {"ssh: ", "Permission denied", "Host key verification failed", "host key",
                             "kex_exchange_identification", "Connection closed", "Connection refused",
                             "Connection timed out", "Connection reset", "Could not resolve", "not responding",
                             "client_loop", "Broken pipe"})
        if (err.find(sign) != std::string::npos)
            return true;
    return err.empty();
}
} // namespace

std::string sshAdvice(const Target &t, const std::string &err)
{
    if (!t.ssh || !sshSaidIt(err))
        return {};
    const SshEndpoint &e = *t.ssh;
    const std::string keys = "the targets file's " + t.name + (t.type == TargetType::Slurm ? ".ssh" : "");
    const std::string where = e.host + " port " + std::to_string(e.port);
    std::string advice;
    if (err.find("host key") != std::string::npos || err.find("Host key verification failed") != std::string::npos)
        advice = "the host's key is not in " + (e.knownHosts.empty() ? "ssh's known_hosts files" : e.knownHosts) +
                 ": check its fingerprint and add it (ssh-keyscan -p " + std::to_string(e.port) + " " + e.host +
                 "); Labbook never accepts a host key by itself";
    else if (err.find("not accessible") != std::string::npos)
        advice = "the key file named by identity_file (" + keys + ") cannot be read";
    else if (err.find("Permission denied") != std::string::npos)
        advice = "the host refused the login: check user and the key in identity_file (" + keys + ")";
    else if (err.find("Connection refused") != std::string::npos)
        advice = "nothing answers at " + where + ": check host and port (" + keys + ") and that sshd runs there";
    else if (err.find("Could not resolve") != std::string::npos)
        advice = "the host name " + e.host + " does not resolve: check host (" + keys + ")";
    else if (err.find("timed out") != std::string::npos)
        advice = "no answer from " + where + " within connect_timeout (" + std::to_string(e.connectTimeout) + " s)";
    return "ssh could not connect" + (advice.empty() ? std::string() : "; " + advice);
}

Result<std::string> RemoteShell::check(const std::string &what, const std::string &script, const std::string &input,
                                       double timeoutSeconds, const fs::path &inputFile) const
{
    auto r = run(script, input, timeoutSeconds, inputFile);
    if (!r)
        return Error{m_target.name + ": " + what + ": " + r.message()};
    if (r->stopped)
        return Error{m_target.name + ": " + what + ": stopped (lbk was asked to stop)"};
    if (r->timedOut)
        return Error{m_target.name + " (" + m_target.describe() + "): " + what + ": no answer within " +
                     std::to_string(int(timeoutSeconds)) + " s"};
    if (r->exitCode != 0) {
        std::string err = r->err;
        while (!err.empty() && (err.back() == '\n' || err.back() == '\r'))
            err.pop_back();
        std::string hint;
        if (r->exitCode == 255)
            if (const std::string advice = sshAdvice(m_target, err); !advice.empty())
                hint = " (" + advice + ")";
        return Error{m_target.name + " (" + m_target.describe() + "): " + what + " failed with exit code " +
                     std::to_string(r->exitCode) + hint + (err.empty() ? "" : ": " + err)};
    }
    return r->out;
}

std::string RemoteShell::sanitize(std::string text) const
{
    if (!m_target.ssh || m_target.ssh->identityFile.empty())
        return text;
    const std::string &key = m_target.ssh->identityFile;
    for (size_t pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos))
        text.replace(pos, key.size(), "<identity file>");
    return text;
}

} // namespace lbk
