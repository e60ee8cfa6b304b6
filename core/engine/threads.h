#pragma once
// How many cores the engine's kernels use. LibTorch: include only from engine translation units.

namespace lbk {

// `configured` threads, or every core when it is 0 or less (the experiment's training.threads, --threads).
int threadCount(int configured);

// How the OpenBLAS under LibTorch's matmuls runs its threads (Debian: whichever build the libblas.so.3
// alternative selects). Its pthreads build keeps a thread pool of its own beside OpenMP's, and each pool spins
// while the other works: on two cores the encoder trained 2.2x slower than with the OpenMP build, which shares
// LibTorch's pool (docs/BENCHMARKS.md); packaging/bootstrap.sh selects the OpenMP build.
enum class BlasThreading { Unknown, Sequential, Pthreads, OpenMP };
BlasThreading blasThreading();

// Sets the threads of LibTorch's own kernels (at::set_num_threads, OpenMP) and of the BLAS under its matmuls.
// OpenBLAS's pthreads build has a pool at::set_num_threads does not reach: without this a run asked to use one
// core still ran every matmul on all of them, with the idle BLAS threads spinning in sched_yield. Python's
// torch.set_num_threads has the same gap; bench_engine starts the reference with OPENBLAS_NUM_THREADS so that
// both sides use the cores they are given.
void setComputeThreads(int threads);

// The BLAS's thread count (its OpenMP build: OpenMP's count, which it follows), or -1 when the BLAS has no such
// setting (not OpenBLAS).
int blasThreads();

// Sets the BLAS's thread count alone (no-op without OpenBLAS, and with its OpenMP build, which runs on one
// thread inside a parallel region by itself); for code that runs its own threads around matmuls too small to split.
void setBlasThreads(int threads);

} // namespace lbk
