#include "engine/threads.h"

#include <algorithm>
#include <thread>

#include <ATen/Parallel.h>
#include <dlfcn.h>

namespace lbk {

namespace {
// Looked up at run time: the BLAS is whichever libblas.so.3 the system's alternatives point at.
template <typename F>
F blasSymbol(const char *name)
{
    return reinterpret_cast<F>(::dlsym(RTLD_DEFAULT, name));
}
} // namespace

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
    if (auto set = blasSymbol<void (*)(int)>("openblas_set_num_threads"))
        set(std::max(1, threads));
}

int blasThreads()
{
    auto get = blasSymbol<int (*)()>("openblas_get_num_threads");
    return get ? get() : -1;
}

} // namespace lbk
