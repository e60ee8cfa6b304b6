#pragma once
// The files of a run's folder (<store>.runs/<uid>/), named in one place: the worker writes them, lbk predict,
// export, resume and record read or bring them, the store's ingest names them as artifacts. docs/STORE.md lists
// them for users.
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace lbk::runfiles {

inline constexpr const char *kExperiment = "experiment.json"; // the resolved config the worker trains by
inline constexpr const char *kLabels = "labels.json";         // the label names, in the model's output order
inline constexpr const char *kTokenizer = "tokenizer.model";  // a sentencepiece model trained for the run
inline constexpr const char *kHfFolder = "hf";                // a pre-trained encoder's config and tokenizer files
inline constexpr const char *kCorpusKey = "corpus.key";       // what an MLM run's corpus was (files, sizes, times)
inline constexpr const char *kJournal = "journal.jsonl";      // the run's events, as the worker wrote them
inline constexpr const char *kRemoteInfo = "remote.json";     // where a remote run runs (target, folder, job)
inline constexpr const char *kCheckpoints = "checkpoints";    // best.pt, last.pt and kept step-N.pt

// What a run's model and a resume are built from besides its checkpoints (engine/loadedmodel.cpp, the trainer):
// what lbk pull and lbk record bring. The journal comes by its own way; what says where and how it ran (remote.json,
// worker.pid, logs) stays behind.
inline constexpr const char *kModelFiles[] = {kExperiment, kLabels, kTokenizer, kCorpusKey, kHfFolder};

// Where a run's tokenizer is: its own sentencepiece model, or a pre-trained encoder's files.
inline const char *tokenizerEntry(bool pretrainedEncoder) { return pretrainedEncoder ? kHfFolder : kTokenizer; }

// "checkpoints/<kind>.pt", relative to the run's folder (as the journal's checkpoint events name it): kind "best"
// (the best evaluation's weights), "last" (resumable: the optimizer's state and counters too) or keptName(step).
inline std::string checkpointEntry(std::string_view kind)
{
    return std::string(kCheckpoints) + "/" + std::string(kind) + ".pt";
}
inline std::filesystem::path checkpoint(const std::filesystem::path &runDir, std::string_view kind)
{
    return runDir / checkpointEntry(kind);
}

// The weights kept at an evaluation step (evaluation.keep_checkpoints): checkpoints/step-N.pt.
inline constexpr std::string_view kKeptPrefix = "step-";
inline std::string keptName(int64_t step) { return std::string(kKeptPrefix) + std::to_string(step); }

// The step of a kept checkpoint's file name ("step-120.pt"), none for any other file ("step-x.pt" included).
inline std::optional<int64_t> keptStep(const std::filesystem::path &file)
{
    const std::string stem = file.stem().string();
    if (!stem.starts_with(kKeptPrefix) || file.extension() != ".pt")
        return std::nullopt;
    int64_t step = 0;
    const char *first = stem.data() + kKeptPrefix.size(), *last = stem.data() + stem.size();
    const auto [end, error] = std::from_chars(first, last, step);
    return error == std::errc() && end == last && end != first ? std::optional(step) : std::nullopt;
}

} // namespace lbk::runfiles
