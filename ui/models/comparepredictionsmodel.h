#pragma once
// The predictions of several runs joined by paper id (the papers every run evaluated), so one can list the
// titles one run gets right and another wrong. Filters by outcome of a chosen pair of runs, and by text.
#include <vector>

#include <QAbstractTableModel>
#include <QStringList>

#include "store/store.h"

namespace labbook {

class ComparePredictionsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum class Outcome { All, FirstRightSecondWrong, FirstWrongSecondRight, BothWrong, Disagree };
    enum Role { CorrectRole = Qt::UserRole + 1, ExampleIdRole };
    using QAbstractTableModel::QAbstractTableModel;

    // The runs' latest predictions, of one task (multiLabel: rows predict sets, as PredictionsModel::setRows).
    void setRuns(const QStringList &runNames, const std::vector<std::vector<lbk::PredictionRow>> &predictions,
                 bool multiLabel = false);
    void setPair(int first, int second); // run indices the outcome filter compares
    void setOutcome(Outcome outcome);
    void setText(const QString &text);
    int joinedCount() const { return int(m_joined.size()); }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    struct Cell {
        QString predicted;
        double confidence = 0;
        bool correct = false;
    };
    struct Joined {
        QString id, title, truth;
        std::vector<Cell> cells;
    };
    void refilter();
    QStringList m_names;
    std::vector<Joined> m_joined;
    std::vector<int> m_visible;
    int m_first = 0, m_second = 1;
    Outcome m_outcome = Outcome::All;
    QString m_text;
};

} // namespace labbook
