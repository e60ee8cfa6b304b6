#include "comparepredictionsmodel.h"

#include <unordered_map>

#include <QBrush>
#include <QColor>

#include "format.h"

namespace labbook {

void ComparePredictionsModel::setRuns(const QStringList &runNames,
                                      const std::vector<std::vector<lbk::PredictionRow>> &predictions, bool multiLabel)
{
    beginResetModel();
    m_names = runNames;
    m_joined.clear();
    if (!predictions.empty()) {
        std::unordered_map<std::string, size_t> at;
        for (const auto &row : predictions.front()) {
            at.emplace(row.exampleId, m_joined.size());
            Joined j;
            j.id = qs(row.exampleId);
            j.title = qs(row.title);
            j.truth = toStringList(row.truth).join(QStringLiteral(", "));
            j.cells.resize(predictions.size());
            m_joined.push_back(std::move(j));
        }
        std::vector<int> seen(m_joined.size(), 0);
        for (size_t r = 0; r < predictions.size(); ++r) {
            for (const auto &row : predictions[r]) {
                auto it = at.find(row.exampleId);
                if (it == at.end())
                    continue;
                Cell &c = m_joined[it->second].cells[r];
                c.predicted = predictedText(row, multiLabel);
                if (!row.top.empty())
                    c.confidence = row.top.front().second;
                c.correct = row.correct;
                seen[it->second]++;
            }
        }
        // Keep only the papers every run evaluated.
        std::vector<Joined> kept;
        for (size_t i = 0; i < m_joined.size(); ++i)
            if (seen[i] == int(predictions.size()))
                kept.push_back(std::move(m_joined[i]));
        m_joined = std::move(kept);
    }
    m_first = 0;
    m_second = predictions.size() > 1 ? 1 : 0;
    refilter();
    endResetModel();
}

void ComparePredictionsModel::setPair(int first, int second)
{
    beginResetModel();
    m_first = qBound(0, first, qMax(0, int(m_names.size()) - 1));
    m_second = qBound(0, second, qMax(0, int(m_names.size()) - 1));
    refilter();
    endResetModel();
}

void ComparePredictionsModel::setOutcome(Outcome outcome)
{
    beginResetModel();
    m_outcome = outcome;
    refilter();
    endResetModel();
}

void ComparePredictionsModel::setText(const QString &text)
{
    beginResetModel();
    m_text = text.trimmed();
    refilter();
    endResetModel();
}

void ComparePredictionsModel::refilter()
{
    m_visible.clear();
    for (size_t i = 0; i < m_joined.size(); ++i) {
        const Joined &j = m_joined[i];
        if (!m_text.isEmpty() && !j.title.contains(m_text, Qt::CaseInsensitive) && !j.id.contains(m_text))
            continue;
        if (m_outcome != Outcome::All && size_t(qMax(m_first, m_second)) < j.cells.size()) {
            const Cell &a = j.cells[size_t(m_first)];
            const Cell &b = j.cells[size_t(m_second)];
            bool keep = true;
            switch (m_outcome) {
            case Outcome::FirstRightSecondWrong: keep = a.correct && !b.correct; break;
            case Outcome::FirstWrongSecondRight: keep = !a.correct && b.correct; break;
            case Outcome::BothWrong: keep = !a.correct && !b.correct; break;
            case Outcome::Disagree: keep = a.predicted != b.predicted; break;
            case Outcome::All: break;
            }
            if (!keep)
                continue;
        }
        m_visible.push_back(int(i));
    }
}

int ComparePredictionsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_visible.size());
}

int ComparePredictionsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : 3 + int(m_names.size());
}

QVariant ComparePredictionsModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Joined &j = m_joined[size_t(m_visible[size_t(index.row())])];
    const int run = index.column() - 3;
    if (role == ExampleIdRole)
        return j.id;
    if (run < 0) {
        if (role != Qt::DisplayRole && role != Qt::ToolTipRole)
            return {};
        switch (index.column()) {
        case 0: return j.id;
        case 1: return j.title;
        default: return j.truth;
        }
    }
    const Cell &c = j.cells[size_t(run)];
    switch (role) {
    case Qt::DisplayRole:
        return QStringLiteral("%1 %2 (%3)").arg(c.correct ? QStringLiteral("\u2713") : QStringLiteral("\u2717"),
                                                c.predicted, QString::number(c.confidence, 'f', 2));
    case CorrectRole: return c.correct;
    case Qt::ForegroundRole: return QBrush(c.correct ? QColor(0x2e, 0x9d, 0x4f) : QColor(0xe5, 0x39, 0x35));
    default: return {};
    }
}

QVariant ComparePredictionsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case 0: return tr("Paper id");
    case 1: return tr("Title");
    case 2: return tr("True");
    default: return m_names.value(section - 3);
    }
}

} // namespace labbook
