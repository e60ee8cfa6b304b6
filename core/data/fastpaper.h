#pragma once
// The common JSON line read fast. nlohmann's lexer builds every string it meets, each abstract included, one
// character at a time: reading the 167k papers of arxiv-dev took about 2.5 s of a first run's 4 s of set-up.
// simdjson (Debian's libsimdjson-dev) validates and indexes a line in a fraction of that. It reads only the lines
// it can take whole; every other line goes through the SAX reader (data/readers.cpp), which words each problem.
#include <memory>
#include <string_view>

#include "data/dataset.h"

namespace lbk {

class FastPaperParser {
public:
    // null when Labbook was built without simdjson: every line then goes through the SAX reader.
    static std::unique_ptr<FastPaperParser> create(const DataSpec &spec, bool categoriesRequired, bool keepAbstracts);
    static bool available() { return create(DataSpec{}, true, true) != nullptr; }
    virtual ~FastPaperParser() = default;
    // The paper of a line that is a valid JSON object whose mapped fields are strings (the categories a string or
    // an array of strings), with a title that is not blank and, when required, categories; false for any other
    // line (bad JSON, a number or null in a mapped field, a field missing), which the SAX reader then reads.
    virtual bool parse(std::string_view line, Paper &paper) = 0;
};

} // namespace lbk
