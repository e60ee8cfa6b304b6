#include "predictionsmodel.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string.h>

#include <QBrush>
#include <QIODevice>

#include "format.h"
#include "metrics/metrics.h"
#include "store/predictionscsv.h"

namespace labbook {

int PredictionsModel::labelId(const std::string &name)
{
    const QString q = qs(name);
    const auto it = m_labelIds.constFind(q);
    if (it != m_labelIds.constEnd())
        return *it;
    m_labelNames << q;
    m_labelIds.insert(q, int(m_labelNames.size() - 1));
    return int(m_labelNames.size() - 1);
}

void PredictionsModel::setRows(std::vector<lbk::PredictionRow> rows, bool multiLabel)
{
    beginResetModel();
    m_rows = std::move(rows);
    m_multiLabel = multiLabel;
    m_items.clear();
    m_items.reserve(m_rows.size());
    m_labelNames.clear();
    m_labelIds.clear();
    for (const auto &r : m_rows) {
        Item it;
        it.title = qs(r.title);
        it.id = qs(r.exampleId);
        it.haystack = QString(it.title.toCaseFolded() + QLatin1Char('\n') + it.id.toCaseFolded()).toStdString();
        it.truth = toStringList(r.truth).join(QStringLiteral(", "));
        for (const auto &t : r.truth)
            it.truthIds.push_back(labelId(t));
        if (!r.top.empty())
            it.confidence = r.top.front().second;
        for (size_t e : lbk::predictedEntries(r.top, multiLabel)) // multi-label: the labels at 0.5 or above
            it.predictedIds.push_back(labelId(r.top[e].first));
        it.predicted = predictedText(r, multiLabel);
        it.pTrue = r.pTrue;
        it.correct = r.correct;
        m_items.push_back(std::move(it));
    }
    m_order.resize(m_items.size());
    std::iota(m_order.begin(), m_order.end(), 0);
    sortOrder();
    refilter();
    endResetModel();
}

void PredictionsModel::setQuery(const PredictionQuery &query)
{
    if (query == m_query)
        return;
    m_query = query;
    beginResetModel();
    refilter();
    endResetModel();
}

void PredictionsModel::refilter()
{
    const int wantTruth = m_query.trueLabel.isEmpty() ? -1 : int(m_labelNames.indexOf(m_query.trueLabel));
    const int wantPred = m_query.predictedLabel.isEmpty() ? -1 : int(m_labelNames.indexOf(m_query.predictedLabel));
    const bool noTruthMatch = !m_query.trueLabel.isEmpty() && wantTruth < 0;
    const bool noPredMatch = !m_query.predictedLabel.isEmpty() && wantPred < 0;
    const std::string needle = m_query.text.trimmed().toCaseFolded().toStdString();
    const bool confidenceFilter = m_query.minConfidence > 0 || m_query.maxConfidence < 1;
    m_visible.clear();
    if (noTruthMatch || noPredMatch)
        return;
    m_visible.reserve(m_order.size());
    for (int row : m_order) {
        const Item &it = m_items[size_t(row)];
        if (m_query.misclassifiedOnly && it.correct)
            continue;
        if (wantPred >= 0 && std::ranges::find(it.predictedIds, wantPred) == it.predictedIds.end())
            continue;
        if (wantTruth >= 0 && std::find(it.truthIds.begin(), it.truthIds.end(), wantTruth) == it.truthIds.end())
            continue;
        if (confidenceFilter && (it.confidence < m_query.minConfidence || it.confidence > m_query.maxConfidence))
            continue;
        if (!needle.empty() && !::memmem(it.haystack.data(), it.haystack.size(), needle.data(), needle.size()))
            continue;
        m_visible.push_back(row);
    }
}

void PredictionsModel::sort(int column, Qt::SortOrder order)
{
    if (column < 0 || column >= ColumnCount)
        return;
    Q_EMIT layoutAboutToBeChanged({}, QAbstractItemModel::VerticalSortHint);
    const QModelIndexList before = persistentIndexList();
    std::vector<int> beforeRows;
    for (const auto &idx : before)
        beforeRows.push_back(idx.row() < int(m_visible.size()) ? m_visible[size_t(idx.row())] : -1);
    m_sortColumn = column;
    m_sortOrder = order;
    sortOrder();
    refilter();
    std::vector<int> position(m_items.size(), -1);
    for (size_t i = 0; i < m_visible.size(); ++i)
        position[size_t(m_visible[i])] = int(i);
    QModelIndexList after;
    for (size_t i = 0; i < size_t(before.size()); ++i) {
        const int row = beforeRows[i] >= 0 ? position[size_t(beforeRows[i])] : -1;
        after << (row >= 0 ? index(row, before[qsizetype(i)].column()) : QModelIndex());
    }
    changePersistentIndexList(before, after);
    Q_EMIT layoutChanged({}, QAbstractItemModel::VerticalSortHint);
}

void PredictionsModel::sortOrder()
{
    const int column = m_sortColumn;
    const auto key = [this, column](int row) -> std::tuple<double, const QString *> {
        const Item &it = m_items[size_t(row)];
        switch (column) {
        case Confidence: return {it.confidence, nullptr};
        case PTrue: return {it.pTrue, nullptr};
        case Correct: return {it.correct ? 1.0 : 0.0, nullptr};
        case Title: return {0, &it.title};
        case Truth: return {0, &it.truth};
        case Predicted: return {0, &it.predicted};
        default: return {0, &it.id};
        }
    };
    const bool desc = m_sortOrder == Qt::DescendingOrder;
    std::stable_sort(m_order.begin(), m_order.end(), [&](int a, int b) {
        auto [va, sa] = key(a);
        auto [vb, sb] = key(b);
        if (sa) {
            const int c = sa->compare(*sb, Qt::CaseInsensitive);
            return desc ? c > 0 : c < 0;
        }
        if (std::isnan(va) != std::isnan(vb)) // a P(true) not recorded comes last either way (found by a review)
            return std::isnan(vb);
        return desc ? va > vb : va < vb;
    });
}

const lbk::PredictionRow *PredictionsModel::rowAt(int visibleRow) const
{
    if (visibleRow < 0 || visibleRow >= int(m_visible.size()))
        return nullptr;
    return &m_rows[size_t(m_visible[size_t(visibleRow)])];
}

int PredictionsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_visible.size());
}

int PredictionsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant PredictionsModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const int row = m_visible[size_t(index.row())];
    const Item &it = m_items[size_t(row)];
    switch (role) {
    case CorrectRole: return it.correct;
    case ConfidenceRole: return it.confidence;
    case ExampleIdRole: return it.id;
    case Qt::ForegroundRole:
        if (index.column() == Correct || index.column() == Predicted) // right or wrong at a glance, Correct hidden or not
            return QBrush(statusColor(it.correct ? lbk::RunStatus::Finished : lbk::RunStatus::Failed));
        return {};
    case Qt::TextAlignmentRole:
        if (index.column() == Confidence || index.column() == PTrue)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        if (index.column() == Correct)
            return int(Qt::AlignCenter);
        return {};
    case Qt::ToolTipRole: {
        if (index.column() != Predicted && index.column() != Title)
            return {};
        QStringList lines{it.title};
        for (const auto &[label, p] : m_rows[size_t(row)].top)
            lines << QStringLiteral("%1  %2").arg(qs(label)).arg(p, 0, 'f', 3);
        return lines.join(QLatin1Char('\n'));
    }
    case SortRole:
    case Qt::DisplayRole: break;
    default: return {};
    }
    switch (index.column()) {
    case Title: return it.title;
    case Truth: return it.truth;
    case Predicted: return it.predicted;
    case Confidence: return role == SortRole ? QVariant(it.confidence) : QVariant(QString::number(it.confidence, 'f', 3));
    case PTrue:
        if (std::isnan(it.pTrue))
            return QString();
        return role == SortRole ? QVariant(it.pTrue) : QVariant(QString::number(it.pTrue, 'f', 3));
    case Correct: return role == SortRole ? QVariant(it.correct) : QVariant(it.correct ? tr("yes") : tr("no"));
    case ExampleId: return it.id;
    default: return {};
    }
}

void PredictionsModel::setMaskedTokens(bool maskedTokens)
{
    if (maskedTokens == m_maskedTokens)
        return;
    m_maskedTokens = maskedTokens;
    Q_EMIT headerDataChanged(Qt::Horizontal, 0, columnCount() - 1);
}

QVariant PredictionsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation == Qt::Horizontal && role == Qt::ToolTipRole) {
        switch (section) {
        case Confidence: return tr("Confidence: the probability of the predicted label");
        case PTrue: return tr("The probability the model gave the true label (multi-label: the least probable of the "
                              "true labels)");
        default: return {};
        }
    }
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Title: return m_maskedTokens ? tr("Masked token in context") : tr("Title");
    case Truth: return m_maskedTokens ? tr("Original") : tr("True");
    case Predicted: return tr("Predicted");
    case Confidence: return tr("P(pred)");
    case PTrue: return tr("P(true)");
    case Correct: return tr("Correct");
    case ExampleId: return m_maskedTokens ? tr("Sequence:position") : tr("Paper id");
    default: return {};
    }
}

bool PredictionsModel::writeCsv(QIODevice *out, const std::string &split, qint64 step) const
{
    std::string text(lbk::kPredictionsCsvHeader);
    for (int row : m_visible)
        text += lbk::predictionsCsvRow(split, step, m_rows[size_t(row)], m_multiLabel);
    return out->write(text.data(), qint64(text.size())) == qint64(text.size());
}

namespace {
QString tsvCell(QString s)
{
    for (QChar &c : s)
        if (c == QLatin1Char('\t') || c == QLatin1Char('\n') || c == QLatin1Char('\r'))
            c = QLatin1Char(' ');
    return s;
}
} // namespace

QString PredictionsModel::toTsv(const QList<int> &visibleRows) const
{
    QString text = QStringLiteral("id\ttitle\ttruth\tpredicted\tconfidence\tcorrect\n");
    for (int v : visibleRows) {
        if (v < 0 || v >= int(m_visible.size()))
            continue;
        const Item &it = m_items[size_t(m_visible[size_t(v)])];
        text += tsvCell(it.id) + QLatin1Char('\t') + tsvCell(it.title) + QLatin1Char('\t') + tsvCell(it.truth) +
                QLatin1Char('\t') + tsvCell(it.predicted) +
                QLatin1Char('\t') + QString::number(it.confidence, 'f', 4) + QLatin1Char('\t') +
                (it.correct ? QStringLiteral("yes") : QStringLiteral("no")) + QLatin1Char('\n');
    }
    return text;
}

} // namespace labbook
