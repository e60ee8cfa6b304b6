#pragma once
// No exception leaves the engine's entry points: LibTorch's (c10::Error) and any other become an Error naming
// what went wrong. LibTorch: include only from engine translation units.
#include <exception>
#include <string>

#include <c10/util/Exception.h>

#include "util/result.h"

namespace lbk {

template <typename T, typename Body>
Result<T> guarded(Body &&body)
{
    try {
        return body();
    } catch (const c10::Error &e) {
        return Error{std::string("LibTorch: ") + e.what_without_backtrace()};
    } catch (const std::exception &e) {
        return Error{e.what()};
    }
}

} // namespace lbk
