#include "engine/threads.h"

#include <algorithm>
#include <thread>

#include <ATen/Parallel.h>
#include <dlfcn.h>

namespace lbk {

namespace {
// Looked up at run time, once: the BLAS is whichever libblas.so.3 the system's alternatives point at. The fused
// GRU reads and sets the count around every layer, so no dlsym per call.
using SetThreads = void (*)(int);
using GetThreads = int (*)();
using GetParallel = int (*)();
SetThreads openblasSet()
{
    static const auto fn = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    return fn;
}
GetThreads openblasGet()
{
    static const auto fn = reinterpret_cast<GetThreads>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    return fn;
}
GetParallel openblasParallel()
{
    static const auto fn = reinterpret_cast<GetParallel>(::dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
    return fn;
}
} // namespace

BlasThreading blasThreading()
{
    auto parallel = openblasParallel();
    if (!parallel)
        return BlasThreading::Unknown;
    switch (parallel()) {
    case 0:
        return BlasThreading::Sequential;
    case 1:
        return BlasThreading::Pthreads;
    default:
        return BlasThreading::OpenMP;
    }
}

int threadCount(int configured)
{
    return configured > 0 ? configured : int(std::max(1u, std::thread::hardware_concurrency()));
}

void setComputeThreads(int threads)
{
    threads = std::max(1, threads);
    at::set_num_threads(threads);
    setBlasThreads(threads);
}

void setBlasThreads(int threads)
{
    // OpenBLAS's OpenMP build follows OpenMP's count (at::set_num_threads) and runs on one thread inside a parallel
    // region; its setter would set OpenMP's count for LibTorch's kernels too.
    if (blasThreading() == BlasThreading::OpenMP)
        return;
    if (auto set = openblasSet())
        set(std::max(1, threads));
}

int blasThreads()
{
    // The OpenMP build uses OpenMP's count (its own counter lags, and stays put when that count is 1).
    if (blasThreading() == BlasThreading::OpenMP)
        return at::get_num_threads();
    auto get = openblasGet();
    return get ? get() : -1;
}

} // namespace lbk
