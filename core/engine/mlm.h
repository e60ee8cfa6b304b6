#pragma once
// Masked-language-model pre-training's masking, as BERT's and transformers' DataCollatorForLanguageModeling:
// of the maskable tokens a share is chosen for the loss; of those 80% become the mask token, 10% a random token,
// 10% stay as they are. The objective itself is engine/mlm.cpp (makeMlmObjective).
// LibTorch: include only from engine translation units.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "engine/encoder.h"
#include "engine/models.h"
#include "engine/optim.h"
#include "engine/pretrained.h"
#include "engine/tokenizer.h"
#include "experiment/experiment.h"
#include "util/result.h"

namespace lbk {

struct MaskingOptions {
    double probability = 0.15;
    int64_t maskId = 0;
    int64_t vocab = 0; // random replacements are drawn from [0, vocab)
};

struct MaskedTokens {
    torch::Tensor inputs; // ids with the chosen tokens replaced
    torch::Tensor labels; // the original id where chosen, -100 elsewhere
};

// ids [B, L] (long, CPU); maskable [B, L] (bool): the tokens that may be chosen (not padding, not special).
// The draws come from gen alone, so the same generator state gives the same masks.
MaskedTokens maskTokens(const torch::Tensor &ids, const torch::Tensor &maskable, const MaskingOptions &options,
                        torch::Generator &gen);

// A pre-training run's masked-language model at its best checkpoint (else its last), with its tokenizer: what
// `lbk export --format hf` writes and what a classifier with model.init_from "run:UID" starts from.
struct PretrainedMlm {
    Experiment exp;
    std::unique_ptr<Tokenizer> tokenizer;     // pre-trained from scratch: the run's sentencepiece model
    std::optional<PretrainedEncoder> hf;       // continued pre-training: the checkpoint's config and tokenizer
    MlmSpecialIds special;
    std::shared_ptr<EncoderMaskedLMImpl> model; // in eval mode, on the CPU
    std::string checkpoint;                     // best | last | step-N
    int64_t step = 0;
};
// step >= 0: the weights kept at that evaluation (checkpoints/step-N.pt, evaluation.keep_checkpoints).
Result<PretrainedMlm> loadMlmRun(const std::filesystem::path &runDir, int64_t step = -1);

// model.init_from "run:UID[@STEP]" (a classifier fine-tuned from a pre-training run, or a pre-training continued
// from one): that run's folder, beside this run's in the store's runs folder.
std::filesystem::path initRunDir(const std::filesystem::path &runDir, const Experiment &e);
// Its sentencepiece model, copied into runDir as tokenizer.model (resume, predict and export read the copy; a
// resume or a further rank reads the copy it has), loaded with spec (a classifier's cuts texts to max_tokens,
// pre-training encodes whole documents). Refused for a run that continued a Hugging Face checkpoint.
Result<std::unique_ptr<Tokenizer>> tokenizerFromRun(const std::filesystem::path &runDir, const Experiment &e,
                                                    const TokenizerSpec &spec, bool keepOwnCopy);
// Its weights (the step named, else its best checkpoint, else its last) into model's parameters whose names start
// with prefix ("bert." for a classifier's encoder, "" for a whole masked-language model); the position table keeps
// the rows this run's max_tokens needs. Returns the line for the run's log.
Result<std::string> weightsFromRun(const std::filesystem::path &runDir, const Experiment &e, torch::nn::Module &model,
                                   const std::string &prefix);

// The special ids of a Hugging Face tokenizer ([CLS] or <s>, ...), its whole vocabulary the rows.
MlmSpecialIds mlmSpecialIds(const hf::HfTokenizer &tokenizer, int rows);

// The tokens masking may choose: not padding, [CLS] or [SEP].
torch::Tensor mlmMaskable(const torch::Tensor &ids, const MlmSpecialIds &special);
// The optimizer group of a BertForMaskedLM parameter: no weight decay on biases and norms.
ParamGroup mlmParamGroup(const std::string &name);

// Every row of an MLM vocabulary as text: the sentencepiece pieces, then [PAD], [CLS], [SEP] and [MASK] where
// mlmSpecialIds puts them.
std::vector<std::string> mlmPieceNames(std::vector<std::string> pieces, const MlmSpecialIds &special);

// An evaluation batch under its masking, and the model's logits at the chosen positions (maskedLogits' order).
struct FillSample {
    torch::Tensor inputs, labels, lengths, logits; // inputs and labels contiguous, [B, L] on the CPU
    MlmSpecialIds special;
    int64_t sequences = 0; // rows come from the first this many sequences
};
inline constexpr int64_t kFillSequences = 8; // held-out sequences whose fills each evaluation records

// One prediction row (docs/PROTOCOL.md) per chosen token: id "seqNNN:POS", the text around it as the model saw it
// (the token between brackets), the original piece as the truth, and the model's five likeliest pieces.
nlohmann::json fillRows(const FillSample &sample, const std::vector<std::string> &names);

} // namespace lbk
