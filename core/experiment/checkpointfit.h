#pragma once
// Whether an experiment fits the pretrained checkpoint its model.init_from names: the one rule the engine applies
// when it opens the folder and the form shows as the user types.
#include <optional>
#include <string>

#include "experiment/experiment.h"
#include "hf/encoderconfig.h"

namespace lbk {

// Sizes set in the experiment (other than their defaults) that contradict the checkpoint's config.json, and a
// max_tokens its position table cannot hold: one message naming both values, or nothing. where names the config.
std::optional<std::string> checkpointContradictions(const Experiment &e, const hf::EncoderConfig &c,
                                                    const std::string &where);

} // namespace lbk
