#include "protocol/fastmetrics.h"

#include <charconv>
#include <cmath>
#include <system_error>

namespace lbk {

namespace {

class Scanner {
public:
    explicit Scanner(std::string_view s) : m_p(s.data()), m_end(s.data() + s.size()) {}

    bool metrics(FastMetrics &out)
    {
        out.values.clear(); // keeps its capacity from line to line
        out.seq = 0;
        out.hasSeq = out.hasValues = out.isMetrics = false;
        out.t.reset();
        out.step.reset();
        if (!expect('{'))
            return false;
        if (peek() == '}')
            return false;
        for (;;) {
            std::string_view key;
            if (!string(key) || !expect(':'))
                return false;
            skip();
            if (key == "values") {
                if (!values(out))
                    return false;
            } else if (m_p < m_end && *m_p == '"') {
                std::string_view v;
                if (!string(v))
                    return false;
                if (key == "type")
                    out.isMetrics = v == "metrics";
            } else if (m_p < m_end && (*m_p == '-' || (*m_p >= '0' && *m_p <= '9'))) {
                std::string_view tok = number();
                if (tok.empty())
                    return false;
                if (key == "seq") {
                    if (!integer(tok, out.seq))
                        return false; // not a positive integer: the general path explains
                    out.hasSeq = true;
                } else if (key == "step") {
                    int64_t v = 0;
                    if (!integer(tok, v))
                        return false;
                    out.step = v;
                } else if (key == "t") {
                    double d = 0;
                    if (!real(tok, d))
                        return false;
                    out.t = d;
                }
            } else if (!literal()) {
                return false; // objects, arrays, NaN: not for the fast path
            }
            skip();
            if (m_p < m_end && *m_p == ',') {
                ++m_p;
                continue;
            }
            if (!expect('}'))
                return false;
            skip();
            return m_p == m_end && out.isMetrics && out.hasSeq && out.seq >= 1;
        }
    }

private:
    void skip()
    {
        while (m_p < m_end && (*m_p == ' ' || *m_p == '\t' || *m_p == '\r' || *m_p == '\n'))
            ++m_p;
    }
    char peek()
    {
        skip();
        return m_p < m_end ? *m_p : '\0';
    }
    bool expect(char c)
    {
        skip();
        if (m_p < m_end && *m_p == c) {
            ++m_p;
            return true;
        }
        return false;
    }
    bool string(std::string_view &out)
    {
        if (!expect('"'))
            return false;
        const char *start = m_p;
        while (m_p < m_end && *m_p != '"') {
            // Escapes, control characters and non-ASCII (whose UTF-8 the general parser validates) go the slow way.
            const unsigned char c = static_cast<unsigned char>(*m_p);
            if (c == '\\' || c < 0x20 || c >= 0x80)
                return false;
            ++m_p;
        }
        if (m_p == m_end)
            return false;
        out = std::string_view(start, size_t(m_p - start));
        ++m_p;
        return true;
    }
    std::string_view number()
    {
        const char *start = m_p;
        while (m_p < m_end && ((*m_p >= '0' && *m_p <= '9') || *m_p == '-' || *m_p == '+' || *m_p == '.'
                               || *m_p == 'e' || *m_p == 'E'))
            ++m_p;
        return std::string_view(start, size_t(m_p - start));
    }
    bool literal()
    {
        for (std::string_view lit : {"null", "true", "false"}) {
            if (size_t(m_end - m_p) >= lit.size() && std::string_view(m_p, lit.size()) == lit) {
                m_p += lit.size();
                return true;
            }
        }
        return false;
    }
    static bool real(std::string_view tok, double &d)
    {
        // JSON numbers only: from_chars alone would also take "1." or "-.5" or a leading '+'.
        if (tok.front() == '+' || tok.back() == '.' || tok.find(".e") != std::string_view::npos
            || tok.find(".E") != std::string_view::npos)
            return false;
        const std::string_view digits = tok.front() == '-' ? tok.substr(1) : tok;
        if (digits.empty() || digits.front() == '.' || (digits.size() > 1 && digits[0] == '0' && digits[1] != '.'
                                                        && digits[1] != 'e' && digits[1] != 'E'))
            return false;
        auto [end, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), d);
        return ec == std::errc() && end == tok.data() + tok.size() && std::isfinite(d);
    }
    static bool integer(std::string_view tok, int64_t &v)
    {
        double d = 0;
        if (!real(tok, d) || d != std::floor(d) || std::fabs(d) >= 9e15)
            return false;
        if (tok.find_first_of(".eE") == std::string_view::npos) {
            auto [end, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
            return ec == std::errc() && end == tok.data() + tok.size();
        }
        v = int64_t(d);
        return true;
    }
    bool values(FastMetrics &out)
    {
        if (!expect('{'))
            return false;
        out.hasValues = true;
        if (peek() == '}') {
            ++m_p;
            return true;
        }
        for (;;) {
            std::string_view key;
            if (!string(key) || !expect(':'))
                return false;
            skip();
            if (m_p < m_end && (*m_p == '-' || (*m_p >= '0' && *m_p <= '9'))) {
                double d = 0;
                if (!real(number(), d))
                    return false;
                out.values.emplace_back(key, d);
            } else if (size_t(m_end - m_p) >= 4 && std::string_view(m_p, 4) == "null") {
                m_p += 4;
                out.values.emplace_back(key, std::nullopt);
            } else {
                return false;
            }
            skip();
            if (m_p < m_end && *m_p == ',') {
                ++m_p;
                continue;
            }
            return expect('}');
        }
    }

    const char *m_p;
    const char *m_end;
};

} // namespace

bool scanFastMetrics(std::string_view line, FastMetrics &out)
{
    return Scanner(line).metrics(out);
}

} // namespace lbk
