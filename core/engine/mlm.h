#pragma once
// Masked-language-model pre-training's masking, as BERT's and transformers' DataCollatorForLanguageModeling:
// of the maskable tokens a share is chosen for the loss; of those 80% become the mask token, 10% a random token,
// 10% stay as they are. The objective itself is engine/mlm.cpp (makeMlmObjective).
// LibTorch: include only from engine translation units.
#include <cstdint>

#include <torch/torch.h>

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

} // namespace lbk
