#pragma once
// The workbench window: the run list on the left; the experiment form, the run view and the compare view as
// tabs. Runs are worker processes (never threads here): the window stays responsive while they train,
// closing it leaves them running, and reopening it picks them up live again.
#include <QMainWindow>

#include <optional>

#include <nlohmann/json.hpp>

class QLabel;
class QTabWidget;

namespace labbook {

class CompareView;
class ExperimentForm;
class FirstRunHint;
class RunView;
class RunService;
class RunsBrowser;
class StoreService;
class SweepDialog;
class SweepPage;
class TargetsDialog;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    enum Page { FormPage, RunPage, ComparePage, SweepsPage };
    // storePath empty: the last store (QSettings), else lbk::Store::defaultPath().
    explicit MainWindow(const QString &storePath = {}, QWidget *parent = nullptr);
    ~MainWindow() override;

    StoreService *store() const { return m_store; }
    RunService *runService() const { return m_runService; }
    ExperimentForm *form() const { return m_form; }
    RunView *runView() const { return m_runView; }
    CompareView *compareView() const { return m_compare; }
    SweepPage *sweepPage() const { return m_sweeps; }
    RunsBrowser *runsBrowser() const { return m_runs; }
    QTabWidget *pages() const { return m_pages; }
    FirstRunHint *firstRunHint() const { return m_hint; }

    void openStore(const QString &path);
    // Validates, creates the run and starts its worker, here or on a target of the targets file (staging there
    // runs off the GUI thread, its steps in the status bar); runLaunched() or launchFailed() follows.
    void launch(const nlohmann::json &experiment, bool lrFind, const QString &target = {}); // empty: this machine
    // The form's experiment on the form's target, unless the form shows a problem (Run menu, first-run hint).
    void launchForm(bool lrFind);
    // Resume or cancel a run wherever it runs; the outcome goes to the status bar (failures also to a message box).
    void resumeRun(qint64 id);
    void cancelRun(qint64 id);
    // Settings > Targets (non-modal; saving it reloads the form's target list).
    TargetsDialog *openTargetsDialog();
    void showRun(qint64 id);
    // showRun() once the run list holds the run (a run just created may not be listed yet).
    void showRunWhenListed(qint64 id);
    // Compares the runs; `folded` says which runs folded rows of the list stood for (RunsBrowser::comparison()).
    void compareRuns(const std::vector<qint64> &ids, const QStringList &folded = {});
    void compareSelection(); // the run list's selection, a folded run group as all its runs
    // The sweep dialog for an experiment (around a rate when given); Start runs `lbk sweep` detached.
    SweepDialog *openSweepDialog(const nlohmann::json &experiment, const QString &target, std::optional<double> rate = {});
    // Writes the sweep beside the store's runs and starts `lbk sweep` on it in its own session.
    void startSweep(const nlohmann::json &sweep);
    void watchSweepProcess(qint64 pid, const QString &log);
    void duplicateConfig(qint64 id);
    // Skips "save changes?" questions (tests, and closing after a save).
    void setConfirmOnClose(bool on);

Q_SIGNALS:
    void runLaunched(qint64 runId);
    void launchFailed(const QString &message);
    void runCancelRequested(qint64 runId, bool ok, const QString &message);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void buildPages();
    void connectRunList();
    void connectStoreAndHint();
    void connectFormAndLrFinder();
    void buildMenus();
    void buildFileMenu();
    void buildRunMenu();
    void buildViewMenu();
    void restoreSettings();
    void saveSettings();
    void exportCurrentPlot();
    void updateTitle();
    void targetsChanged();
    void showProblem(const QString &title, const QString &message); // non-modal, so nothing waits on it

    StoreService *m_store = nullptr;
    RunService *m_runService = nullptr;
    RunsBrowser *m_runs = nullptr;
    QTabWidget *m_pages = nullptr;
    ExperimentForm *m_form = nullptr;
    RunView *m_runView = nullptr;
    CompareView *m_compare = nullptr;
    SweepPage *m_sweeps = nullptr;
    QLabel *m_storeLabel = nullptr;
    FirstRunHint *m_hint = nullptr;
    QString m_savedTarget; // the target chosen last time, applied once the targets file is read
};

} // namespace labbook
