#pragma once
// The LibTorch version the engine is compiled against: Debian's 1.13 here and in CI, a PyTorch wheel's 2.x on a
// GPU machine (docs/GPU.md). Code that must differ between them asks LABBOOK_TORCH_AT_LEAST(major, minor).

#if __has_include(<torch/headeronly/version.h>) // where 2.9 moved it
#include <torch/headeronly/version.h>
#else
#include <torch/version.h>
#endif

#define LABBOOK_TORCH_AT_LEAST(major, minor) \
    (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))
