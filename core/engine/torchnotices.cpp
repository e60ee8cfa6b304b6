#include "engine/torchnotices.h"

#include <string>

#include <c10/util/Exception.h>

namespace lbk {

namespace {

class NoticeFilter : public c10::WarningHandler {
public:
    void process(const c10::SourceLocation &where, const std::string &msg, const bool verbatim) override
    {
        if (msg.find("is in beta and the API may change") != std::string::npos)
            return;
        c10::WarningHandler::process(where, msg, verbatim);
    }
};

} // namespace

void dropTorchApiNotices()
{
    static NoticeFilter filter; // lives as long as the process: LibTorch keeps the pointer
    c10::Warning::set_warning_handler(&filter);
}

} // namespace lbk
