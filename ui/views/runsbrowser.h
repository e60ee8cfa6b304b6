#pragma once
// Every run in the store: status (live), name, experiment, task, key metrics, start, duration, host, tags and
// notes; sortable, searchable, filterable; multi-select for compare and delete; name, tags and notes editable
// in place.
#include <functional>
#include <vector>

#include <QStringList>
#include <QWidget>

class QAction;
class QCheckBox;
class QComboBox;
class QHBoxLayout;
class QLabel;
class QLineEdit;
class QTableView;

namespace labbook {

class RunsFilterProxy;
class RunsModel;
class StoreService;

class RunsBrowser : public QWidget {
    Q_OBJECT
public:
    explicit RunsBrowser(StoreService *store, QWidget *parent = nullptr);

    RunsModel *model() const { return m_model; }
    RunsFilterProxy *proxy() const { return m_proxy; }
    QTableView *view() const { return m_view; }
    QLineEdit *searchField() const { return m_search; }
    std::vector<qint64> selectedRunIds() const;
    // What Compare takes for the selection: a folded run group's every run (each seed; its row alone showed one),
    // a folded sweep's best trial, every other row's run; each run once. `folded` says it of each folded row, for
    // Compare's header ("top20-seeds: its 3 runs, one per seed").
    struct Comparison {
        std::vector<qint64> runs;
        QStringList folded;
    };
    Comparison comparison() const;
    void selectRun(qint64 id);
    QByteArray saveHeaderState() const;
    void restoreHeaderState(const QByteArray &state);

public Q_SLOTS:
    void deleteSelected();     // asks first
    void editNotesOfCurrent(); // multi-line notes dialog

Q_SIGNALS:
    void runActivated(qint64 id);
    void selectionChanged(const std::vector<qint64> &ids);
    void compareRequested(); // the selection (comparison())
    void duplicateRequested(qint64 id);
    void resumeRequested(qint64 id);
    void cancelRequested(qint64 id);
    // A name, tag or note edit the store refused (locked by another process, read-only): the list shows the old.
    void editFailed(const QString &message);

private:
    QHBoxLayout *buildFilters(QHBoxLayout *searchRow);
    QTableView *buildTable();
    void connectFilters();
    void refilter(const std::function<void()> &apply); // apply() with m_filtering set
    void showContextMenu(const QPoint &pos);
    void saveEdit(qint64 id, int column, const QString &value);
    void setDefaultColumns();
    void storeRunsChanged();
    void updateFilterChoices();
    StoreService *m_store;
    RunsModel *m_model = nullptr;
    RunsFilterProxy *m_proxy = nullptr;
    QTableView *m_view = nullptr;
    QLineEdit *m_search = nullptr;
    QComboBox *m_status = nullptr, *m_experiment = nullptr, *m_task = nullptr;
    QLabel *m_count = nullptr;
    QCheckBox *m_fold = nullptr;
    bool m_filtering = false; // a filter or fold is being applied: the selection it shrinks opens nothing
    qint64 m_selectedAlone = 0; // the run selected on its own, so a reload that keeps it does not open it again
    QAction *m_delete = nullptr; // the Delete key and the context menu's entry
};

} // namespace labbook
