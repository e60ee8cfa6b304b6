#include "engine/peers.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace lbk {

int slurmTaskRank()
{
    const char *tasks = std::getenv("SLURM_NTASKS"), *procId = std::getenv("SLURM_PROCID"),
               *step = std::getenv("SLURM_STEP_ID");
    if (!tasks || !procId || !step || std::atoi(tasks) <= 1)
        return -1;
    return std::atoi(procId);
}

Status PeerProcesses::startOne(int rank, std::vector<std::string> args)
{
    char exe[4096];
    const ssize_t len = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return Error{"cannot find this program (/proc/self/exe) to start the other training processes"};
    exe[len] = '\0';
    args.insert(args.begin(), exe);
    std::vector<char *> argv;
    for (auto &a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
        // A rank has nothing of its own to save: it dies with rank 0, whatever kills rank 0.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent)
            ::_exit(127);
        ::execv("/proc/self/exe", argv.data()); // still this program if its file was rebuilt meanwhile
        ::_exit(127);
    }
    if (pid < 0)
        return Error{"cannot start training process " + std::to_string(rank) + ": " + std::strerror(errno)};
    m_pids.push_back(pid);
    return Unit{};
}

void PeerProcesses::reap(bool success)
{
    for (pid_t pid : m_pids) {
        if (pid <= 0)
            continue;
        if (!success)
            ::kill(pid, SIGKILL);
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    m_pids.clear();
}

std::string PeerProcesses::dead(std::chrono::milliseconds grace)
{
    const auto until = std::chrono::steady_clock::now() + grace;
    do {
        for (size_t i = 0; i < m_pids.size(); ++i) {
            int st = 0;
            if (m_pids[i] > 0 && ::waitpid(m_pids[i], &st, WNOHANG) == m_pids[i]) {
                const std::string what = "training process " + std::to_string(i + 1) + " (pid " +
                                         std::to_string(m_pids[i]) + ") " +
                                         (WIFEXITED(st) ? "exited with status " + std::to_string(WEXITSTATUS(st))
                                                        : "was killed by signal " + std::to_string(WTERMSIG(st)));
                m_pids[i] = -1;
                return what;
            }
        }
        if (!m_pids.empty() && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (!m_pids.empty() && std::chrono::steady_clock::now() < until);
    return {};
}

} // namespace lbk
