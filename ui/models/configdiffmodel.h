#pragma once
// The configs of several runs side by side, one column per run: the keys that differ first (and by default
// only those; the identical rest is folded away behind setShowIdentical()).
#include <vector>

#include <QAbstractTableModel>
#include <QStringList>

#include <nlohmann/json.hpp>

namespace labbook {

class ConfigDiffModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Role { DiffersRole = Qt::UserRole + 1, KeyRole };
    using QAbstractTableModel::QAbstractTableModel;

    void setConfigs(const QStringList &runNames, const std::vector<nlohmann::json> &configs);
    void setShowIdentical(bool show);
    bool showIdentical() const { return m_showIdentical; }
    int differingCount() const { return m_differing; }
    int identicalCount() const { return int(m_allKeys.size()) - m_differing; }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    void rebuild();
    QStringList m_names;
    std::vector<nlohmann::json> m_configs;
    std::vector<std::pair<std::string, bool>> m_allKeys; // key, differs; differing first
    std::vector<int> m_rows;                             // indices into m_allKeys shown
    int m_differing = 0;
    bool m_showIdentical = false;
};

} // namespace labbook
