#include "hf/hffiles.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "util/filebytes.h"

namespace lbk::hf {

namespace fs = std::filesystem;

Result<std::string> readTextFile(const fs::path &file)
{
    std::error_code ec;
    if (!fs::is_regular_file(file, ec))
        return badInput(file.string() + ": no such file");
    return readFileBytes(file);
}

Result<nlohmann::json> readJsonFile(const fs::path &file)
{
    auto text = readTextFile(file);
    if (!text)
        return text.error();
    try {
        return nlohmann::json::parse(*text);
    } catch (const nlohmann::json::exception &e) {
        return badInput(file.string() + ": not valid JSON (" + e.what() + ")");
    }
}

Status writeTextFile(const fs::path &file, const std::string &content)
{
    return writeFileReplacing(file, content);
}

Status writeJsonFile(const fs::path &file, const nlohmann::ordered_json &json)
{
    return writeTextFile(file, json.dump(2) + "\n");
}

} // namespace lbk::hf
