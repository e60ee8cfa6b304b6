#pragma once
// One program run as a benchmark sees it: started with fork/exec, its output sent to a file (or discarded), waited
// for with wait4, so the figures cover the whole process tree it waited for (lbk's worker included).
#include <string>
#include <vector>

namespace lbkbench {

struct ProcessSample {
    int exitCode = -1;    // -1: killed by a signal or could not start
    double wallS = 0;     // start to exit
    double cpuS = 0;      // user + system, children waited for included
    double peakRssMb = 0; // the largest resident set of the process and the children it waited for
};

// Runs args[0] (a path) with args; stdout (and stderr) to outFile, "" for /dev/null.
ProcessSample runMeasured(const std::vector<std::string> &args, const std::string &outFile = {});

// The 1-minute load average, as /proc/loadavg gives it (the machine's load beside a figure).
double loadAverage();

} // namespace lbkbench
