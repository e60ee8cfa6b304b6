// Launch targets in the window: Settings > Targets loads, validates as you type (the messages of
// lbk::validateTargetsJson, Save disabled meanwhile), saves a file loadTargets reads back, and checks a target as
// `lbk targets check` does; the form's target list follows the file; and runs launched from the form on a
// command target (`sh -c {cmd}` on this machine, no server needed) train, show live, cancel, resume and fail
// with clear messages exactly as lbk's do. LABBOOK_TARGETS points at this test's own targets file. Writes
// screenshots of the dialog and the form's target list into <build>/screenshots.
#include <QAbstractItemView>
#include <QComboBox>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QPainter>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTabWidget>
#include <QtTest>

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "format.h"
#include "launch/remote.h"
#include "lbkprocess.h"
#include "mainwindow.h"
#include "plots/curvesplot.h"
#include "runservice.h"
#include "storeservice.h"
#include "views/curvespage.h"
#include "views/experimentform.h"
#include "views/runsbrowser.h"
#include "views/runview.h"
#include "views/targetsdialog.h"

using namespace labbook;
using nlohmann::json;

namespace {

std::string readAll(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

const lbk::RunSummary *findRun(StoreService *s, qint64 id)
{
    for (const auto &r : s->runs())
        if (r.id == id)
            return &r;
    return nullptr;
}

// The message validateTargetsJson gives for a document, at a JSON path.
QString issueAt(const json &doc, const std::string &path)
{
    for (const auto &i : lbk::validateTargetsJson(doc))
        if (i.path == path)
            return qs(i.message);
    return {};
}

} // namespace

class TestTargetsGui : public QObject {
    Q_OBJECT
    QString m_dir, m_shots, m_targetsPath, m_storePath;
    json m_targets;
    std::unique_ptr<MainWindow> m_window;

    void writeTargets(const json &doc, const QString &path = {})
    {
        std::ofstream((path.isEmpty() ? m_targetsPath : path).toStdString()) << doc.dump(2);
    }

    void shoot(QWidget *w, const QString &name)
    {
        QCoreApplication::processEvents();
        QTest::qWait(100);
        const QImage img = w->grab().toImage();
        QVERIFY(!img.isNull());
        QVERIFY(img.save(QDir(m_shots).filePath(name + QStringLiteral(".png"))));
    }

    std::unique_ptr<lbk::Store> openStore() const
    {
        auto s = lbk::Store::open(ss(m_storePath));
        if (!s)
            qFatal("%s", s.message().c_str());
        return std::move(*s);
    }

    // (Not QCOMPARE on RunStatus: printing a mismatch, QTest would free lbk::toString's static text.)
    QByteArray statusOf(qint64 id) const
    {
        const auto *r = findRun(m_window->store(), id);
        return r ? QByteArray(lbk::toString(r->status)) : QByteArray("not in the list");
    }

    bool ended(qint64 id) const
    {
        const auto *r = findRun(m_window->store(), id);
        return r && !lbk::isActive(r->status);
    }

    // Launches the form's experiment on target from its Launch (or Find LR) button; returns the run id.
    qint64 launchFromForm(const QString &target, bool lrFind = false)
    {
        QSignalSpy launched(m_window.get(), &MainWindow::runLaunched);
        QSignalSpy failed(m_window.get(), &MainWindow::launchFailed);
        ExperimentForm *form = m_window->form();
        if (!form->setCurrentTarget(target))
            return 0;
        QTest::mouseClick(form->findChild<QPushButton *>(lrFind ? QStringLiteral("findLr") : QStringLiteral("launch")),
                          Qt::LeftButton);
        if (!QTest::qWaitFor([&] { return launched.count() + failed.count() > 0; }, 120000))
            return 0;
        if (failed.count() > 0) {
            qWarning("launch failed: %s", qPrintable(failed.at(0).at(0).toString()));
            return 0;
        }
        return launched.at(0).at(0).toLongLong();
    }

private Q_SLOTS:
    void initTestCase()
    {
        QCoreApplication::setOrganizationName(QStringLiteral("labbook-tests-targets"));
        m_dir = QStringLiteral(LABBOOK_TEST_TMP "/gui-targets");
        QDir(m_dir).removeRecursively();
        QVERIFY(QDir().mkpath(m_dir));
        m_shots = QDir(QStringLiteral(LABBOOK_TEST_TMP "/..")).absoluteFilePath(QStringLiteral("screenshots"));
        QVERIFY(QDir().mkpath(m_shots));
        m_storePath = QDir(m_dir).filePath(QStringLiteral("store.db"));
        m_targetsPath = QDir(m_dir).filePath(QStringLiteral("targets.json"));
        QVERIFY2(QFileInfo::exists(QStringLiteral(LABBOOK_BIN_DIR "/lbk")), "build lbk first");
        qputenv("LABBOOK_LBK", LABBOOK_BIN_DIR "/lbk");
        qputenv("LABBOOK_TARGETS", m_targetsPath.toUtf8());
        std::ofstream(ss(QDir(m_dir).filePath(QStringLiteral("known_hosts")))).close();
        const json here = {{"type", "command"},
                           {"command", {"sh", "-c", "{cmd}"}},
                           {"work_dir", ss(QDir(m_dir).filePath(QStringLiteral("remote")))},
                           {"lbk", LABBOOK_BIN_DIR "/lbk"}};
        json nolbk = here;
        nolbk["work_dir"] = ss(QDir(m_dir).filePath(QStringLiteral("remote-nolbk")));
        nolbk["lbk"] = "/nonexistent/bin/lbk";
        m_targets = {{"targets",
                      {{"gpu-box",
                        {{"type", "ssh"},
                         {"host", "gpu1.lab.example.org"},
                         {"port", 22},
                         {"user", "ada"},
                         {"work_dir", "labbook"}}},
                       {"here", here},
                       {"nolbk", nolbk},
                       // Nothing listens on port 1: ssh fails at once with "Connection refused".
                       {"down",
                        {{"type", "ssh"},
                         {"host", "127.0.0.1"},
                         {"port", 1},
                         {"connect_timeout", 5},
                         {"known_hosts", ss(QDir(m_dir).filePath(QStringLiteral("known_hosts")))}}},
                       {"cluster",
                        {{"type", "slurm"},
                         {"ssh", {{"host", "login.hpc.example.edu"}, {"user", "ada"}}},
                         {"partition", "gpu"},
                         {"time", "04:00:00"},
                         {"cpus", 8}}}}}};
        writeTargets(m_targets);
    }

    void dialogLoadsTheFile()
    {
        TargetsDialog dialog(m_targetsPath);
        dialog.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dialog));
        QCOMPARE(dialog.targetNames(),
                 (QStringList{QStringLiteral("cluster"), QStringLiteral("down"), QStringLiteral("gpu-box"),
                              QStringLiteral("here"), QStringLiteral("nolbk")}));
        QCOMPARE(dialog.findChild<QListWidget *>(QStringLiteral("targetList"))->count(), 5);
        dialog.selectTarget(QStringLiteral("gpu-box"));
        QCOMPARE(dialog.currentTarget(), QStringLiteral("gpu-box"));
        QCOMPARE(qobject_cast<QLineEdit *>(dialog.field(QStringLiteral("host")))->text(),
                 QStringLiteral("gpu1.lab.example.org"));
        QCOMPARE(qobject_cast<QLineEdit *>(dialog.field(QStringLiteral("port")))->text(), QStringLiteral("22"));
        QCOMPARE(dialog.findChild<QComboBox *>(QStringLiteral("type"))->currentText(), QStringLiteral("ssh"));
        QVERIFY(dialog.field(QStringLiteral("host"))->isVisibleTo(&dialog));
        QVERIFY(!dialog.field(QStringLiteral("partition"))->isVisibleTo(&dialog)); // a Slurm key
        const auto raw = json::parse(ss(dialog.findChild<QPlainTextEdit *>(QStringLiteral("rawJson"))->toPlainText()));
        QCOMPARE(raw, m_targets["targets"]["gpu-box"]);
        QVERIFY(dialog.problems().isEmpty());
        QVERIFY(!dialog.canSave()); // nothing changed yet
        QVERIFY(!dialog.findChild<QPushButton *>(QStringLiteral("save"))->isEnabled());
        shoot(&dialog, QStringLiteral("targets-dialog"));

        dialog.selectTarget(QStringLiteral("cluster"));
        QCOMPARE(qobject_cast<QLineEdit *>(dialog.field(QStringLiteral("ssh.host")))->text(),
                 QStringLiteral("login.hpc.example.edu"));
        QCOMPARE(qobject_cast<QLineEdit *>(dialog.field(QStringLiteral("cpus")))->text(), QStringLiteral("8"));
        QVERIFY(!dialog.field(QStringLiteral("host"))->isVisibleTo(&dialog));
        shoot(&dialog, QStringLiteral("targets-dialog-slurm"));
        dialog.selectTarget(QStringLiteral("here"));
        QCOMPARE(qobject_cast<QPlainTextEdit *>(dialog.field(QStringLiteral("command")))->toPlainText(),
                 QStringLiteral("sh\n-c\n{cmd}"));
    }

    void invalidEditsAreShownAndBlockSave()
    {
        TargetsDialog dialog(m_targetsPath);
        dialog.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dialog));
        dialog.selectTarget(QStringLiteral("gpu-box"));
        auto *save = dialog.findChild<QPushButton *>(QStringLiteral("save"));
        auto *port = qobject_cast<QLineEdit *>(dialog.field(QStringLiteral("port")));
        port->selectAll();
        QTest::keyClicks(port, QStringLiteral("70000"));
        json bad = m_targets;
        bad["targets"]["gpu-box"]["port"] = 70000;
        const QString expected = issueAt(bad, "targets.gpu-box.port");
        QVERIFY(expected.contains(QLatin1String("out of range")));
        QCOMPARE(dialog.fieldError(QStringLiteral("port")), expected);
        QVERIFY(dialog.findChild<QLabel *>(QStringLiteral("error:port"))->isVisible());
        QVERIFY(dialog.problems().contains(expected));
        QVERIFY(!save->isEnabled());
        QVERIFY(!dialog.findChild<QPushButton *>(QStringLiteral("check"))->isEnabled());
        QVERIFY(dialog.findChild<QLabel *>(QStringLiteral("problems"))->text().contains(QLatin1String("out of range")));
        shoot(&dialog, QStringLiteral("targets-dialog-invalid"));

        port->selectAll();
        QTest::keyClicks(port, QStringLiteral("twenty"));
        bad["targets"]["gpu-box"]["port"] = "twenty";
        QCOMPARE(dialog.fieldError(QStringLiteral("port")), issueAt(bad, "targets.gpu-box.port"));
        QVERIFY(dialog.fieldError(QStringLiteral("port")).contains(QLatin1String("not an integer")));
        port->setText(QStringLiteral("2200"));
        QVERIFY(dialog.fieldError(QStringLiteral("port")).isEmpty());
        QVERIFY(save->isEnabled());

        // The raw JSON: a syntax error, then an unknown key, each stops Save with its message.
        auto *raw = dialog.findChild<QPlainTextEdit *>(QStringLiteral("rawJson"));
        dialog.findChild<QTabWidget *>(QStringLiteral("entryTabs"))->setCurrentIndex(1);
        raw->setPlainText(QStringLiteral("{\"type\": \"ssh\", \"host\": "));
        QVERIFY(!save->isEnabled());
        QVERIFY2(dialog.problems().join(QLatin1Char('\n')).contains(QLatin1String("JSON tab")),
                 qPrintable(dialog.problems().join(QLatin1Char('\n'))));
        raw->setPlainText(QStringLiteral("{\"type\": \"ssh\", \"host\": \"h\", \"prot\": 22}"));
        bad["targets"]["gpu-box"] = {{"type", "ssh"}, {"host", "h"}, {"prot", 22}};
        const QString unknown = issueAt(bad, "targets.gpu-box.prot");
        QVERIFY(unknown.contains(QLatin1String("unknown key")));
        QVERIFY(dialog.problems().contains(unknown));
        QVERIFY(!save->isEnabled());
        // The form followed the JSON.
        QCOMPARE(qobject_cast<QLineEdit *>(dialog.field(QStringLiteral("host")))->text(), QStringLiteral("h"));
        shoot(&dialog, QStringLiteral("targets-dialog-json"));
        raw->setPlainText(QStringLiteral("{\"type\": \"ssh\", \"host\": \"h\"}"));
        QVERIFY(dialog.problems().isEmpty());
        QVERIFY(save->isEnabled());

        // Names: "local" is built in; a taken name is refused.
        auto *name = dialog.findChild<QLineEdit *>(QStringLiteral("name"));
        dialog.findChild<QTabWidget *>(QStringLiteral("entryTabs"))->setCurrentIndex(0);
        name->selectAll();
        QTest::keyClicks(name, QStringLiteral("local"));
        QVERIFY2(dialog.fieldError(QStringLiteral("name")).contains(QLatin1String("\"local\" is built in")),
                 qPrintable(dialog.fieldError(QStringLiteral("name"))));
        QVERIFY(!save->isEnabled());
        name->selectAll();
        QTest::keyClicks(name, QStringLiteral("here"));
        QVERIFY(dialog.fieldError(QStringLiteral("name")).contains(QLatin1String("already exists")));
        QVERIFY(!save->isEnabled());
        // Nothing was written while it was invalid.
        QCOMPARE(json::parse(readAll(ss(m_targetsPath))), m_targets);
    }

    void validEditsSaveAFileLoadTargetsReads()
    {
        const QString path = QDir(m_dir).filePath(QStringLiteral("edited/targets.json")); // its folder is created
        QVERIFY(!QFileInfo::exists(path));
        TargetsDialog dialog(path);
        dialog.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dialog));
        QVERIFY(dialog.targetNames().isEmpty());
        const QString ssh = dialog.addTarget(QStringLiteral("ssh"));
        QCOMPARE(ssh, QStringLiteral("ssh-1"));
        // A new ssh entry needs its host: the form says so before anything is typed.
        QVERIFY(dialog.fieldError(QStringLiteral("host")).contains(QLatin1String("missing")));
        QVERIFY(!dialog.canSave());
        auto *name = dialog.findChild<QLineEdit *>(QStringLiteral("name"));
        name->selectAll();
        QTest::keyClicks(name, QStringLiteral("gpu-box"));
        QCOMPARE(dialog.currentTarget(), QStringLiteral("gpu-box"));
        QTest::keyClicks(dialog.field(QStringLiteral("host")), QStringLiteral("gpu2.lab.example.org"));
        QTest::keyClicks(dialog.field(QStringLiteral("port")), QStringLiteral("2222"));
        QTest::keyClicks(dialog.field(QStringLiteral("user")), QStringLiteral("ada"));
        QTest::keyClicks(dialog.field(QStringLiteral("description")), QStringLiteral("the lab's A100 box"));
        qobject_cast<QPlainTextEdit *>(dialog.field(QStringLiteral("setup")))
            ->setPlainText(QStringLiteral("export OMP_NUM_THREADS=8\n. ~/venv/bin/activate"));
        QVERIFY2(dialog.problems().isEmpty(), qPrintable(dialog.problems().join(QLatin1Char('\n'))));

        dialog.addTarget(QStringLiteral("command"));
        QVERIFY(dialog.fieldError(QStringLiteral("command")).contains(QLatin1String("missing")));
        qobject_cast<QPlainTextEdit *>(dialog.field(QStringLiteral("command")))
            ->setPlainText(QStringLiteral("gcloud\nssh"));
        QVERIFY(dialog.fieldError(QStringLiteral("command")).contains(QLatin1String("{cmd}")));
        qobject_cast<QPlainTextEdit *>(dialog.field(QStringLiteral("command")))
            ->setPlainText(QStringLiteral("sh\n-c\n{cmd}"));
        dialog.addTarget(QStringLiteral("slurm"));
        dialog.removeCurrent();
        QCOMPARE(dialog.targetNames(), (QStringList{QStringLiteral("command-1"), QStringLiteral("gpu-box")}));
        QVERIFY2(dialog.canSave(), qPrintable(dialog.problems().join(QLatin1Char('\n'))));

        QSignalSpy saved(&dialog, &TargetsDialog::saved);
        QTest::mouseClick(dialog.findChild<QPushButton *>(QStringLiteral("save")), Qt::LeftButton);
        QCOMPARE(saved.count(), 1);
        QVERIFY(!dialog.isModified());
        QVERIFY(!dialog.findChild<QPushButton *>(QStringLiteral("save"))->isEnabled());

        auto file = lbk::loadTargets(ss(path));
        QVERIFY2(file.ok(), file.ok() ? "" : file.message().c_str());
        const lbk::Target *box = file->find("gpu-box");
        QVERIFY(box);
        QVERIFY(box->type == lbk::TargetType::Ssh);
        QCOMPARE(box->ssh->host, std::string("gpu2.lab.example.org"));
        QCOMPARE(box->ssh->port, 2222);
        QCOMPARE(box->ssh->user, std::string("ada"));
        QCOMPARE(box->description, std::string("the lab's A100 box"));
        QCOMPARE(box->setup, (std::vector<std::string>{"export OMP_NUM_THREADS=8", ". ~/venv/bin/activate"}));
        const lbk::Target *cmd = file->find("command-1");
        QVERIFY(cmd);
        QCOMPARE(cmd->command, (std::vector<std::string>{"sh", "-c", "{cmd}"}));
        QVERIFY(!file->find("slurm-1"));
        QCOMPARE(file->targets.front().name, std::string("local"));
        struct stat st {};
        QCOMPARE(::stat(path.toLocal8Bit().constData(), &st), 0);
        QCOMPARE(int(st.st_mode & 0777), 0600);
        QVERIFY(QDir(QFileInfo(path).absolutePath()).entryList(QDir::Files) ==
                QStringList{QStringLiteral("targets.json")});

        // Edited again, an entry keeps what the form does not show (env), and the type change drops what the
        // new type does not take.
        dialog.selectTarget(QStringLiteral("gpu-box"));
        auto *raw = dialog.findChild<QPlainTextEdit *>(QStringLiteral("rawJson"));
        json entry = json::parse(ss(raw->toPlainText()));
        entry["env"] = {{"CUDA_VISIBLE_DEVICES", "0"}};
        raw->setPlainText(qs(entry.dump(2)));
        dialog.findChild<QComboBox *>(QStringLiteral("type"))->setCurrentText(QStringLiteral("slurm"));
        QVERIFY2(dialog.problems().isEmpty(), qPrintable(dialog.problems().join(QLatin1Char('\n'))));
        QVERIFY(dialog.save());
        file = lbk::loadTargets(ss(path));
        QVERIFY(file.ok());
        QVERIFY(file->find("gpu-box")->type == lbk::TargetType::Slurm);
        QCOMPARE(file->find("gpu-box")->env.at("CUDA_VISIBLE_DEVICES"), std::string("0"));
        QVERIFY(!file->find("gpu-box")->ssh); // host, port and user belong to ssh targets
    }

    void checkSaysWhatLbkSays()
    {
        TargetsDialog dialog(m_targetsPath);
        dialog.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dialog));
        dialog.selectTarget(QStringLiteral("here"));
        QSignalSpy checked(&dialog, &TargetsDialog::checkFinished);
        auto *check = dialog.findChild<QPushButton *>(QStringLiteral("check"));
        QVERIFY(check->isEnabled());
        QElapsedTimer gap;
        QTest::mouseClick(check, Qt::LeftButton);
        gap.start();
        QCoreApplication::processEvents();
        QVERIFY2(gap.elapsed() < 1000, "Check blocked the window");
        QVERIFY(checked.wait(90000));
        const QString report = checked.at(0).at(0).toString();
        QVERIFY(checked.at(0).at(1).toBool());
        QVERIFY2(report.contains(QLatin1String("  connect      ok, host")), qPrintable(report));
        QVERIFY2(report.endsWith(QLatin1String("\nready\n")), qPrintable(report));
        QCOMPARE(dialog.findChild<QPlainTextEdit *>(QStringLiteral("checkResult"))->toPlainText(), report);
        shoot(&dialog, QStringLiteral("targets-dialog-check"));

        // The same lines as `lbk targets check here`, but for measured figures (time, free space).
        auto lbk = lbktest::runProcess(QStringLiteral(LABBOOK_BIN_DIR "/lbk"),
                                       {QStringLiteral("--targets"), m_targetsPath, QStringLiteral("targets"),
                                        QStringLiteral("check"), QStringLiteral("here")});
        QCOMPARE(lbk.exitCode, 0);
        auto shape = [](const QString &text) {
            QStringList lines;
            for (const auto &l : text.split(QLatin1Char('\n')))
                lines << l.left(15);
            return lines;
        };
        QCOMPARE(shape(report), shape(lbk.out));

        dialog.selectTarget(QStringLiteral("nolbk"));
        checked.clear();
        QTest::mouseClick(check, Qt::LeftButton);
        QVERIFY(checked.wait(90000));
        QVERIFY(!checked.at(0).at(1).toBool());
        QVERIFY2(checked.at(0).at(0).toString().contains(QLatin1String("NOT WORKING")),
                 qPrintable(checked.at(0).at(0).toString()));
        QVERIFY(checked.at(0).at(0).toString().endsWith(QLatin1String("not ready\n")));
    }

    void formListsTheTargetsAndFollowsTheFile()
    {
        m_window = std::make_unique<MainWindow>(m_storePath);
        m_window->setConfirmOnClose(false);
        m_window->resize(1400, 900);
        m_window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
        QTRY_VERIFY_WITH_TIMEOUT(m_window->store()->isOpen(), 10000);
        connect(m_window->runService(), &RunService::syncWarning, this,
                [](const QString &m) { qWarning("remote sync: %s", qPrintable(m)); });
        m_window->pages()->setCurrentIndex(MainWindow::FormPage);
        ExperimentForm *form = m_window->form();
        QString error;
        QVERIFY2(form->openFile(QStringLiteral(LABBOOK_SOURCE_DIR "/experiments/debug.json"), &error),
                 qPrintable(error));
        form->setFieldValue(QStringLiteral("training.threads"), 1);

        QComboBox *combo = form->targetCombo();
        auto file = lbk::loadTargets(ss(m_targetsPath));
        QVERIFY(file.ok());
        QCOMPARE(combo->count(), int(file->targets.size()));
        QCOMPARE(combo->itemData(0).toString(), QStringLiteral("local"));
        for (int i = 0; i < combo->count(); ++i) {
            const auto &t = file->targets[size_t(i)];
            QCOMPARE(combo->itemData(i).toString(), qs(t.name));
            QCOMPARE(combo->itemData(i, Qt::ToolTipRole).toString(), qs(t.listed()));
        }
        QVERIFY(form->setCurrentTarget(QStringLiteral("here")));
        shoot(form, QStringLiteral("form-target-selected"));
        combo->showPopup();
        QWidget *popup = combo->view()->window();
        QTRY_VERIFY(popup->isVisible());
        {
            // The form with its list open over it, as a user sees it.
            QCoreApplication::processEvents();
            QTest::qWait(100);
            // (Offscreen screens place popups anywhere: draw it where it opens for a combo at the bottom.)
            QImage img = form->grab().toImage();
            const QImage list = popup->grab().toImage();
            const QPoint at = combo->mapTo(form, QPoint(0, 0));
            QPainter p(&img);
            p.drawImage(QPoint(at.x(), qMax(0, at.y() - list.height())), list);
            p.end();
            QVERIFY(list.save(QDir(m_shots).filePath(QStringLiteral("form-target-list.png"))));
            QVERIFY(img.save(QDir(m_shots).filePath(QStringLiteral("form-target-open.png"))));
        }
        combo->hidePopup();

        // The list follows the file: an entry added by hand appears, a removed one goes (the choice stays).
        json more = m_targets;
        more["targets"]["extra"] = {{"type", "ssh"}, {"host", "extra.example.org"}};
        writeTargets(more);
        QTRY_VERIFY_WITH_TIMEOUT(combo->findData(QStringLiteral("extra")) >= 0, 10000);
        QCOMPARE(form->currentTarget(), QStringLiteral("here"));
        // A broken file keeps the last good list and says what is wrong.
        std::ofstream(ss(m_targetsPath)) << R"({"targets": {"x": {"type": "ssh", "host": "h", "port": 0}}})";
        QTRY_VERIFY_WITH_TIMEOUT(!m_window->runService()->targetsError().isEmpty(), 10000);
        QVERIFY(m_window->runService()->targetsError().contains(QLatin1String("targets.x.port")));
        QVERIFY(combo->toolTip().contains(QLatin1String("targets.x.port")));
        QVERIFY(combo->findData(QStringLiteral("here")) >= 0);
        writeTargets(m_targets);
        QTRY_VERIFY_WITH_TIMEOUT(combo->findData(QStringLiteral("extra")) < 0, 10000);
        QVERIFY(m_window->runService()->targetsError().isEmpty());
        QCOMPARE(form->currentTarget(), QStringLiteral("here"));

        // Saving in Settings > Targets reloads the list at once.
        TargetsDialog *dialog = m_window->openTargetsDialog();
        QVERIFY(dialog);
        dialog->addTarget(QStringLiteral("slurm"));
        QVERIFY(dialog->save());
        QCOMPARE(combo->findData(QStringLiteral("slurm-1")) >= 0, true);
        dialog->removeCurrent();
        QVERIFY(dialog->save());
        QCOMPARE(combo->findData(QStringLiteral("slurm-1")), -1);
        dialog->close();
        QCOMPARE(json::parse(readAll(ss(m_targetsPath))), m_targets);

        // A file written where no folder was when the window looked (a first targets file, in a config folder that
        // did not exist yet) appears too: it never did, the watch being on the folder.
        const QString later = QDir(m_dir).filePath(QStringLiteral("not-yet/labbook/targets.json"));
        qputenv("LABBOOK_TARGETS", later.toUtf8());
        QTRY_VERIFY_WITH_TIMEOUT(combo->findData(QStringLiteral("here")) < 0, 10000); // no file there: local only
        QVERIFY(QDir().mkpath(QFileInfo(later).path()));
        std::ofstream(ss(later)) << json{{"targets", {{"first", {{"type", "ssh"}, {"host", "first.example.org"},
                                                                  {"description", "the first one"}}}}}}
                                        .dump();
        QTRY_VERIFY_WITH_TIMEOUT(combo->findData(QStringLiteral("first")) >= 0, 10000);
        QVERIFY(combo->itemText(combo->findData(QStringLiteral("first"))).contains(QStringLiteral("the first one")));
        qputenv("LABBOOK_TARGETS", m_targetsPath.toUtf8());
        QTRY_VERIFY_WITH_TIMEOUT(combo->findData(QStringLiteral("here")) >= 0, 10000);
        QVERIFY(form->setCurrentTarget(QStringLiteral("here")));
    }

    void launchOnACommandTargetFromTheForm()
    {
        QVERIFY(m_window);
        // The event loop keeps turning while the run is staged, started and followed.
        QElapsedTimer clock;
        qint64 last = 0, worstGap = 0;
        QTimer ticker;
        connect(&ticker, &QTimer::timeout, this, [&] {
            worstGap = std::max(worstGap, clock.elapsed() - last);
            last = clock.elapsed();
        });
        clock.start();
        ticker.start(20);
        const qint64 id = launchFromForm(QStringLiteral("here"));
        QVERIFY(id > 0);
        QTRY_VERIFY_WITH_TIMEOUT(m_window->runView()->runId() == id, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(ended(id), 240000);
        ticker.stop();
        qInfo("launch on a command target to finished: %.1f s; longest event-loop gap %lld ms",
              clock.elapsed() / 1000.0, worstGap);
        const auto *r = findRun(m_window->store(), id);
        QVERIFY2(r->status == lbk::RunStatus::Finished, qPrintable(qs(r->error)));
        QCOMPARE(r->target, std::string("here"));

        // In the store exactly as a local run: metrics, evaluations, predictions, summary.
        auto store = openStore();
        const auto keys = store->metricKeys(id);
        for (const char *k : {"train/loss", "val/accuracy", "val/macro_f1"})
            QVERIFY2(std::find(keys.begin(), keys.end(), k) != keys.end(), k);
        QVERIFY(store->metric(id, "train/loss").size() > 20);
        QVERIFY(!store->evaluations(id, "test").empty());
        QVERIFY(!store->predictionSteps(id, "val").empty());
        const auto detail = store->runById(id);
        QVERIFY(detail.ok());
        QVERIFY(detail->summary["final"]["val/accuracy"].is_number());
        // The local journal is the remote one, byte for byte.
        const auto info = lbk::readRemoteInfo(*detail);
        QVERIFY(info.ok());
        QVERIFY(QString::fromStdString(info->runDir).startsWith(QDir(m_dir).filePath(QStringLiteral("remote"))));
        QCOMPARE(readAll(detail->runDir + "/journal.jsonl"), readAll(info->runDir + "/journal.jsonl"));

        // The run view shows it as it shows a local run.
        m_window->runView()->tabs()->setCurrentIndex(RunView::Curves);
        QTRY_VERIFY_WITH_TIMEOUT(m_window->runView()->curves()->plot()->drawnPointCount(0) > 20, 20000);
        shoot(m_window.get(), QStringLiteral("remote-run-curves"));
    }

    void lrFindOnACommandTarget()
    {
        const qint64 id = launchFromForm(QStringLiteral("here"), /*lrFind=*/true);
        QVERIFY(id > 0);
        QTRY_VERIFY_WITH_TIMEOUT(ended(id), 240000);
        const auto *r = findRun(m_window->store(), id);
        QVERIFY2(r->status == lbk::RunStatus::Finished, qPrintable(qs(r->error)));
        QCOMPARE(r->kind, std::string("lr_find"));
        QVERIFY(!openStore()->lrPoints(id).empty());
    }

    void liveCancelAndResumeOnACommandTarget()
    {
        // Far longer than any wait here (minutes), so it is surely caught running; cleanupTestCase cancels
        // whatever a failure leaves running. Few evaluations: a validation pass every 40 steps writes
        // predictions at a rate (MB/s) that keeps the window's store thread busy, which is not under test here.
        const QString file = lbktest::debugVariant(
            m_dir, QStringLiteral("debug-long"),
            {{"training", {{"epochs", 2000}, {"threads", 1}}}, {"evaluation", {{"every_steps", 5000}}}});
        QString error;
        QVERIFY2(m_window->form()->openFile(file, &error), qPrintable(error));
        const qint64 id = launchFromForm(QStringLiteral("here"));
        QVERIFY(id > 0);
        // Live: the curve grows while the run trains over there.
        m_window->runView()->tabs()->setCurrentIndex(RunView::Curves);
        CurvesPlot *plot = m_window->runView()->curves()->plot();
        // (The points the plot holds, not the ones it draws: those are capped by its width.)
        const auto points = [plot] { return plot->series().empty() ? 0 : int(plot->series().front().x.size()); };
        const auto state = [&] {
            const auto *r = findRun(m_window->store(), id);
            return QStringLiteral("run view on #%6; status %1, step %2, %3 plotted points, journal mirror %4 bytes, "
                                  "error: %5")
                .arg(QString::fromLatin1(statusOf(id)))
                .arg(r ? r->lastStep : -1)
                .arg(points())
                .arg(r ? QFileInfo(qs(r->runDir + "/journal.jsonl")).size() : -1)
                .arg(r ? qs(r->error) : QString())
                .arg(m_window->runView()->runId());
        };
        // The run view stays on the new run (not the one selected before it was listed).
        QTRY_VERIFY2_WITH_TIMEOUT(m_window->runView()->runId() == id &&
                                      m_window->runsBrowser()->selectedRunIds() == std::vector<qint64>{id},
                                  qPrintable(state()), 20000);
        QTRY_VERIFY2_WITH_TIMEOUT(points() > 2 || ended(id), qPrintable(state()), 60000);
        const int early = points();
        QVERIFY2(!ended(id), qPrintable(QStringLiteral("the long run ended before it was seen training: ") + state()));
        QTRY_VERIFY2_WITH_TIMEOUT(points() > early || ended(id), qPrintable(state()), 60000);
        QVERIFY2(!ended(id), "the long run ended before it could be cancelled");
        shoot(m_window.get(), QStringLiteral("remote-run-live"));

        QSignalSpy cancelled(m_window.get(), &MainWindow::runCancelRequested);
        m_window->cancelRun(id);
        QVERIFY(cancelled.wait(60000));
        QVERIFY2(cancelled.at(0).at(1).toBool(), qPrintable(cancelled.at(0).at(2).toString()));
        QVERIFY(cancelled.at(0).at(2).toString().contains(QLatin1String("on here")));
        QTRY_VERIFY_WITH_TIMEOUT(ended(id), 120000);
        QVERIFY2(statusOf(id) == "cancelled", statusOf(id).constData());
        const int64_t stepAtCancel = findRun(m_window->store(), id)->lastStep;

        // Resume: the worker starts again there, from its checkpoint; then cancel it once more.
        m_window->resumeRun(id);
        QTRY_VERIFY_WITH_TIMEOUT(findRun(m_window->store(), id)->status == lbk::RunStatus::Running &&
                                     findRun(m_window->store(), id)->lastStep > stepAtCancel,
                                 120000);
        cancelled.clear();
        m_window->cancelRun(id);
        QVERIFY(cancelled.wait(60000));
        QVERIFY(cancelled.at(0).at(1).toBool());
        QTRY_VERIFY_WITH_TIMEOUT(ended(id), 120000);
        QVERIFY2(statusOf(id) == "cancelled", statusOf(id).constData());
    }

    void cancelALocalRunToo()
    {
        const qint64 id = launchFromForm(QStringLiteral("local"));
        QVERIFY(id > 0);
        QTRY_VERIFY_WITH_TIMEOUT(findRun(m_window->store(), id) && findRun(m_window->store(), id)->lastStep > 0,
                                 120000);
        QSignalSpy cancelled(m_window.get(), &MainWindow::runCancelRequested);
        m_window->cancelRun(id);
        QVERIFY(cancelled.wait(30000));
        QVERIFY2(cancelled.at(0).at(1).toBool(), qPrintable(cancelled.at(0).at(2).toString()));
        QTRY_VERIFY_WITH_TIMEOUT(ended(id), 120000);
        QVERIFY2(statusOf(id) == "cancelled", statusOf(id).constData());
    }

    void failuresNameTheTargetAndLoseNothing()
    {
        QString error;
        QVERIFY(m_window->form()->openFile(QStringLiteral(LABBOOK_SOURCE_DIR "/experiments/debug.json"), &error));
        auto before = openStore()->runs();
        std::map<int64_t, std::pair<lbk::RunStatus, size_t>> recorded;
        for (const auto &r : before)
            recorded[r.id] = {r.status, openStore()->metric(r.id, "train/loss").size()};

        struct Case {
            QString target;
            QStringList words; // the message must hold them all
        };
        for (const Case &c :
             {Case{QStringLiteral("nolbk"),
                   {QStringLiteral("nolbk"), QStringLiteral("/nonexistent/bin/lbk"), QStringLiteral("not found")}},
              Case{QStringLiteral("down"),
                   {QStringLiteral("down"), QStringLiteral("ssh could not connect"),
                    QStringLiteral("creating the run folder")}}}) {
            QSignalSpy failed(m_window.get(), &MainWindow::launchFailed);
            QVERIFY(m_window->form()->setCurrentTarget(c.target));
            QTest::mouseClick(m_window->form()->findChild<QPushButton *>(QStringLiteral("launch")), Qt::LeftButton);
            QVERIFY(failed.wait(60000));
            const QString message = failed.at(0).at(0).toString();
            for (const auto &w : c.words)
                QVERIFY2(message.contains(w), qPrintable(message));
            // Shown in a message box that does not block the window.
            QMessageBox *box = nullptr;
            QTRY_VERIFY((box = m_window->findChild<QMessageBox *>(QStringLiteral("problemBox"))) != nullptr);
            QCOMPARE(box->text(), message);
            if (c.target == QLatin1String("nolbk"))
                shoot(box, QStringLiteral("launch-error"));
            box->close();
            QTRY_VERIFY(!m_window->findChild<QMessageBox *>(QStringLiteral("problemBox")));
        }
        // The failed launches are recorded as failed runs, with the reason; everything recorded before stays.
        auto store = openStore();
        const auto after = store->runs();
        QCOMPARE(after.size(), before.size() + 2);
        for (const auto &r : after) {
            if (recorded.count(r.id)) {
                QVERIFY2(r.status == recorded[r.id].first, lbk::toString(r.status));
                QCOMPARE(store->metric(r.id, "train/loss").size(), recorded[r.id].second);
            } else {
                QVERIFY2(r.status == lbk::RunStatus::Failed, lbk::toString(r.status));
                QVERIFY2(r.error.find(r.target) != std::string::npos, r.error.c_str());
            }
        }
        m_window->form()->setCurrentTarget(QStringLiteral("local"));
    }

    void cleanupTestCase()
    {
        m_window.reset();
        // A failed check may leave a long run training: stop it, wherever it runs.
        auto targets = lbk::loadTargets(ss(m_targetsPath));
        auto store = lbk::Store::open(ss(m_storePath));
        if (!targets || !store)
            return;
        for (const auto &r : (*store)->runs())
            if (lbk::isActive(r.status))
                if (const auto *t = targets->find(r.target.empty() ? "local" : r.target))
                    (void)lbk::cancelRun(**store, *t, r);
    }
};

QTEST_MAIN(TestTargetsGui)
#include "tst_targets_gui.moc"
