#pragma once
// How many cores the engine's kernels use. LibTorch: include only from engine translation units.

namespace lbk {

// `configured` threads, or every core when it is 0 or less (the experiment's training.threads, --threads).
int threadCount(int configured);

// Sets the threads of LibTorch's own kernels (at::set_num_threads, OpenMP) and of the BLAS under its matmuls.
// Debian's LibTorch calls OpenBLAS (the pthreads build), whose thread pool at::set_num_threads does not reach:
// without this a run asked to use one core still ran every matmul on all of them, with the idle BLAS threads
// spinning in sched_yield. Python's torch.set_num_threads has the same gap; bench_engine starts the reference
// with OPENBLAS_NUM_THREADS so that both sides use the cores they are given.
void setComputeThreads(int threads);

// The BLAS's own thread count, or -1 when the BLAS has no such setting (not OpenBLAS).
int blasThreads();

// Sets the BLAS's thread count alone (no-op without OpenBLAS); for code that runs its own threads around
// matmuls too small to split.
void setBlasThreads(int threads);

} // namespace lbk
