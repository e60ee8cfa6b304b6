#include "processmeasure.h"

#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace lbkbench {

ProcessSample runMeasured(const std::vector<std::string> &args, const std::string &outFile)
{
    std::vector<char *> argv;
    for (const auto &a : args)
        argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    const auto t = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int out = outFile.empty() ? ::open("/dev/null", O_WRONLY)
                                        : ::open(outFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(out, 1);
        ::dup2(out, 2);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ProcessSample s;
    if (pid < 0)
        return s;
    int status = 0;
    struct rusage usage {};
    ::wait4(pid, &status, 0, &usage);
    s.wallS = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    s.cpuS = double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
             double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    s.peakRssMb = double(usage.ru_maxrss) / 1024.0;
    s.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return s;
}

double loadAverage()
{
    std::ifstream in("/proc/loadavg");
    double one = 0;
    in >> one;
    return one;
}

} // namespace lbkbench
