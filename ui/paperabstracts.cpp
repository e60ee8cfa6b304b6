#include "paperabstracts.h"

#include <algorithm>
#include <unordered_set>

#include <QThreadPool>

#include "async.h"
#include "data/dataset.h"
#include "experiment/schema.h"
#include "format.h"

namespace labbook {

namespace {
struct Read {
    std::shared_ptr<const std::unordered_map<std::string, std::string>> abstracts;
    QString problem;
};

Read readAbstracts(const nlohmann::json &config, const std::vector<std::string> &ids)
{
    Read out;
    auto parsed = lbk::experimentFromJson(config);
    if (!parsed) {
        out.problem = QObject::tr("the run's config does not parse: %1").arg(qs(parsed.message()));
        return out;
    }
    auto files = lbk::resolveDataFiles(parsed->data.paths);
    if (!files) {
        out.problem = qs(files.message());
        return out;
    }
    auto papers = lbk::readPaperFiles(*files, parsed->data, nullptr, lbk::ReadNeeds{false});
    if (!papers) {
        out.problem = qs(papers.message());
        return out;
    }
    const std::unordered_set<std::string> wanted(ids.begin(), ids.end());
    auto map = std::make_shared<std::unordered_map<std::string, std::string>>();
    for (auto &p : *papers)
        if (!p.abstract.empty() && wanted.count(p.id))
            map->emplace(p.id, std::move(p.abstract));
    out.abstracts = std::move(map);
    return out;
}
} // namespace

void PaperAbstracts::load(const nlohmann::json &runConfig, std::vector<std::string> paperIds)
{
    std::sort(paperIds.begin(), paperIds.end());
    const nlohmann::json data = runConfig.is_object() ? runConfig.value("data", nlohmann::json()) : nlohmann::json();
    std::string key = data.dump();
    for (const auto &id : paperIds)
        key += '\n' + id;
    if (key == m_key)
        return;
    m_key = key;
    m_abstracts.reset();
    m_loading = true;
    const nlohmann::json path = data.is_object() ? data.value("path", nlohmann::json()) : nlohmann::json();
    m_status = tr("Reading the abstracts from %1...").arg(qs(path.is_string() ? path.get<std::string>() : path.dump()));
    const int gen = ++m_generation;
    async::run(
        QThreadPool::globalInstance(), this, [runConfig, ids = std::move(paperIds)] { return readAbstracts(runConfig, ids); },
        [this, gen](Read r) {
            if (gen != m_generation)
                return;
            m_loading = false;
            m_abstracts = std::move(r.abstracts);
            m_status = r.problem.isEmpty() ? QString() : tr("No abstracts: %1").arg(r.problem);
            Q_EMIT loaded();
        });
}

QString PaperAbstracts::abstractOf(const std::string &paperId) const
{
    if (!m_abstracts)
        return {};
    const auto it = m_abstracts->find(paperId);
    return it == m_abstracts->end() ? QString() : qs(it->second);
}

} // namespace labbook
