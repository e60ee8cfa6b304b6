#pragma once
// The four fields a paper is read from, under the names the experiment's data section gives them, and what makes a
// paper read from them usable: one place for both JSON readers (the SAX reader in data/readers.cpp and the
// simdjson one in data/fastpaper.cpp), so the two cannot drift apart.
#include <string>
#include <string_view>
#include <vector>

#include "data/dataset.h"
#include "util/text.h"

namespace lbk {

enum PaperField { kId, kTitle, kAbstract, kCategories, kFieldCount };

class PaperFields {
public:
    explicit PaperFields(const DataSpec &spec)
        : m_names{spec.idColumn, spec.titleColumn, spec.abstractColumn, spec.categoriesColumn}, m_text(spec.text)
    {
    }
    // The field a key names, or -1 for a key that is not mapped.
    int find(std::string_view key) const
    {
        for (int i = 0; i < kFieldCount; ++i)
            if (key == m_names[i])
                return i;
        return -1;
    }
    const std::string &name(int field) const { return m_names[field]; }
    // Why a paper read with these fields (has[f]: field f was there) cannot be used, or "" when it can.
    // categoriesRequired: a classifier's data needs them; pre-training does not.
    std::string problem(const Paper &p, const bool (&has)[kFieldCount], bool categoriesRequired) const
    {
        // The title only where the text reads it: abstracts alone (a corpus of them) need no title.
        if (m_text != TextField::Abstract && (!has[kTitle] || isBlank(p.title)))
            return (has[kTitle] ? "empty \"" : "no \"") + m_names[kTitle] + "\"";
        if (m_text == TextField::Abstract && (!has[kAbstract] || isBlank(p.abstract)))
            return abstractProblem(has[kAbstract]);
        if (categoriesRequired && !has[kCategories])
            return "no \"" + m_names[kCategories] + "\"";
        if (categoriesRequired && p.categories.empty())
            return "empty \"" + m_names[kCategories] + "\"";
        return {};
    }
    // Whether a model's input text has anything to score (white space and line breaks alone do not).
    static bool hasText(std::string_view text) { return text.find_first_not_of(" \t\r\n\f\v") != std::string_view::npos; }
    // Why a paper has no text to score ("" when it has): the rule lbk predict applies, whatever the file's format.
    std::string textProblem(const Paper &p) const
    {
        if (hasText(paperText(p, m_text)))
            return {};
        const std::string fields = m_text == TextField::Title      ? "\"" + m_names[kTitle] + "\""
                                   : m_text == TextField::Abstract ? "\"" + m_names[kAbstract] + "\""
                                                                   : "\"" + m_names[kTitle] + "\" or \"" + m_names[kAbstract] + "\"";
        return "no text in " + fields + ", the field this model reads";
    }
    // The categories a field's text lists, separated by white space, appended to out.
    static void splitCategories(std::string_view text, std::vector<std::string> &out)
    {
        forEachWord(text, [&](std::string_view w) { out.emplace_back(w); });
    }
private:
    // A paper whose text is its abstract alone (data.text "abstract") needs one: without it, it would be trained on
    // or scored as an empty text.
    std::string abstractProblem(bool present) const
    {
        return (present ? "empty \"" : "no \"") + m_names[kAbstract] + "\", the field data.text \"abstract\" reads";
    }

    std::string m_names[kFieldCount];
    TextField m_text;
};

} // namespace lbk
