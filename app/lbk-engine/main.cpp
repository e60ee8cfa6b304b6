// lbk-engine: the half of lbk that links LibTorch (the worker, predict, eval, export --format model). lbk execs
// it with its own arguments; it understands every lbk command, so it can also be run by hand.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "cli/invocation.h"
#include "engine/enginecommands.h"

int main(int argc, char **argv)
{
    // No exception is meant to reach here; if one does, say what it was instead of a bare abort.
    std::set_terminate([] {
        try {
            if (auto e = std::current_exception())
                std::rethrow_exception(e);
        } catch (const std::exception &e) {
            std::fprintf(stderr, "lbk: internal error: %s\n", e.what());
        } catch (...) {
            std::fprintf(stderr, "lbk: internal error\n");
        }
        std::_Exit(1);
    });
    CLI::App app{"lbk: train, evaluate and record text classifiers (Labbook's engine)", "lbk"};
    lbk::cli::Invocation inv;
    lbk::cli::defineCommands(app, inv);
    CLI11_PARSE(app, argc, argv);
    lbk::cli::LocalEngine engine;
    return lbk::cli::runCommand(inv, engine);
}
