#include "mainwindow.h"

#include <algorithm>
#include <memory>

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDockWidget>
#include <QTimer>
#include <QFile>
#include <QDir>
#include <QDateTime>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QScreen>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>
#include <QVBoxLayout>

#include "experiment/schema.h"
#include "filedialogs.h"
#include "format.h"
#include "launch/local.h"
#include "plots/plotwidget.h"
#include "runservice.h"
#include "storeservice.h"
#include "usecases/runactions.h"
#include "util/filebytes.h"
#include "views/sweepdialog.h"
#include "views/sweeppage.h"
#include "launch/process.h"
#include "theme.h"
#include "views/compareview.h"
#include "views/experimentform.h"
#include "views/firstrunhint.h"
#include "views/lrfinderpage.h"
#include "views/runsbrowser.h"
#include "views/runview.h"
#include "views/targetsdialog.h"

// The icon and other resources live in the static labbook_ui library: register them explicitly, or the
// linker drops them (Q_INIT_RESOURCE must be called outside any namespace).
static void initLabbookResources()
{
    Q_INIT_RESOURCE(labbook);
}

namespace labbook {

MainWindow::MainWindow(const QString &storePath, QWidget *parent)
    : QMainWindow(parent)
{
    initLabbookResources();
    useDigitGrouping();
    setObjectName(QStringLiteral("labbookMainWindow"));
    setWindowIcon(QIcon(QStringLiteral(":/labbook/labbook.svg")));
    m_store = new StoreService(this);
    m_runService = new RunService(m_store, this);
    m_runs = new RunsBrowser(m_store, this);
    auto *dock = new QDockWidget(tr("Runs"), this);
    dock->setObjectName(QStringLiteral("runsDock"));
    dock->setWidget(m_runs);
    dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable | QDockWidget::DockWidgetClosable);
    addDockWidget(Qt::LeftDockWidgetArea, dock);
    buildPages();
    m_storeLabel = new QLabel(this);
    statusBar()->addPermanentWidget(m_storeLabel);
    connectRunList();
    connectStoreAndHint();
    connectFormAndLrFinder();
    buildMenus();
    restoreSettings();
    targetsChanged();
    QString path = storePath;
    if (path.isEmpty())
        path = QSettings().value(QStringLiteral("store/path")).toString();
    if (path.isEmpty())
        path = qs(lbk::Store::defaultPath().string());
    openStore(path);
    m_store->setPollInterval(1000);
    updateTitle();
}

// The Experiment, Run, Compare and Sweeps pages under the first-run hint.
void MainWindow::buildPages()
{
    m_pages = new QTabWidget(this);
    m_pages->setObjectName(QStringLiteral("pages"));
    m_form = new ExperimentForm(m_pages);
    // init_from "run:REF" asked of this store as a launch resolves it (lbk validate asks the same).
    m_form->setInitRunCheck([this](const lbk::Experiment &e, std::function<void(QString, QString)> done) {
        if (!m_store->isOpen())
            return done(QString(), QString());
        m_store->request<std::pair<std::string, std::string>>(
            m_form,
            [e](lbk::Store &store) -> std::pair<std::string, std::string> {
                std::vector<std::string> notes;
                auto resolved = lbk::usecase::resolveInitRun(store, e, notes);
                if (!resolved)
                    return {resolved.message(), {}};
                const auto pre = store.run(resolved->model.initRun().ref); // by uid now
                if (!pre)
                    return {};
                return {{}, "run #" + std::to_string(pre->id) + " " + pre->name + " (" + lbk::toString(pre->status) +
                                ", last step " + std::to_string(pre->lastStep) + ") of this store"};
            },
            [done = std::move(done)](std::pair<std::string, std::string> answer) {
                done(QString::fromStdString(answer.first), QString::fromStdString(answer.second));
            });
    });
    m_runView = new RunView(m_store, m_pages);
    m_compare = new CompareView(m_store, m_pages);
    m_pages->addTab(m_form, tr("Experiment"));
    m_pages->addTab(m_runView, tr("Run"));
    m_pages->addTab(m_compare, tr("Compare"));
    m_sweeps = new SweepPage(m_store, m_pages);
    m_pages->addTab(m_sweeps, tr("Sweeps"));
    m_hint = new FirstRunHint(this);
    auto *central = new QWidget(this);
    auto *centralLayout = new QVBoxLayout(central);
    centralLayout->setContentsMargins(0, 0, 0, 0);
    centralLayout->addWidget(m_hint);
    centralLayout->addWidget(m_pages, 1);
    setCentralWidget(central);
}

// The run list drives the pages: a run opens on the Run page, a selection is compared, a sweep's best opens.
void MainWindow::connectRunList()
{
    connect(m_runs, &RunsBrowser::runActivated, this, &MainWindow::showRun);
    connect(m_runs, &RunsBrowser::compareRequested, this, &MainWindow::compareSelection);
    connect(m_runs, &RunsBrowser::editFailed, this, [this](const QString &m) { showProblem(tr("Edit run"), m); });
    // The Compare tab compares what is selected: when it is opened, and as the selection changes while it is open.
    connect(m_runs, &RunsBrowser::selectionChanged, this, [this] {
        if (m_pages->currentWidget() == m_compare && m_runs->comparison().runs.size() >= 2)
            compareSelection();
    });
    connect(m_pages, &QTabWidget::currentChanged, this, [this](int page) {
        if (page == ComparePage && m_runs->comparison().runs.size() >= 2)
            compareSelection();
        if (page == SweepsPage)
            m_sweeps->reload();
    });
    connect(m_sweeps, &SweepPage::openRunRequested, this, &MainWindow::showRun);
    connect(m_sweeps, &SweepPage::openExperimentRequested, this, [this](const nlohmann::json &experiment) {
        if (!m_form->mayReplace(tr("Open best as experiment")))
            return;
        m_form->setExperiment(experiment, {}, true);
        m_pages->setCurrentWidget(m_form);
        statusBar()->showMessage(tr("The form holds the sweep's best trial; change it and launch."), 5000);
    });
    connect(m_runs, &RunsBrowser::duplicateRequested, this, &MainWindow::duplicateConfig);
    connect(m_runs, &RunsBrowser::resumeRequested, this, &MainWindow::resumeRun);
    connect(m_runs, &RunsBrowser::cancelRequested, this, &MainWindow::cancelRun);
}

// The store's and the run service's news (status bar, title, the first-run hint) and the hint's buttons.
void MainWindow::connectStoreAndHint()
{
    connect(m_store, &StoreService::runsUpdated, m_runView, &RunView::runsUpdated);
    connect(m_store, &StoreService::runsChanged, this, [this] {
        m_hint->setRunCount(m_store->isOpen() ? int(m_store->runs().size()) : -1);
    });
    const QString debugExperiment = ExperimentForm::experimentsFolder() + QStringLiteral("/debug.json");
    m_hint->setDebugExperiment(debugExperiment);
    m_hint->setLaunchEnabled(m_form->isValid());
    connect(m_form, &ExperimentForm::validated, m_hint, &FirstRunHint::setLaunchEnabled);
    connect(m_hint, &FirstRunHint::openDebugRequested, this, [this, debugExperiment] {
        QString error;
        if (!m_form->openFile(debugExperiment, &error))
            showProblem(tr("Open experiment"), error);
        m_pages->setCurrentWidget(m_form);
    });
    connect(m_hint, &FirstRunHint::openFileRequested, this, [this] {
        m_pages->setCurrentWidget(m_form);
        m_form->openInteractively();
    });
    connect(m_hint, &FirstRunHint::launchRequested, this,
            [this] { launchForm(false); });
    connect(m_runView, &RunView::openRunRequested, this, &MainWindow::showRun);
    connect(m_store, &StoreService::storeOpened, this, [this](const QString &path, const QString &error) {
        // The run, the comparison and the sweep shown were the store before's, not this one's.
        m_runView->clear(error.isEmpty() ? tr("Choose a run in the list.") : tr("No store is open."));
        m_compare->setRuns({});
        m_sweeps->showSweep(0);
        if (!error.isEmpty()) { // not remembered: the next start opens the last store that did open
            m_storeLabel->setText(tr("No store open (%1 was refused)").arg(QDir::toNativeSeparators(path)));
            showProblem(tr("Open store"), error);
            return;
        }
        QSettings().setValue(QStringLiteral("store/path"), path);
        m_storeLabel->setText(tr("Store: %1").arg(QDir::toNativeSeparators(path)));
        updateTitle();
    });
    connect(m_store, &StoreService::storeDamaged, this,
            [this](const QString &message) { showProblem(tr("Store damaged"), message); });
    connect(m_store, &StoreService::syncWarning, this,
            [this](const QString &m) { statusBar()->showMessage(m, 8000); });
    connect(m_runService, &RunService::syncWarning, this,
            [this](const QString &m) { statusBar()->showMessage(m, 10000); });
    connect(m_runService, &RunService::notice, this, [this](const QString &m) { statusBar()->showMessage(m, 30000); });
    connect(m_runService, &RunService::targetsChanged, this, &MainWindow::targetsChanged);
}

// Launch and sweep from the form; the LR finder's rate into the form or a sweep around it.
void MainWindow::connectFormAndLrFinder()
{
    connect(m_form, &ExperimentForm::launchRequested, this, &MainWindow::launch);
    connect(m_form, &ExperimentForm::sweepRequested, this,
            [this](const nlohmann::json &experiment, const QString &target) { openSweepDialog(experiment, target); });
    connect(m_runView->lrFinder(), &LrFinderPage::sweepAroundRate, this, [this](double lr, const nlohmann::json &config) {
        openSweepDialog(lbk::withRecordedDefaults(config), m_form->currentTarget(), lr);
    });
    connect(m_form, &ExperimentForm::modifiedChanged, this, &MainWindow::updateTitle);
    connect(m_form, &ExperimentForm::fileChanged, this, &MainWindow::updateTitle);
    connect(m_runView->lrFinder(), &LrFinderPage::useRate, this, [this](double lr, const nlohmann::json &config) {
        // An empty or different form gets the LR test's experiment first, so the rate lands where it belongs.
        const auto formName = m_form->fieldValue(QStringLiteral("name"));
        if (config.is_object() && formName != config.value("name", nlohmann::json())) {
            if (!m_form->mayReplace(tr("Use this rate")))
                return;
            m_form->setExperiment(lbk::withRecordedDefaults(config), {}, true);
        }
        m_form->setFieldValue(QStringLiteral("optimizer.lr"), lr);
        m_pages->setCurrentWidget(m_form);
        m_form->showField(QStringLiteral("optimizer.lr"));
        statusBar()->showMessage(tr("optimizer.lr set to %1").arg(QString::number(lr, 'g', 3)), 5000);
    });
}

MainWindow::~MainWindow() = default;

void MainWindow::buildMenus()
{
    buildFileMenu();
    buildRunMenu();
    buildViewMenu();
    auto *settings = menuBar()->addMenu(tr("&Settings"));
    settings->addAction(tr("&Targets..."), this, [this] { openTargetsDialog(); });
    auto *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About Labbook"), this, [this] {
        QMessageBox::about(this, tr("About Labbook"),
                           tr("<b>Labbook %1</b><br>An experiment workbench for text classification.<br>"
                              "Runs train in separate <code>lbk worker</code> processes and are recorded in the "
                              "store: %2")
                               .arg(QStringLiteral(LABBOOK_VERSION), m_store->path().toHtmlEscaped()));
    });
}

void MainWindow::buildFileMenu()
{
    auto *file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&New experiment"), QKeySequence::New, m_form, &ExperimentForm::newExperiment);
    file->addAction(tr("&Open experiment..."), QKeySequence::Open, m_form, &ExperimentForm::openInteractively);
    file->addAction(tr("&Save experiment"), QKeySequence::Save, m_form, &ExperimentForm::save);
    // Not QKeySequence::SaveAs: it is empty outside GNOME and KDE (a bare X server, other desktops).
    file->addAction(tr("Save experiment &as..."), QKeySequence(tr("Ctrl+Shift+S")), m_form, &ExperimentForm::saveAs);
    file->addSeparator();
    file->addAction(tr("Open s&tore..."), QKeySequence(tr("Ctrl+Shift+O")), this, [this] {
        const QString path = filedialogs::saveFile(this, tr("Open or create a run store"), m_store->path(),
                                                   tr("Labbook stores (*.db);;All files (*)"), nullptr,
                                                   QFileDialog::DontConfirmOverwrite);
        if (!path.isEmpty())
            openStore(path);
    });
    file->addAction(tr("&Export current plot..."), QKeySequence(tr("Ctrl+E")), this, &MainWindow::exportCurrentPlot);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
}

// Launch, resume, cancel and the actions on the selected runs.
void MainWindow::buildRunMenu()
{
    auto *run = menuBar()->addMenu(tr("&Run"));
    run->addAction(tr("&Launch"), QKeySequence(tr("Ctrl+R")), this,
                   [this] { launchForm(false); });
    run->addAction(tr("&Find LR"), QKeySequence(tr("Ctrl+Shift+L")), this,
                   [this] { launchForm(true); });
    run->addAction(tr("&Resume selected run"), this, [this] {
        const auto ids = m_runs->selectedRunIds();
        if (!ids.empty())
            resumeRun(ids.front());
    });
    run->addAction(tr("Ca&ncel selected run"), this, [this] {
        const auto ids = m_runs->selectedRunIds();
        if (!ids.empty())
            cancelRun(ids.front());
    });
    run->addSeparator();
    run->addAction(tr("&Compare selected"), QKeySequence(tr("Ctrl+D")), this, &MainWindow::compareSelection);
    run->addAction(tr("&Duplicate config into the form"), QKeySequence(tr("Ctrl+Shift+D")), this, [this] {
        const auto ids = m_runs->selectedRunIds();
        if (!ids.empty())
            duplicateConfig(ids.front());
    });
    run->addAction(tr("Edit &notes..."), QKeySequence(tr("Ctrl+Shift+N")), m_runs, &RunsBrowser::editNotesOfCurrent);
    run->addAction(tr("&Delete selected..."), QKeySequence(tr("Ctrl+Shift+Delete")), m_runs, &RunsBrowser::deleteSelected);
}

// The pages, the run list's dock and the colour scheme.
void MainWindow::buildViewMenu()
{
    auto *view = menuBar()->addMenu(tr("&View"));
    view->addAction(tr("&Experiment form"), QKeySequence(tr("Ctrl+1")), this, [this] { m_pages->setCurrentIndex(FormPage); });
    view->addAction(tr("&Run"), QKeySequence(tr("Ctrl+2")), this, [this] { m_pages->setCurrentIndex(RunPage); });
    view->addAction(tr("&Compare"), QKeySequence(tr("Ctrl+3")), this, [this] { m_pages->setCurrentIndex(ComparePage); });
    view->addAction(tr("Find &runs"), QKeySequence::Find, this, [this] {
        m_runs->searchField()->setFocus();
        m_runs->searchField()->selectAll();
    });
    if (auto *dock = findChild<QDockWidget *>(QStringLiteral("runsDock")))
        view->addAction(dock->toggleViewAction());
    view->addSeparator();
    auto *schemes = view->addMenu(tr("&Appearance"));
    auto *group = new QActionGroup(this);
    const QString current = QSettings().value(QStringLiteral("ui/colorScheme"), QStringLiteral("system")).toString();
    for (const auto &[key, label] : {std::pair{QStringLiteral("system"), tr("Follow the system")},
                                     std::pair{QStringLiteral("light"), tr("Light")},
                                     std::pair{QStringLiteral("dark"), tr("Dark")}}) {
        auto *a = schemes->addAction(label);
        a->setCheckable(true);
        a->setChecked(key == current);
        group->addAction(a);
        connect(a, &QAction::triggered, this, [key = key] {
            QSettings().setValue(QStringLiteral("ui/colorScheme"), key);
            applyColorScheme(key);
        });
    }
}

void MainWindow::openStore(const QString &path)
{
    m_store->open(path);
    m_storeLabel->setText(tr("Opening %1...").arg(path));
}

void MainWindow::launchForm(bool lrFind)
{
    if (!m_form->isValid()) { // what the form's own buttons refuse, the menu and the hint refuse too
        m_pages->setCurrentWidget(m_form);
        const QString msg = tr("The experiment has problems; they are listed under the form.");
        statusBar()->showMessage(msg, 8000);
        Q_EMIT launchFailed(msg);
        return;
    }
    launch(m_form->experiment(), lrFind, m_form->currentTarget());
}

void MainWindow::launch(const nlohmann::json &experiment, bool lrFind, const QString &target)
{
    auto parsed = lbk::experimentFromJson(experiment);
    if (!parsed) {
        const QString msg = qs(parsed.message());
        QMessageBox::warning(this, tr("Launch"), tr("The experiment has problems:\n\n%1").arg(msg));
        Q_EMIT launchFailed(msg);
        return;
    }
    lbk::LaunchRequest request;
    request.lrFind = lrFind;
    request.experimentFile = ss(m_form->sourceFile());
    // Off the GUI thread (staging on a remote target takes a round trip or two, plus the data when the target
    // lacks it); its steps show in the status bar as they happen.
    statusBar()->showMessage(lrFind ? tr("Starting the LR range test on %1...").arg(target)
                                    : tr("Launching on %1...").arg(target));
    m_runService->launch(parsed.value(), request, target, this, [this, lrFind, target](RunService::Outcome o) {
        m_store->reloadRuns();
        if (!o.ok) {
            const QString msg = tr("Launch on %1 failed: %2").arg(target, o.message);
            statusBar()->showMessage(msg, 15000);
            showProblem(tr("Launch on %1").arg(target), msg);
            Q_EMIT launchFailed(msg);
            return;
        }
        if (o.workerPid > 0)
            m_store->adoptChild(o.workerPid);
        statusBar()->showMessage(o.message, 8000);
        showRunWhenListed(o.runId);
        if (lrFind)
            m_runView->tabs()->setCurrentIndex(RunView::LrFinder);
        Q_EMIT runLaunched(o.runId);
    });
}

void MainWindow::resumeRun(qint64 id)
{
    statusBar()->showMessage(tr("Resuming run #%1...").arg(id));
    m_runService->resume(id, this, [this](RunService::Outcome o) {
        if (o.workerPid > 0)
            m_store->adoptChild(o.workerPid);
        m_store->reloadRuns();
        statusBar()->showMessage(o.message, o.ok ? 8000 : 15000);
        if (!o.ok)
            showProblem(tr("Resume run"), o.message);
    });
}

void MainWindow::cancelRun(qint64 id)
{
    statusBar()->showMessage(tr("Cancelling run #%1...").arg(id));
    m_runService->cancel(id, this, [this, id](RunService::Outcome o) {
        m_store->reloadRuns();
        statusBar()->showMessage(o.message, o.ok ? 8000 : 15000);
        if (!o.ok)
            showProblem(tr("Cancel run"), o.message);
        Q_EMIT runCancelRequested(id, o.ok, o.message);
    });
}

TargetsDialog *MainWindow::openTargetsDialog()
{
    if (auto *open = findChild<TargetsDialog *>())
        if (open->isVisible()) {
            open->raise();
            open->activateWindow();
            return open;
        }
    auto *dialog = new TargetsDialog(m_runService->targetsPath(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &TargetsDialog::saved, m_runService, &RunService::reloadTargets);
    dialog->show();
    return dialog;
}

void MainWindow::targetsChanged()
{
    std::vector<ExperimentForm::TargetChoice> choices;
    for (const auto &t : m_runService->targets().targets)
        choices.push_back({qs(t.name), qs(t.listed())});
    m_form->setTargets(choices, m_runService->targetsPath(), m_runService->targetsError());
    if (!m_savedTarget.isEmpty() && m_form->setCurrentTarget(m_savedTarget))
        m_savedTarget.clear();
    if (!m_runService->targetsError().isEmpty())
        statusBar()->showMessage(tr("The targets file has problems (Settings > Targets): %1")
                                     .arg(m_runService->targetsError().section(QLatin1Char('\n'), 0, 0)),
                                 15000);
}

void MainWindow::showProblem(const QString &title, const QString &message)
{
    auto *box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, this);
    box->setObjectName(QStringLiteral("problemBox"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setTextInteractionFlags(Qt::TextSelectableByMouse);
    box->open();
}

void MainWindow::showRun(qint64 id)
{
    if (m_runs->selectedRunIds() != std::vector<qint64>{id})
        m_runs->selectRun(id); // emits runActivated(id) again; the check above ends the loop
    if (m_runView->runId() != id)
        m_runView->showRun(id);
    m_pages->setCurrentWidget(m_runView);
}

void MainWindow::showRunWhenListed(qint64 id)
{
    // Selecting a run the list does not hold yet selects nothing, and the old selection would then bring the
    // previous run back into the run view: wait for the reload that lists it.
    const auto listed = [this, id] {
        return std::any_of(m_store->runs().begin(), m_store->runs().end(),
                           [id](const lbk::RunSummary &r) { return r.id == id; });
    };
    m_runView->showRun(id);
    m_pages->setCurrentWidget(m_runView);
    if (listed()) {
        showRun(id);
        return;
    }
    auto connection = std::make_shared<QMetaObject::Connection>();
    *connection = connect(m_store, &StoreService::runsChanged, this, [this, id, listed, connection] {
        if (!listed())
            return;
        disconnect(*connection);
        showRun(id);
    });
    m_store->reloadRuns();
}

void MainWindow::compareRuns(const std::vector<qint64> &ids, const QStringList &folded)
{
    if (ids.size() < 2) {
        statusBar()->showMessage(tr("Select two or more runs to compare (Ctrl+click in the run list)."), 5000);
        return;
    }
    if (m_compare->runIds() != ids || m_compare->folded() != folded)
        m_compare->setRuns(ids, folded);
    m_pages->setCurrentWidget(m_compare);
}

void MainWindow::compareSelection()
{
    const auto c = m_runs->comparison();
    compareRuns(c.runs, c.folded);
}

SweepDialog *MainWindow::openSweepDialog(const nlohmann::json &experiment, const QString &target,
                                         std::optional<double> rate)
{
    auto *dialog = new SweepDialog(experiment, m_form->targetNames(), target, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    // The store's sweeps, also those with no trial run yet (one still in its LR test), off the GUI thread.
    m_store->request<QSet<QString>>(
        dialog,
        [](lbk::Store &s) {
            QSet<QString> names;
            for (const auto &sweep : s.sweeps())
                names.insert(qs(sweep.name));
            return names;
        },
        [dialog](QSet<QString> names) { dialog->avoidNames(names); });
    if (rate)
        dialog->sweepAroundRate(*rate);
    connect(dialog, &SweepDialog::startRequested, this, &MainWindow::startSweep);
    dialog->show();
    return dialog;
}

void MainWindow::startSweep(const nlohmann::json &sweep)
{
    const QFileInfo store(m_store->path());
    const QString dir = store.dir().filePath(store.completeBaseName() + QStringLiteral(".runs/sweeps"));
    QDir().mkpath(dir);
    // The name as a file name's stem: a name of any text ("lr/wd", "../x") stays one file in the sweeps folder
    // (found by a review: "lr/wd" could not be written, "../x" was written outside it).
    QString name = QString::fromStdString(sweep.value("name", std::string("sweep")));
    for (QChar &c : name)
        if (!c.isLetterOrNumber() && c != QLatin1Char('-') && c != QLatin1Char('_'))
            c = QLatin1Char('_');
    const QString stem =
        name + QLatin1Char('-') + QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"));
    const QString file = QDir(dir).filePath(stem + QStringLiteral(".json"));
    if (const auto written = lbk::writeFileReplacing(file.toStdString(), sweep.dump(2) + "\n"); !written) {
        showProblem(tr("Cannot start the sweep"), QString::fromStdString(written.message()));
        return;
    }
    std::vector<std::string> args = {"--store", m_store->path().toStdString()};
    if (QFileInfo::exists(m_runService->targetsPath())) // without the file every sweep is local
        args.insert(args.end(), {"--targets", m_runService->targetsPath().toStdString()});
    args.insert(args.end(), {"sweep", file.toStdString(), "--quiet"});
    const QString log = QDir(dir).filePath(stem + QStringLiteral(".log"));
    auto proc = lbk::spawnDetached(lbk::lbkExecutable(), args, log.toStdString());
    if (!proc) {
        showProblem(tr("Cannot start the sweep"), QString::fromStdString(proc.message()));
        return;
    }
    watchSweepProcess(proc->pid, log);
    m_pages->setCurrentWidget(m_sweeps);
    statusBar()->showMessage(tr("Sweep %1 started (lbk pid %2); it goes on if this window closes.")
                                 .arg(QString::fromStdString(sweep.value("name", std::string()))).arg(proc->pid),
                             8000);
    // The sweep appears in the store once lbk has checked it (and run the LR test when it asks for one).
    QTimer::singleShot(1500, m_sweeps, [this] { m_sweeps->showSweep(0); });
}

// The detached lbk of a sweep started here: when it ends with an error (a refused sweep, a failed trial), the
// end of its log says why; this window reaps it while it lives (the sweep goes on if the window closes).
void MainWindow::watchSweepProcess(qint64 pid, const QString &log)
{
    auto *timer = new QTimer(this);
    connect(timer, &QTimer::timeout, this, [this, timer, pid, log] {
        int code = 0;
        if (!lbk::reapChild(pid, &code))
            return;
        timer->deleteLater();
        m_sweeps->showSweep(0);
        if (code == 0 || code == 3) // finished, or cancelled by the user
            return;
        QFile file(log);
        QStringList lines;
        if (file.open(QIODevice::ReadOnly))
            lines = QString::fromUtf8(file.readAll()).trimmed().split(QLatin1Char('\n'));
        const QStringList tail = lines.mid(std::max<qsizetype>(0, lines.size() - 6));
        showProblem(tr("Sweep failed"), tr("lbk sweep ended with exit code %1:\n%2\n\n(whole log: %3)")
                                            .arg(code)
                                            .arg(tail.join(QLatin1Char('\n')), log));
    });
    timer->start(500);
}

void MainWindow::duplicateConfig(qint64 id)
{
    m_store->request<nlohmann::json>(
        this,
        [id](lbk::Store &s) {
            auto r = s.runById(id);
            return r ? r->config : nlohmann::json();
        },
        [this, id](nlohmann::json config) {
            if (!config.is_object() || !m_form->mayReplace(tr("Duplicate config")))
                return;
            // An older run keeps its n-gram hash; unsaved, so New or Open asks before dropping it.
            m_form->setExperiment(lbk::withRecordedDefaults(config), {}, true);
            m_pages->setCurrentWidget(m_form);
            statusBar()->showMessage(tr("The form holds run #%1's config; change it and launch.").arg(id), 5000);
        });
}

void MainWindow::exportCurrentPlot()
{
    // The plot under the mouse, else the first visible plot of the current page.
    PlotWidget *plot = nullptr;
    for (QWidget *w = QApplication::widgetAt(QCursor::pos()); w && !plot; w = w->parentWidget())
        plot = qobject_cast<PlotWidget *>(w);
    if (!plot)
        for (auto *p : m_pages->currentWidget()->findChildren<PlotWidget *>())
            if (p->isVisible()) {
                plot = p;
                break;
            }
    if (plot)
        plot->exportInteractively();
    else
        statusBar()->showMessage(tr("No plot on this page."), 3000);
}

void MainWindow::updateTitle()
{
    QString file = m_form->sourceFile().isEmpty() ? tr("unsaved experiment") : QFileInfo(m_form->sourceFile()).fileName();
    setWindowTitle(QStringLiteral("%1%2 - Labbook").arg(file, m_form->isModified() ? QStringLiteral("*") : QString()));
}

void MainWindow::restoreSettings()
{
    QSettings s;
    if (!restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray())) {
        // A first start: 1400 x 900, or what the screen has room for (at 1280 px Save and Find LR were off-screen).
        QSize size(1400, 900);
        if (const QScreen *screen = QGuiApplication::primaryScreen())
            size = size.boundedTo(screen->availableGeometry().size() * 0.95);
        resize(size.expandedTo(minimumSizeHint()));
    }
    // The run list's first width: 460 px, a third of a laptop's 1024 (the run's pages need the room more there).
    if (!restoreState(s.value(QStringLiteral("window/state")).toByteArray()))
        if (auto *dock = findChild<QDockWidget *>(QStringLiteral("runsDock")))
            resizeDocks({dock}, {std::min(460, width() * 35 / 100)}, Qt::Horizontal);
    m_runs->restoreHeaderState(s.value(QStringLiteral("window/runsHeader")).toByteArray());
    const QString experiment = s.value(QStringLiteral("experiment/file")).toString();
    QString error;
    if (!experiment.isEmpty() && QFileInfo::exists(experiment))
        m_form->openFile(experiment, &error);
    else if (QFileInfo::exists(ExperimentForm::experimentsFolder() + QStringLiteral("/debug.json")))
        m_form->openFile(ExperimentForm::experimentsFolder() + QStringLiteral("/debug.json"), &error);
    m_pages->setCurrentIndex(qBound(0, s.value(QStringLiteral("window/page"), 0).toInt(), 2));
    m_savedTarget = s.value(QStringLiteral("launch/target")).toString();
}

void MainWindow::saveSettings()
{
    QSettings s;
    s.setValue(QStringLiteral("window/geometry"), saveGeometry());
    s.setValue(QStringLiteral("window/state"), saveState());
    s.setValue(QStringLiteral("window/runsHeader"), m_runs->saveHeaderState());
    s.setValue(QStringLiteral("window/page"), m_pages->currentIndex());
    if (!m_form->sourceFile().isEmpty())
        s.setValue(QStringLiteral("experiment/file"), m_form->sourceFile());
    if (m_store->isOpen())
        s.setValue(QStringLiteral("store/path"), m_store->path());
    s.setValue(QStringLiteral("launch/target"), m_form->currentTarget());
}

void MainWindow::setConfirmOnClose(bool on)
{
    m_form->setAskToSave(on);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    if (!m_form->mayReplace(tr("Quit Labbook"))) {
        event->ignore();
        return;
    }
    saveSettings();
    // Runs keep training: their workers are separate processes in their own sessions.
    event->accept();
}

} // namespace labbook
