#pragma once
// The engine's side of lbk's command line: the commands that need LibTorch, run in this process and printed for
// a person. lbk-engine's main hands them to runCommand (core/cli/invocation.h). No LibTorch in this header.
#include "cli/invocation.h"

namespace lbk::cli {

class LocalEngine : public EngineCommands {
public:
    int run(const Invocation &inv) override;
};

} // namespace lbk::cli
