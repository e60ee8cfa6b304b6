#pragma once
// The masked-language-model half of `bench_engine --models encoder`: Labbook's MLM pre-training loop on its own,
// timed, as the PyTorch reference (reference/bench_mlm_reference.py) runs the same one: the abstracts of the papers
// read, encoded whole, packed into sequences of 128 ids across documents ([CLS] ... [SEP] ...), 15% of the tokens
// chosen afresh per batch (80% [MASK], 10% random, 10% kept), BERT-mini as BertForMaskedLM (4 layers, hidden 256,
// 4 heads, feed-forward 1,024, the decoder tied to the word embeddings), AdamW, a fixed number of steps.
#include <cstdint>
#include <filesystem>

#include <nlohmann/json.hpp>

namespace lbkbench {

struct MlmBenchOptions {
    std::filesystem::path data;      // JSON lines
    std::filesystem::path tokenizer; // sentencepiece model
    int64_t limit = 0;               // papers read (0: all)
    int threads = 2;
    int batch = 32;
    int steps = 40; // timed steps, after 3 untimed ones
};

// The figures as one JSON object: tokens/s of the training loop (real tokens of the sequences trained on), mean
// step, mean masked-token loss, peak RSS.
nlohmann::json runMlmBench(const MlmBenchOptions &options);

} // namespace lbkbench
