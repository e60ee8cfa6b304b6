#include "configdiffmodel.h"

#include <algorithm>
#include <set>

#include <QFont>

#include "experiment/schema.h"
#include "format.h"

namespace labbook {

namespace {
void flatten(const nlohmann::json &j, const std::string &prefix, std::set<std::string> &out)
{
    if (j.is_object() && !j.empty()) {
        for (const auto &[k, v] : j.items())
            flatten(v, prefix.empty() ? k : prefix + "." + k, out);
        return;
    }
    if (!prefix.empty())
        out.insert(prefix);
}
} // namespace

void ConfigDiffModel::setConfigs(const QStringList &runNames, const std::vector<nlohmann::json> &configs)
{
    beginResetModel();
    m_names = runNames;
    m_configs = configs;
    std::set<std::string> keys;
    for (const auto &c : configs)
        flatten(c, {}, keys);
    const auto differing = configs.size() > 1 ? lbk::configDiff(configs) : std::vector<std::string>{};
    const std::set<std::string> diff(differing.begin(), differing.end());
    m_allKeys.clear();
    for (const auto &k : keys)
        m_allKeys.emplace_back(k, diff.count(k) > 0 || [&] {
            // configDiff may name a parent (a whole object added in one run): its leaves differ too.
            for (const auto &d : diff)
                if (k.rfind(d + ".", 0) == 0)
                    return true;
            return false;
        }());
    std::stable_partition(m_allKeys.begin(), m_allKeys.end(), [](const auto &p) { return p.second; });
    m_differing = int(std::count_if(m_allKeys.begin(), m_allKeys.end(), [](const auto &p) { return p.second; }));
    rebuild();
    endResetModel();
}

void ConfigDiffModel::setShowIdentical(bool show)
{
    if (show == m_showIdentical)
        return;
    beginResetModel();
    m_showIdentical = show;
    rebuild();
    endResetModel();
}

void ConfigDiffModel::rebuild()
{
    m_rows.clear();
    for (size_t i = 0; i < m_allKeys.size(); ++i)
        if (m_showIdentical || m_allKeys[i].second)
            m_rows.push_back(int(i));
}

int ConfigDiffModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int ConfigDiffModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : 1 + int(m_configs.size());
}

QVariant ConfigDiffModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const auto &[key, differs] = m_allKeys[size_t(m_rows[size_t(index.row())])];
    switch (role) {
    case DiffersRole: return differs;
    case KeyRole: return qs(key);
    case Qt::FontRole:
        if (differs) {
            QFont f;
            f.setBold(index.column() == 0);
            return f;
        }
        return {};
    case Qt::DisplayRole:
    case Qt::ToolTipRole: {
        if (index.column() == 0)
            return qs(key);
        const auto v = lbk::valueAt(m_configs[size_t(index.column() - 1)], key);
        if (v.is_null())
            return role == Qt::DisplayRole ? QStringLiteral("(absent)") : QVariant();
        // A sweep's sampled rate (0.0013123456789) in six digits, so narrow columns still tell runs apart; the
        // tooltip has the value as recorded.
        if (role == Qt::DisplayRole && v.is_number_float())
            return QString::number(v.get<double>(), 'g', 6);
        return v.is_string() ? qs(v.get<std::string>()) : qs(v.dump());
    }
    default: return {};
    }
}

QVariant ConfigDiffModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || (role != Qt::DisplayRole && role != Qt::ToolTipRole))
        return {};
    if (section == 0)
        return tr("Config key");
    return m_names.value(section - 1);
}

} // namespace labbook
