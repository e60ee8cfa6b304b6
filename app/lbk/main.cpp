// lbk: Labbook's command line. Composition only: the commands live in core/cli. This program links the core
// alone, so the commands people type all day (runs, show, compare, validate, targets) start in milliseconds;
// the ones that need LibTorch are handed to lbk-engine beside it (see core/cli/invocation.h).
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "cli/invocation.h"
#include "launch/process.h"

namespace {

// Replaces this process with lbk-engine, same arguments: the pid a launcher recorded stays the worker's.
class ExecEngine : public lbk::cli::EngineCommands {
public:
    explicit ExecEngine(char **argv) : m_argv(argv) {}
    int run(const lbk::cli::Invocation &inv) override
    {
        // OpenMP's threads spin for the cores between parallel regions (libgomp's default): the fastest for an
        // engine alone, but CPU-bound engines at once then slow each other far more than sharing the cores
        // explains. Two AdamW bag runs took 43 s for both spinning, 22 s with the second one passive and 15 s
        // with both, while one alone takes 9 s spinning and 17.5 s passively (docs/BENCHMARKS.md). So an engine
        // started while another runs (or is starting) on this machine waits passively. libgomp reads this when it
        // loads, so it is set before the exec; a value the user set wins.
        if (lbk::otherEnginesRunning() > 0)
            ::setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
        // A worker hears `lbk cancel` only once its handlers are in (enginecommands.cpp): until then a SIGTERM
        // waits, blocked, instead of killing it while LibTorch loads (the run then ended interrupted, not cancelled).
        if (inv.command == "worker")
            lbk::holdStopSignals();
        const auto engine = lbk::engineExecutable();
        m_argv[0] = const_cast<char *>(engine.c_str());
        ::execv(engine.c_str(), m_argv);
        std::fprintf(stderr, "lbk: %s\n", lbk::engineUnavailable(engine, errno).c_str());
        return lbk::cli::kFailed;
    }

private:
    char **m_argv;
};

} // namespace

int main(int argc, char **argv)
{
    lbk::cli::reportUncaughtExceptions();
    CLI::App app{"lbk: train, evaluate and record text classifiers (Labbook's command line)", "lbk"};
    lbk::cli::Invocation inv;
    lbk::cli::defineCommands(app, inv);
    if (const auto exitCode = lbk::cli::parseCommandLine(app, argc, argv))
        return *exitCode;
    ExecEngine engine(argv);
    return lbk::cli::runCommand(inv, engine);
}
