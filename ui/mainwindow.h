#pragma once
// The workbench window: the run list on the left; the experiment form, the run view and the compare view as
// tabs. Runs are worker processes (never threads here): the window stays responsive while they train,
// closing it leaves them running, and reopening it picks them up live again.
#include <QMainWindow>

#include <nlohmann/json.hpp>

class QLabel;
class QTabWidget;

namespace labbook {

class CompareView;
class ExperimentForm;
class RunView;
class RunsBrowser;
class StoreService;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    enum Page { FormPage, RunPage, ComparePage };
    // storePath empty: the last store (QSettings), else lbk::Store::defaultPath().
    explicit MainWindow(const QString &storePath = {}, QWidget *parent = nullptr);
    ~MainWindow() override;

    StoreService *store() const { return m_store; }
    ExperimentForm *form() const { return m_form; }
    RunView *runView() const { return m_runView; }
    CompareView *compareView() const { return m_compare; }
    RunsBrowser *runsBrowser() const { return m_runs; }
    QTabWidget *pages() const { return m_pages; }

    void openStore(const QString &path);
    // Validates, creates the run and starts its worker; runLaunched() or launchFailed() follows.
    void launch(const nlohmann::json &experiment, bool lrFind, const QString &target = QStringLiteral("local"));
    void showRun(qint64 id);
    void compareRuns(const std::vector<qint64> &ids);
    void duplicateConfig(qint64 id);
    // Skips "save changes?" questions (tests, and closing after a save).
    void setConfirmOnClose(bool on) { m_confirmOnClose = on; }

Q_SIGNALS:
    void runLaunched(qint64 runId);
    void launchFailed(const QString &message);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void buildMenus();
    void restoreSettings();
    void saveSettings();
    void exportCurrentPlot();
    void updateTitle();

    StoreService *m_store = nullptr;
    RunsBrowser *m_runs = nullptr;
    QTabWidget *m_pages = nullptr;
    ExperimentForm *m_form = nullptr;
    RunView *m_runView = nullptr;
    CompareView *m_compare = nullptr;
    QLabel *m_storeLabel = nullptr;
    bool m_confirmOnClose = true;
};

} // namespace labbook
