// lbk-engine: the half of lbk that links LibTorch (the worker, predict, eval, export --format model). lbk execs
// it with its own arguments; it understands every lbk command, so it can also be run by hand.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/invocation.h"
#include "engine/enginecommands.h"
#include "engine/torchnotices.h"

int main(int argc, char **argv)
{
    lbk::cli::reportUncaughtExceptions();
    lbk::dropTorchApiNotices();
    CLI::App app{"lbk: train, evaluate and record text classifiers (Labbook's engine)", "lbk"};
    lbk::cli::Invocation inv;
    lbk::cli::defineCommands(app, inv);
    if (const auto exitCode = lbk::cli::parseCommandLine(app, argc, argv))
        return *exitCode;
    lbk::cli::LocalEngine engine;
    return lbk::cli::runCommand(inv, engine);
}
