#pragma once
// Per-example predictions of one evaluation, filtered and sorted in memory. The rows of a step are loaded
// once; filters and sorts only rebuild a vector of row numbers (100k rows filter in a few milliseconds), so
// the table never re-queries the store while the user narrows it down.
#include <vector>

#include <QAbstractTableModel>
#include <QHash>
#include <QStringList>

#include "store/store.h"

class QIODevice;

namespace labbook {

struct PredictionQuery {
    bool misclassifiedOnly = false;
    QString trueLabel;      // empty: any
    QString predictedLabel; // among the predicted labels (multi-label: any at 0.5 or above); empty: any
    double minConfidence = 0, maxConfidence = 1; // top-1 probability
    QString text;           // substring of the title or id, case-insensitive
    bool operator==(const PredictionQuery &) const = default;
};

class PredictionsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Title, Truth, Predicted, Confidence, PTrue, Correct, ExampleId, ColumnCount };
    enum Role { CorrectRole = Qt::UserRole + 1, ConfidenceRole, ExampleIdRole, SortRole };

    using QAbstractTableModel::QAbstractTableModel;

    // multiLabel: a row predicts every label at 0.5 or above (possibly none), else its most probable one.
    void setRows(std::vector<lbk::PredictionRow> rows, bool multiLabel = false);
    void clear() { setRows({}); }
    void setQuery(const PredictionQuery &query);
    const PredictionQuery &query() const { return m_query; }

    int totalCount() const { return int(m_rows.size()); }
    const lbk::PredictionRow *rowAt(int visibleRow) const;
    QStringList labels() const { return m_labelNames; } // every label seen in truth or predictions
    // An MLM run's rows are masked tokens in their context, not papers: the headers say so.
    void setMaskedTokens(bool maskedTokens);
    bool maskedTokens() const { return m_maskedTokens; }

    // The visible rows as CSV, in the columns `lbk export --what predictions` writes (store/predictionscsv.h), with
    // the split and step they were loaded for; the given visible rows as tab-separated text for the clipboard (a tab
    // or line break inside a title becomes a space there: a spreadsheet would split the row at it).
    bool writeCsv(QIODevice *out, const std::string &split, qint64 step) const;
    QString toTsv(const QList<int> &visibleRows) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    void sort(int column, Qt::SortOrder order = Qt::AscendingOrder) override;

private:
    struct Item {
        QString title, truth, predicted, id;
        std::string haystack; // case-folded title and id as UTF-8: memmem is several times faster than QString::contains
        std::vector<int> truthIds;
        std::vector<int> predictedIds; // the top label; multi-label: every label at 0.5 or above (maybe none)
        double confidence = 0, pTrue = 0;
        bool correct = false;
    };
    void refilter();
    void sortOrder();
    int labelId(const std::string &name);

    std::vector<lbk::PredictionRow> m_rows;
    std::vector<Item> m_items;
    std::vector<int> m_order;   // every row, in the current sort order
    std::vector<int> m_visible; // the rows that pass the query, in that order
    QStringList m_labelNames;
    QHash<QString, int> m_labelIds;
    PredictionQuery m_query;
    bool m_maskedTokens = false;
    bool m_multiLabel = false;
    int m_sortColumn = Confidence;
    Qt::SortOrder m_sortOrder = Qt::DescendingOrder;
};

} // namespace labbook
