#pragma once
// Local processes: spawning a worker in its own session (so it outlives the GUI or terminal that started it)
// and telling whether a recorded process is still the same one (PID plus start time, against PID reuse).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "util/result.h"

namespace lbk {

struct ProcessInfo {
    int64_t pid = 0;
    int64_t startTime = 0; // clock ticks after boot, field 22 of /proc/PID/stat
};

// The start time of a live process, or 0 when there is none (or it is a zombie).
int64_t processStartTime(int64_t pid);
bool processAlive(int64_t pid, int64_t startTime);
std::string localHostName();
std::filesystem::path currentExecutable();
// The lbk program: $LABBOOK_LBK, else lbk beside the running program, else lbk on PATH.
std::filesystem::path lbkExecutable();
// The engine program that lbk hands its LibTorch commands to: $LABBOOK_ENGINE, else lbk-engine beside the
// running program.
std::filesystem::path engineExecutable();
// What lbk says when the engine cannot be started (errno err).
std::string engineUnavailable(const std::filesystem::path &engine, int err);
// Whether a local worker can start: lbkExecutable() and the engine it hands the worker to ($LABBOOK_ENGINE, else
// lbk-engine beside that lbk) are executable. Checked before a run is created, so none is left that never could.
Status workerProgramsAvailable();

// How many live processes other than this one run a program named `name` (/proc/PID/comm), with `firstArg` as
// their first argument when it is not empty.
int otherProcessesNamed(const std::string &name, const std::string &firstArg = {});
// The engines of other runs, scorings and evaluations on this machine, which share its cores with a new one:
// lbk-engine processes, and `lbk worker` processes about to become one (a sweep starts its trials together).
int otherEnginesRunning();

// Whether a spawned program hears SIGTERM and SIGINT from its first instruction (Default), or finds them blocked
// (Held) until it has installed its handlers and unblocks them (holdStopSignals/releaseStopSignals): a worker
// cancelled while LibTorch still loads ends as cancelled, not killed.
enum class StopSignals { Default, Held };

// Starts program with args in a new session, stdin from /dev/null, stdout and stderr appended to logFile.
Result<ProcessInfo> spawnDetached(const std::filesystem::path &program, const std::vector<std::string> &args,
                                  const std::filesystem::path &logFile, StopSignals stop = StopSignals::Default);

// Blocks SIGTERM and SIGINT in the calling thread (kept across exec: a signal that comes meanwhile waits), and
// unblocks them again once handlers are installed (a waiting one is delivered then).
void holdStopSignals();
void releaseStopSignals();

// Non-blocking reap of a child: returns true when it has exited, with its exit code (128+signal if killed).
bool reapChild(int64_t pid, int *exitCode);

} // namespace lbk
