#pragma once
// The training engine's entry points, free of LibTorch types so that lbk's main compiles fast.
// A worker trains one run (or runs one LR range test) from a run folder and reports everything as events
// (docs/PROTOCOL.md) to the run's journal. No exception leaves these functions.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace lbk {

struct RunDetail;
class Store;

struct WorkerOptions {
    std::filesystem::path runDir;   // holds experiment.json (the resolved config); checkpoints go here
    std::string runUid;
    std::string dataRoot;           // empty: resolveDataPath's default
    std::filesystem::path cacheDir; // tokenizers, papers read, packed corpora; empty: Tokenizer::defaultCacheDir()
    std::filesystem::path journal;  // empty: runDir/journal.jsonl; "-": stdout
    bool lrFind = false;            // the LR range test instead of training
    bool resume = false;            // continue from runDir/checkpoints/last.pt
    // A further process of a data-parallel run (training.processes > 1), started by rank 0's worker: its rank,
    // the number of processes and the rendezvous file. rank -1: this is rank 0, or a Slurm task (SLURM_PROCID).
    int rank = -1;
    int world = 0;
    std::filesystem::path rendezvous;
};

enum WorkerExit { kWorkerFinished = 0, kWorkerFailed = 1, kWorkerCancelled = 3 };

int runWorker(const WorkerOptions &options);

// Cancellation: an atomic flag checked every batch (safe to call from a signal handler).
void requestCancel();
bool cancelRequested();

// "LibTorch 1.13.0, cpu, 2 threads" and the like, for `lbk --version` and run_started.
std::string engineDescription();

// ----- Using a trained model (engine/modelexport.cpp, predict.cpp, evalrun.cpp): each returns what it did, or
// an error naming what and where (Error::badInput when the input was wrong); printing is the caller's. -----

// A folder holding model.json is an export (`lbk export --format model`); any other a model is loaded from is a
// run's folder.
bool isExportFolder(const std::filesystem::path &folder);

// `lbk export RUN --format model --out DIR`: the run's best (else last) weights as a state dict Python's
// torch.load reads (weights.pt), tokenizer.model, labels.json and model.json (the model card).
struct ModelExport {
    std::string checkpoint; // best | last
    int64_t step = 0;
};
// encoderFrom: where a fine-tuned encoder came from, for the card (`encoderOrigin`); null for other models.
Result<ModelExport> exportModel(const RunDetail &run, const std::filesystem::path &out,
                                const nlohmann::json &encoderFrom = nlohmann::json());
// `lbk export RUN --format hf --out DIR`: a fine-tuned encoder (model.init_from, model.pooling "pooler") as
// transformers' save_pretrained writes it: config.json with id2label, model.safetensors, the tokenizer's files.
Result<ModelExport> exportHuggingFace(const RunDetail &run, const std::filesystem::path &out);

// `lbk predict EXPORT_OR_RUN --data FILE --out FILE`: streams JSON lines (plain or .zst) through a model in
// constant memory; writes JSON lines, or CSV when out ends in .csv.
// Lines predict reads, parses and scores together; a shard of --shard K/N is a block of whole chunks.
constexpr size_t kPredictChunkLines = 8192;
struct PredictOptions {
    std::filesystem::path model; // an export folder, or a run's folder
    std::filesystem::path data;
    std::filesystem::path out; // "-": stdout
    std::string format = "auto"; // auto (by out's extension) | jsonl | csv
    int threads = 0;     // 0: all cores
    int batchSize = 512;
    int topK = 0;        // 0: every class's probability; else the k most probable
    // auto: a run is scored in the precision it trained and validated in (its journal's run_started event: bf16
    // autocast for a training.precision "bf16" run on a machine that had native bf16), an export in fp32, which
    // is what the export's Python client computes. bf16 runs only where this CPU computes in bfloat16
    // natively, else fp32 with a warning.
    std::string precision = "auto";
    std::function<void(const std::string &)> warn;                          // may be empty
    // Once before the first chunk (the rows a resumed run found), then after each chunk; may be empty.
    std::function<void(int64_t bytesRead, int64_t bytes, int64_t rows)> progress;
    // --shard K/N (a Slurm array task of N): score only the K-th of N contiguous blocks of the input's lines
    // (0 <= K < N), so that the N outputs concatenated in K order are the output of one unsharded run.
    int shard = 0, shards = 1;
    // Lines that cannot be scored, as a share of the lines read, above which predict fails (the rows scored are
    // kept); below 0: the model's own data.max_bad_share, what its training allowed.
    double maxBadShare = -1;
    // Binary and multilabel models: a label is predicted from this probability up (a binary row's label, a
    // multilabel row's set); below 0, kPredictedFrom as the run's metrics count. A multiclass model refuses one.
    double threshold = -1;
    // Continue an interrupted run of the same inputs from where its OUT.partial stopped (engine/predictprogress.h);
    // without one, or for other inputs, start afresh and say why. A file output only.
    bool resume = false;
};
struct PredictResult {
    int64_t rows = 0;
    bool inputChanged = false; // a --resume found its input changed: the partial rows it continued are not kept
    int64_t skipped = 0;      // lines that were not JSON objects, or had no text in the field the model reads
    std::string firstSkipped; // "file:line: what"
    int64_t nonFinite = 0;    // rows whose probabilities were NaN or infinite (a damaged or diverged model)
    std::string firstNonFinite; // "file:line"
    int64_t firstLine = 0, lines = 0, totalLines = 0; // the lines this shard read: [firstLine, firstLine + lines) of totalLines (sharded only)
    double seconds = 0;
    int threads = 0;
    std::string precision;
    bool table = false;         // the input was a CSV/TSV table: the positions below count the papers read, not lines
    int64_t resumedAtLine = -1; // --resume continued an earlier run from this input line
    int64_t resumedRows = 0;    // ... which had written this many rows
    int64_t stoppedAtLine = -1; // stopped by SIGINT or SIGTERM after this many input lines
    bool resumable = false;     // ... and OUT.partial with its progress kept for --resume
};
Result<PredictResult> predict(const PredictOptions &options);

// `lbk eval RUN --data FILE`: scores a finished run on another labelled file and records the evaluation
// (metrics, histograms, predictions) into the run, under the split name `split` (default "eval:<file name>").
struct EvalRunOptions {
    std::string dataRoot;
    std::string data;
    std::string split;
    int threads = 0;
    std::string precision = "auto"; // as PredictOptions::precision
    std::function<void(const std::string &)> warn;
};
struct EvalRunResult {
    std::string split, file;
    int64_t examples = 0, dropped = 0; // dropped: papers without one of the run's labels
    nlohmann::json summary;
    std::vector<std::string> cautions; // why the figures may mislead (few papers, the run's own training file)
};
Result<EvalRunResult> evalRun(Store &store, const RunDetail &run, const EvalRunOptions &options);

} // namespace lbk
