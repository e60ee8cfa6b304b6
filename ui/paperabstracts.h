#pragma once
// The abstracts of the papers a run's predictions name. The store records titles only (an abstract per
// prediction row would multiply its size), so they are read from the run's own data file on a worker thread,
// keeping only the papers asked for, and shown in the predictions' detail pane.
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <QObject>
#include <QString>

#include <nlohmann/json.hpp>

namespace labbook {

class PaperAbstracts : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;

    // Reads the data the recorded config names (relative paths against the default data root), unless the same
    // data was read for the same papers last time; loaded() follows.
    void load(const nlohmann::json &runConfig, std::vector<std::string> paperIds);
    // The paper's abstract; empty while reading, when the data has none, or when it could not be read.
    QString abstractOf(const std::string &paperId) const;
    bool isLoading() const { return m_loading; }
    // Why there are no abstracts ("reading...", the data file's problem), or empty.
    QString status() const { return m_status; }

Q_SIGNALS:
    void loaded();

private:
    using Map = std::unordered_map<std::string, std::string>;
    std::shared_ptr<const Map> m_abstracts;
    std::string m_key;
    QString m_status;
    bool m_loading = false;
    int m_generation = 0;
};

} // namespace labbook
