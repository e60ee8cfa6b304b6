#include "data/fastpaper.h"

#ifdef LABBOOK_HAVE_SIMDJSON
#include <simdjson.h>

#include <string>

#include "data/paperfields.h"

namespace lbk {

namespace {

class SimdPaperParser : public FastPaperParser {
public:
    SimdPaperParser(const DataSpec &spec, bool categoriesRequired, bool keepAbstracts)
        : m_fields(spec), m_categoriesRequired(categoriesRequired), m_keepAbstracts(keepAbstracts)
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
            const int f = m_fields.find(field.key);
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
                PaperFields::splitCategories(s, p.categories);
                break;
            }
        }
        if (!m_fields.problem(p, has, m_categoriesRequired).empty())
            return false; // the SAX reader words it
        paper = std::move(p);
        return true;
    }

private:
    static bool addCategories(simdjson::dom::element e, Paper &p)
    {
        std::string_view s;
        if (e.get_string().get(s))
            return false;
        PaperFields::splitCategories(s, p.categories);
        return true;
    }

    PaperFields m_fields;
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
