#pragma once
// Mixed precision: whether this machine computes in bfloat16 natively, and the autocast switch, written once for
// the LibTorch versions the engine builds against. LibTorch: include only from engine translation units.

#include <fstream>
#include <string>

#include <ATen/autocast_mode.h>

#include "engine/torchversion.h"

namespace lbk {

// training.precision "bf16": autocast regions in bfloat16 where the hardware computes in it natively (CPUs
// with AVX512-BF16 or AMX, CUDA). Elsewhere bf16 is emulated and slower than fp32, so the run falls back to
// fp32 with a logged warning rather than failing: the experiment stays portable between machines.
inline bool cpuHasNativeBf16()
{
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("flags", 0) == 0)
            return line.find(" avx512_bf16") != std::string::npos || line.find(" amx_bf16") != std::string::npos;
    return false;
}

// LibTorch 2.4 replaced the per-device autocast switches (set_enabled, set_cpu_enabled, set_autocast_gpu_dtype,
// ...) by ones that take the device type; the old ones still compile there but warn at every call. The engine
// builds against Debian's 1.13 and against the PyTorch wheel of a GPU machine (docs/GPU.md).
#if LABBOOK_TORCH_AT_LEAST(2, 4)
inline void setAutocast(bool cuda, bool on) // in bfloat16, the engine's one autocast type
{
    const auto device = cuda ? at::kCUDA : at::kCPU;
    at::autocast::set_autocast_dtype(device, at::kBFloat16);
    at::autocast::set_autocast_enabled(device, on);
}
inline bool cudaAutocastEnabled() { return at::autocast::is_autocast_enabled(at::kCUDA); }
inline bool autocastActive() { return at::autocast::is_autocast_enabled(at::kCPU) || cudaAutocastEnabled(); }
#else
inline void setAutocast(bool cuda, bool on)
{
    if (cuda) {
        at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
        at::autocast::set_enabled(on);
    } else {
        at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
        at::autocast::set_cpu_enabled(on);
    }
}
inline bool cudaAutocastEnabled() { return at::autocast::is_enabled(); }
inline bool autocastActive() { return at::autocast::is_cpu_enabled() || cudaAutocastEnabled(); }
#endif

// CUDA's autocast off for one region, back on after it: autocast sends a packed GRU to cuDNN in fp16 whatever
// dtype it was asked for (cuDNN's RNN has no bf16 path there), so under "bf16" the recurrence stays in fp32.
class CudaAutocastPause {
public:
    explicit CudaAutocastPause(bool when) : m_paused(when && cudaAutocastEnabled())
    {
        if (m_paused)
            setAutocast(/*cuda=*/true, false);
    }
    ~CudaAutocastPause()
    {
        if (m_paused)
            setAutocast(/*cuda=*/true, true);
    }
    CudaAutocastPause(const CudaAutocastPause &) = delete;
    CudaAutocastPause &operator=(const CudaAutocastPause &) = delete;

private:
    bool m_paused;
};

class AutocastGuard {
public:
    AutocastGuard(bool on, bool cuda) : m_on(on), m_cuda(cuda)
    {
        if (!m_on)
            return;
        setAutocast(m_cuda, true);
        at::autocast::increment_nesting();
    }
    ~AutocastGuard()
    {
        if (!m_on)
            return;
        if (at::autocast::decrement_nesting() == 0)
            at::autocast::clear_cache();
        setAutocast(m_cuda, false);
    }
    AutocastGuard(const AutocastGuard &) = delete;
    AutocastGuard &operator=(const AutocastGuard &) = delete;

private:
    bool m_on, m_cuda;
};

} // namespace lbk
