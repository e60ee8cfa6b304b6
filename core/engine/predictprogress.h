#pragma once
// Where an interrupted `lbk predict` stopped, so that `--resume` continues it: beside the output's partial file
// (OUT.partial), OUT.partial.progress holds the inputs it scores (the weights' checksum, the data file's size and
// modification time, the options that change a row) and, after every chunk, the input lines consumed, the bytes
// of the partial file that hold their rows, and the counts so far. A resumed run truncates the partial file to
// those bytes and reads on from that line; chunks are the same as in an uninterrupted run, so its output is the
// same byte for byte. No LibTorch here.
#include <filesystem>
#include <string>

#include "engine/engine.h"
#include "util/result.h"

namespace lbk {

struct PredictProgress {
    int64_t line = 0;  // input lines consumed (from the file's start); of a table, the papers read
    int64_t bytes = 0; // bytes of the partial output that hold their rows (a CSV header included)
    PredictResult counts; // rows, skipped, nonFinite and the first of each
};

std::filesystem::path progressFileOf(const std::filesystem::path &partial);

// Written to a temporary name and renamed, so a kill mid-write leaves the previous progress.
Status savePredictProgress(const std::filesystem::path &file, const std::string &inputs, const PredictProgress &p);

// The progress saved by a run of the same inputs; an error saying why there is none to continue from ("it is
// missing", "it is damaged", "it was written for other inputs: --top-k (2 then, 3 now) changed").
Result<PredictProgress> loadPredictProgress(const std::filesystem::path &file, const std::string &inputs);

} // namespace lbk
