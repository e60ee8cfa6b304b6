#pragma once
// Reading and writing the small text and JSON files of a tokenizer folder, with messages that name the file.
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace lbk::hf {

Result<std::string> readTextFile(const std::filesystem::path &file);
Result<nlohmann::json> readJsonFile(const std::filesystem::path &file);
// Writes through a temporary file renamed over the target, so a failed save leaves the old file whole.
Status writeTextFile(const std::filesystem::path &file, const std::string &content);
Status writeJsonFile(const std::filesystem::path &file, const nlohmann::ordered_json &json);

} // namespace lbk::hf
