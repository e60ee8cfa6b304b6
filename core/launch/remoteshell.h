#pragma once
// Running shell commands on a target: over ssh, on this machine (a Slurm cluster reached locally), or through a
// command template (`gcloud compute tpus tpu-vm ssh {name} --zone {zone} --command {cmd}`). The command is a
// POSIX sh script built with shellQuote() (launch/shellquote.h); it always runs as `sh -c '<script>'` on the
// other side so the remote login shell's dialect does not matter. No local shell is ever involved: programs
// are started from argv vectors.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "launch/targets.h"
#include "util/result.h"

namespace lbk {

struct ProcessOutput {
    int exitCode = -1; // 128+signal when killed; -1 when it could not be waited for
    std::string out, err;
    bool timedOut = false;
    bool stopped = false; // killed because stopCommands() was called (lbk itself was asked to stop)
};

// Asks every command runProcess() is waiting on, and every later one, to be killed at once: lbk calls it from its
// SIGINT/SIGTERM/SIGHUP handler while it prepares a target (async-signal-safe), so a stopped lbk fails the launch
// and leaves no command behind.
void stopCommands();
// Whether stopCommands() was called.
bool commandsStopped();
// Lets commands run again for the scope's life (the one short command that undoes what a stopped step began on a
// host), then stops them again as they were.
class CommandsForCleanUp {
public:
    CommandsForCleanUp();
    ~CommandsForCleanUp();
    CommandsForCleanUp(const CommandsForCleanUp &) = delete;
    CommandsForCleanUp &operator=(const CommandsForCleanUp &) = delete;

private:
    bool m_wasStopped;
};

// Runs argv (found on PATH), feeding it input (or the file inputFile) on stdin, and collects its output.
// A process still running after timeoutSeconds is killed (timedOut set).
Result<ProcessOutput> runProcess(const std::vector<std::string> &argv, const std::string &input = {},
                                 double timeoutSeconds = 60, const std::filesystem::path &inputFile = {});

// A child whose stdout is read as it comes (the journal stream). Killed (SIGTERM, then SIGKILL) on destruction.
class StreamingProcess {
public:
    static Result<std::unique_ptr<StreamingProcess>> start(const std::vector<std::string> &argv);
    ~StreamingProcess();
    StreamingProcess(const StreamingProcess &) = delete;
    StreamingProcess &operator=(const StreamingProcess &) = delete;

    // Waits up to timeout for output; appends what came on stdout to out (stderr is kept, see errors()).
    // Returns false once the child has exited and both pipes are drained; exitCode() is then valid.
    bool read(std::string &out, std::chrono::milliseconds timeout);
    int exitCode() const { return m_exitCode; }
    const std::string &errors() const { return m_err; }
    int64_t pid() const { return m_pid; }
    void terminate();

private:
    StreamingProcess() = default;
    int64_t m_pid = 0;
    int m_out = -1, m_errFd = -1;
    int m_exitCode = -1;
    bool m_exited = false;
    std::string m_err;
};

class RemoteShell {
public:
    explicit RemoteShell(const Target &target) : m_target(target) {}
    // The local argv that runs script on the target.
    std::vector<std::string> argv(const std::string &script) const;
    Result<ProcessOutput> run(const std::string &script, const std::string &input = {}, double timeoutSeconds = 120,
                              const std::filesystem::path &inputFile = {}) const;
    // run(), but an exit code other than 0 is an error naming what failed (sanitized stderr included).
    Result<std::string> check(const std::string &what, const std::string &script, const std::string &input = {},
                              double timeoutSeconds = 120, const std::filesystem::path &inputFile = {}) const;
    // Messages for people and logs: the identity file path replaced by "<identity file>".
    std::string sanitize(std::string text) const;
    // Exports of the target's env, one per line, to start every script with.
    std::string prelude() const;
    const Target &target() const { return m_target; }

private:
    const Target &m_target;
};

// ssh's complaint err (its exit code 255) in a person's words, naming the key of the targets file to look at:
// "ssh could not connect; the host refused the login: check user and the key in identity_file (targets: gpu.*)".
// Empty when err holds no complaint of ssh's (a remote command's own exit code 255).
std::string sshAdvice(const Target &target, const std::string &err);

// A remote path as a shell word: "~/x" becomes "$HOME"/'x'; anything else is quoted whole.
std::string remoteWord(const std::string &path);

} // namespace lbk
