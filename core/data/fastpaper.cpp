#include "data/fastpaper.h"

#ifdef LABBOOK_HAVE_SIMDJSON
#include <simdjson.h>

#include <string>

#include "util/text.h"

namespace lbk {

namespace {

enum Field { kId, kTitle, kAbstract, kCategories, kFieldCount };

class SimdPaperParser : public FastPaperParser {
public:
    SimdPaperParser(const DataSpec &spec, bool categoriesRequired, bool keepAbstracts)
        : m_keys{spec.idColumn, spec.titleColumn, spec.abstractColumn, spec.categoriesColumn},
          m_categoriesRequired(categoriesRequired), m_keepAbstracts(keepAbstracts)
    {
    }

    bool parse(std::string_view line, Paper &paper) override
    {
        // simdjson reads up to SIMDJSON_PADDING bytes past the end: the line is copied into a padded buffer.
        if (m_buffer.size() < line.size() + simdjson::SIMDJSON_PADDING)
            m_buffer.resize(line.size() + simdjson::SIMDJSON_PADDING);
        std::copy(line.begin(), line.end(), m_buffer.begin());
        simdjson::dom::object object;
        if (m_parser.parse(m_buffer.data(), line.size(), false).get_object().get(object))
            return false;
        Paper p;
        bool has[kFieldCount] = {};
        for (const auto field : object) {
            const int f = fieldOf(field.key);
            if (f < 0)
                continue;
            has[f] = true;
            simdjson::dom::array list;
            if (f == kCategories && !field.value.get_array().get(list)) {
                p.categories.clear();
                for (const simdjson::dom::element c : list)
                    if (!addCategories(c, p))
                        return false;
                continue;
            }
            std::string_view s;
            if (field.value.get_string().get(s))
                return false; // a number, null, boolean, object or array: the SAX reader's rules
            switch (f) {
            case kId: p.id.assign(s); break;
            case kTitle: p.title.assign(s); break;
            case kAbstract:
                if (m_keepAbstracts)
                    p.abstract.assign(s);
                break;
            case kCategories:
                p.categories.clear();
                forEachWord(s, [&](std::string_view w) { p.categories.emplace_back(w); });
                break;
            }
        }
        if (!has[kTitle] || isBlank(p.title) || (m_categoriesRequired && p.categories.empty()))
            return false;
        paper = std::move(p);
        return true;
    }

private:
    int fieldOf(std::string_view key) const
    {
        for (int i = 0; i < kFieldCount; ++i)
            if (key == m_keys[i])
                return i;
        return -1;
    }
    static bool addCategories(simdjson::dom::element e, Paper &p)
    {
        std::string_view s;
        if (e.get_string().get(s))
            return false;
        forEachWord(s, [&](std::string_view w) { p.categories.emplace_back(w); });
        return true;
    }

    std::string m_keys[kFieldCount];
    bool m_categoriesRequired, m_keepAbstracts;
    simdjson::dom::parser m_parser;
    std::string m_buffer;
};

} // namespace

std::unique_ptr<FastPaperParser> FastPaperParser::create(const DataSpec &spec, bool categoriesRequired,
                                                         bool keepAbstracts)
{
    return std::make_unique<SimdPaperParser>(spec, categoriesRequired, keepAbstracts);
}

} // namespace lbk

#else

namespace lbk {

std::unique_ptr<FastPaperParser> FastPaperParser::create(const DataSpec &, bool, bool) { return nullptr; }

} // namespace lbk

#endif
