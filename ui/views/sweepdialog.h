#pragma once
// Set up a sweep of the form's experiment: tick the keys to vary (the schema's numeric, choice and on/off keys
// that apply to this experiment) and give each a range (log-uniform for rates, with the schema's limits) or values;
// then the method, the budget, early stopping, how many at once and where. Checked as a sweep file is, as you type;
// Start gives the sweep's JSON (its base experiment inline), which the window hands to a detached `lbk sweep`.
#include <optional>

#include <QDialog>
#include <QSet>

#include <nlohmann/json.hpp>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace labbook {

class SweepDialog : public QDialog {
    Q_OBJECT
public:
    SweepDialog(const nlohmann::json &experiment, const QStringList &targets, const QString &target,
                QWidget *parent = nullptr);

    // The names the store's sweeps already have: the proposed name becomes NAME-2, NAME-3... (two sweeps of one
    // name made `lbk sweep show NAME` and the trials' run names pick the newest without a word).
    void avoidNames(const QSet<QString> &taken);
    // "Sweep around this rate": optimizer.lr ticked, log-uniform from rate / 10 to rate * 10.
    void sweepAroundRate(double rate);
    // Ticks a key and sets its range (kind "log_uniform", "uniform", "int_uniform") or values ("values", comma list).
    bool setParameter(const QString &key, const QString &kind, const QString &low, const QString &high);
    nlohmann::json sweep() const; // the sweep as a sweep file would hold it
    QString problems() const;     // empty when the sweep is valid
    QTableWidget *keys() const { return m_keys; }
    QSpinBox *trials() const { return m_trials; }
    QComboBox *stopping() const { return m_stopping; }
    QSpinBox *parallel() const { return m_parallel; }
    QPushButton *startButton() const { return m_start; }

Q_SIGNALS:
    void startRequested(const nlohmann::json &sweep);

private:
    void addKeyRows();
    int rowOf(const QString &key) const;
    void fitRowToKind(QComboBox *kind);
    void revalidate();

    nlohmann::json m_experiment;
    QTableWidget *m_keys = nullptr;
    QComboBox *m_method = nullptr, *m_stopping = nullptr, *m_target = nullptr;
    QSpinBox *m_trials = nullptr, *m_seed = nullptr, *m_parallel = nullptr;
    QLineEdit *m_name = nullptr, *m_metric = nullptr;
    QLabel *m_problems = nullptr;
    QPushButton *m_start = nullptr;
};

} // namespace labbook
