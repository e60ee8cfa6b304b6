#pragma once
// An export folder's README.md, for the person who finds the folder: what the model predicts, how well, from what
// input, and how to score with it, read off its card (model.json, engine/modelexport.cpp). No LibTorch.
#include <string>

#include <nlohmann/json.hpp>

namespace lbk {

std::string modelReadme(const nlohmann::json &card);

} // namespace lbk
