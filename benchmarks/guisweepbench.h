#pragma once
// bench_gui --sweeps: the GUI over a store of 10,000 runs in 100 sweeps of 100 trials and 100M metric points.
#include <QString>

// Builds the store at path when it is missing (or rebuild), then prints the figures. Returns the exit code.
int runSweepBench(const QString &path, bool rebuild);
