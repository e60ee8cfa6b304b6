#pragma once
// Runs made from other runs: a classifier whose model.init_from is "run:UID" was fine-tuned from that MLM
// pre-training run. The link is the recorded config itself (launch rewrites the reference to the uid), so it
// holds in any copy of the store and needs no table of its own.
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace lbk::usecase {

struct EncoderSource {
    std::string uid;                // as the run's config names it
    int64_t step = -1;              // the kept weights of that step; -1: its best (else last) checkpoint
    std::optional<RunSummary> run;  // empty: no longer in this store (deleted)
};

// Where the run's encoder came from, when it was fine-tuned from a pre-training run of this store.
std::optional<EncoderSource> encoderSource(const Store &store, const RunDetail &run);

// The runs fine-tuned from this one, newest first.
std::vector<RunSummary> fineTunedFrom(const Store &store, const RunSummary &pretraining);
// What a listing of them adds to a fine-tune's name: " (failed)", " (cancelled)", " (interrupted)" for one that did
// not finish and is not going on; "" otherwise. One rule for lbk show and the GUI's overview.
std::string endNote(const RunSummary &fineTune);

} // namespace lbk::usecase
