#pragma once
// A run's log lines (worker messages, warnings, errors) with the reason of a failed or interrupted run shown
// prominently above them.
#include <QWidget>

#include "store/store.h"

class QLabel;
class QPlainTextEdit;

namespace labbook {

class StoreService;

class LogPage : public QWidget {
    Q_OBJECT
public:
    explicit LogPage(StoreService *store, QWidget *parent = nullptr);
    void setRun(const lbk::RunSummary &run);
    void refresh();
    QString text() const;
    QString errorText() const;

private:
    StoreService *m_store;
    lbk::RunSummary m_run;
    QLabel *m_error = nullptr;
    QPlainTextEdit *m_log = nullptr;
    int m_generation = 0;
};

} // namespace labbook
