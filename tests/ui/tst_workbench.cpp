// The whole loop through the window, as a user does it: fill the form (and see an inline error for a bad
// value, worded as `lbk validate` words it), save, launch the debug experiment and an LR range test as worker
// processes, follow them live, close and reopen the window while a run trains, then find curves,
// histograms, predictions, per-class metrics, the LR finder and the comparison populated. Writes a screenshot
// of every view into <build>/screenshots.
#include <filesystem>
#include <fstream>

#include <QAbstractItemModelTester>
#include <QCheckBox>
#include <QDir>
#include <QLineEdit>
#include <QLabel>
#include <QStatusBar>
#include <QSignalSpy>
#include <QSettings>
#include <QMessageBox>
#include <QPushButton>
#include <QTabWidget>
#include <QTableView>
#include <QToolButton>
#include <QtTest>
#include <sqlite3.h>
#include <QScrollArea>
#include <QScrollBar>

#include "data/dataset.h"
#include "filedialogs.h"
#include "experiment/schema.h"
#include "format.h"
#include "launch/process.h"
#include "lbkprocess.h"
#include "mainwindow.h"
#include "models/comparemetricsmodel.h"
#include "models/comparepredictionsmodel.h"
#include "models/configdiffmodel.h"
#include "models/confusionmodel.h"
#include "models/perclassmodel.h"
#include "models/predictionsmodel.h"
#include "models/runsfilterproxy.h"
#include "models/runsmodel.h"
#include "plots/curvesplot.h"
#include "plots/heatmapplot.h"
#include "plots/lrfinderplot.h"
#include "train/lrfinder.h"
#include "storeservice.h"
#include "views/classespage.h"
#include "views/compareview.h"
#include "views/curvespage.h"
#include "views/experimentform.h"
#include "views/histogramspage.h"
#include "views/logpage.h"
#include "views/lrfinderpage.h"
#include "views/maskedcontextdelegate.h"
#include "views/predictionspage.h"
#include "views/runsbrowser.h"
#include "views/runview.h"

using namespace labbook;
using nlohmann::json;

namespace {
const lbk::RunSummary *findRun(StoreService *s, qint64 id)
{
    for (const auto &r : s->runs())
        if (r.id == id)
            return &r;
    return nullptr;
}

// A BERT model.safetensors of the given sizes as far as a checkpoint folder is checked before a run (the embeddings,
// each layer's attention and feed-forward weights), zeros as a sparse file: the sizes of SciBERT in no disk space.
void writeSparseBertWeights(const std::string &file, int vocab, int hidden, int layers, int intermediate,
                            int positions)
{
    std::vector<std::pair<std::string, std::vector<int64_t>>> tensors = {
        {"bert.embeddings.word_embeddings.weight", {vocab, hidden}},
        {"bert.embeddings.position_embeddings.weight", {positions, hidden}},
        {"bert.embeddings.token_type_embeddings.weight", {2, hidden}}};
    for (int n = 0; n < layers; ++n) {
        const std::string layer = "bert.encoder.layer." + std::to_string(n) + ".";
        tensors.push_back({layer + "attention.self.query.weight", {hidden, hidden}});
        tensors.push_back({layer + "intermediate.dense.weight", {intermediate, hidden}});
        tensors.push_back({layer + "output.dense.weight", {hidden, intermediate}});
    }
    json header = json::object();
    int64_t at = 0;
    for (const auto &[name, shape] : tensors) {
        const int64_t bytes = shape[0] * shape[1] * 2;
        header[name] = {{"dtype", "F16"}, {"shape", shape}, {"data_offsets", {at, at + bytes}}};
        at += bytes;
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    for (int k = 0; k < 8; ++k)
        out.put(char((uint64_t(text.size()) >> (8 * k)) & 0xff));
    out << text;
    out.close();
    std::filesystem::resize_file(file, 8 + text.size() + uint64_t(at));
}
} // namespace

class TestWorkbench : public QObject {
    Q_OBJECT
    QString m_dir, m_shots, m_storePath;
    std::unique_ptr<MainWindow> m_window;
    qint64 m_trainA = 0, m_trainB = 0, m_lrRun = 0, m_binary = 0, m_mlmRun = 0;

    void openWindow()
    {
        m_window = std::make_unique<MainWindow>(m_storePath);
        m_window->setConfirmOnClose(false);
        m_window->resize(1500, 950);
        m_window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
        QTRY_VERIFY_WITH_TIMEOUT(m_window->store()->isOpen(), 10000);
    }

    QMessageBox *problemBox(const QString &title) const
    {
        for (auto *box : m_window->findChildren<QMessageBox *>(QStringLiteral("problemBox")))
            if (box->windowTitle() == title && box->isVisible())
                return box;
        return nullptr;
    }

    // A store with one run of 20,000 steps of metrics, then random bytes over the pages that hold most of them.
    static qint64 makeDamagedStore(const std::string &path)
    {
        qint64 id = 0;
        {
            auto store = lbk::Store::open(path);
            if (!store)
                return 0;
            lbk::NewRun run;
            run.name = "damaged";
            id = (*store)->createRun(run).value().id;
            std::vector<std::string> lines;
            for (int64_t i = 1; i <= 20000; ++i)
                lines.push_back(nlohmann::json{{"seq", i}, {"type", "metrics"}, {"step", i},
                                               {"values", {{"train/loss", 1.0 / double(i)}}}}.dump());
            std::vector<std::string_view> views(lines.begin(), lines.end());
            (void)(*store)->ingestLines(id, views, 0);
        }
        const auto size = std::filesystem::file_size(path);
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        uint32_t x = 7;
        for (auto at = size / 2; at < size * 9 / 10; ++at) {
            x = x * 1664525u + 1013904223u;
            f.seekp(std::streamoff(at));
            f.put(char(x >> 24));
        }
        return id;
    }

    void shoot(const QString &name, QWidget *w = nullptr)
    {
        QCoreApplication::processEvents();
        QTest::qWait(150); // queued replots
        const QImage img = (w ? w : m_window.get())->grab().toImage();
        QVERIFY(!img.isNull());
        QVERIFY(img.save(QDir(m_shots).filePath(name + QStringLiteral(".png"))));
    }

    // A run a script recorded (its journal's lines, ingested into the window's store), shown in the run view; 0 when
    // it could not be made. forgetRun deletes it again: the run lists of the tests after count runs.
    qint64 showScriptRun(const std::string &name, const std::string &task, const std::vector<json> &events)
    {
        auto store = lbk::Store::open(m_storePath.toStdString());
        if (!store.ok())
            return 0;
        lbk::NewRun run;
        run.name = name;
        run.task = task;
        const qint64 id = (*store)->createRun(run).value().id;
        std::vector<std::string> lines{
            json{{"seq", 1}, {"type", "run_started"}, {"version", "labbook-python 0.1.0"}}.dump()};
        for (const auto &e : events) {
            json line = e;
            line["seq"] = int64_t(lines.size()) + 1;
            lines.push_back(line.dump());
        }
        std::vector<std::string_view> views(lines.begin(), lines.end());
        if (!(*store)->ingestLines(id, views, 0).ok())
            return 0;
        if (!QTest::qWaitFor([&] { return findRun(m_window->store(), id) != nullptr; }, 15000))
            return 0;
        m_window->showRun(id);
        return QTest::qWaitFor([&] { return m_window->runView()->runId() == id; }, 5000) ? id : 0;
    }
    void forgetRun(qint64 id)
    {
        auto store = lbk::Store::open(m_storePath.toStdString());
        QVERIFY(store.ok() && (*store)->deleteRun(id).ok());
        QTRY_VERIFY_WITH_TIMEOUT(!findRun(m_window->store(), id), 15000);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QCoreApplication::setOrganizationName(QStringLiteral("labbook-tests"));
        m_dir = QStringLiteral(LABBOOK_TEST_TMP "/gui-workbench");
        QDir(m_dir).removeRecursively();
        QVERIFY(QDir().mkpath(m_dir));
        m_shots = QDir(QStringLiteral(LABBOOK_TEST_TMP "/..")).absoluteFilePath(QStringLiteral("screenshots"));
        QVERIFY(QDir().mkpath(m_shots));
        m_storePath = QDir(m_dir).filePath(QStringLiteral("store.db"));
        qputenv("LABBOOK_LBK", LABBOOK_BIN_DIR "/lbk"); // the test binary does not live beside lbk
        QVERIFY2(QFileInfo::exists(QStringLiteral(LABBOOK_BIN_DIR "/lbk")), "build lbk first");
        openWindow();
    }

    void formValidatesAsYouType()
    {
        ExperimentForm *form = m_window->form();
        QString error;
        QVERIFY2(form->openFile(QStringLiteral(LABBOOK_SOURCE_DIR "/experiments/debug.json"), &error), qPrintable(error));
        QVERIFY(form->isValid());
        m_window->pages()->setCurrentIndex(MainWindow::FormPage);

        auto *lr = form->findChild<QLineEdit *>(QStringLiteral("field:optimizer.lr"));
        QVERIFY(lr);
        lr->selectAll();
        QTest::keyClicks(lr, QStringLiteral("-1"));
        const auto expected = lbk::validateField(*lbk::findField("optimizer.lr"), -1);
        QVERIFY(expected);
        QCOMPARE(form->fieldError(QStringLiteral("optimizer.lr")), qs(expected->message));
        QVERIFY(!form->findChild<QPushButton *>(QStringLiteral("launch"))->isEnabled());
        shoot(QStringLiteral("form-inline-error"));

        auto *epochs = form->findChild<QLineEdit *>(QStringLiteral("field:training.epochs"));
        epochs->selectAll();
        QTest::keyClicks(epochs, QStringLiteral("two"));
        const auto epochsIssue = lbk::validateField(*lbk::findField("training.epochs"), "two");
        QCOMPARE(form->fieldError(QStringLiteral("training.epochs")), qs(epochsIssue->message));

        // The cross-field check (shares must add up to 1) says what `lbk validate` says.
        auto *train = form->findChild<QLineEdit *>(QStringLiteral("field:split.train"));
        train->setText(QStringLiteral("0.9"));
        auto issues = lbk::validateExperimentJson(form->experiment());
        QVERIFY(!issues.empty());
        QCOMPARE(int(form->issues().size()), int(issues.size()));

        lr->setText(QStringLiteral("0.02"));
        epochs->setText(QStringLiteral("4"));
        // The section's issue is said under its first field too (it was only in the summary at the bottom).
        QVERIFY2(form->fieldError(QStringLiteral("split.train")).contains(QStringLiteral("must add up to 1")),
                 qPrintable(form->fieldError(QStringLiteral("split.train"))));
        QVERIFY(!form->findChild<QLineEdit *>(QStringLiteral("field:split.test"))->styleSheet().isEmpty());
        if (auto *area = form->findChild<QScrollArea *>())
            area->ensureWidgetVisible(train, 0, 200);
        shoot(QStringLiteral("form-split-sum"));
        train->setText(QStringLiteral(".7")); // as people type it (JSON would not parse it: "not a number")
        QVERIFY2(form->isValid(), form->issues().empty() ? "" : form->issues().front().message.c_str());
        QCOMPARE(form->fieldValue(QStringLiteral("split.train")).get<double>(), 0.7);
        QVERIFY(form->fieldError(QStringLiteral("optimizer.lr")).isEmpty());
        QVERIFY(form->findChild<QPushButton *>(QStringLiteral("launch"))->isEnabled());

        // Fields that do not apply to a bag model are hidden; choosing a CNN shows them.
        auto *kernels = form->findChild<QWidget *>(QStringLiteral("field:model.kernel_sizes"));
        QVERIFY(!kernels->isVisibleTo(form));
        form->setFieldValue(QStringLiteral("model.type"), "cnn");
        QVERIFY(kernels->isVisibleTo(form));
        // bag_cnn shows both members' fields and its bag_weight.
        auto *ngrams = form->findChild<QWidget *>(QStringLiteral("field:model.ngrams"));
        auto *bagWeight = form->findChild<QWidget *>(QStringLiteral("field:model.bag_weight"));
        QVERIFY(ngrams && bagWeight);
        QVERIFY(!ngrams->isVisibleTo(form) && !bagWeight->isVisibleTo(form));
        form->setFieldValue(QStringLiteral("model.type"), "bag_cnn");
        QVERIFY(kernels->isVisibleTo(form) && ngrams->isVisibleTo(form) && bagWeight->isVisibleTo(form));
        QVERIFY(form->isValid());
        if (auto *area = form->findChild<QScrollArea *>()) {
            area->ensureWidgetVisible(bagWeight, 0, 200);
            shoot(QStringLiteral("form-bag-cnn"));
            area->verticalScrollBar()->setValue(0);
        }
        form->setFieldValue(QStringLiteral("model.type"), "bag");
        QVERIFY(!bagWeight->isVisibleTo(form));

        // The data file's rows and label distribution.
        QTRY_VERIFY_WITH_TIMEOUT(form->dataSummary().contains(QLatin1String("rows")), 20000);
        QVERIFY2(form->dataSummary().contains(QLatin1String("5 labels")), qPrintable(form->dataSummary()));
        QVERIFY(form->dataSummary().contains(QLatin1String("cs.")));
        shoot(QStringLiteral("form"));
        // A bad value elsewhere (a rate half typed) does not make the preview fall back to the default labels.
        auto *rate = form->findChild<QLineEdit *>(QStringLiteral("field:optimizer.lr"));
        rate->setText(QStringLiteral("0.0x"));
        form->setFieldValue(QStringLiteral("labels.top_n"), 3);
        QTRY_VERIFY_WITH_TIMEOUT(form->dataSummary().contains(QLatin1String("3 labels")), 20000);
        rate->setText(QStringLiteral("0.02"));
        form->setFieldValue(QStringLiteral("labels.top_n"), 5);
        QTRY_VERIFY_WITH_TIMEOUT(form->dataSummary().contains(QLatin1String("5 labels")), 20000);

        // The word tokenizer's min_count and the TF-IDF bag's min_df show only where they apply.
        auto *minCount = form->findChild<QWidget *>(QStringLiteral("field:tokenizer.min_count"));
        auto *minDf = form->findChild<QWidget *>(QStringLiteral("field:model.min_df"));
        QVERIFY(minCount && minDf);
        QVERIFY(!minCount->isVisibleTo(form));
        QVERIFY(!minDf->isVisibleTo(form));
        form->setFieldValue(QStringLiteral("tokenizer.type"), "word");
        form->setFieldValue(QStringLiteral("model.weighting"), "tfidf");
        QVERIFY(minCount->isVisibleTo(form));
        QVERIFY(minDf->isVisibleTo(form));
        QVERIFY(form->isValid());
        auto *scroll = form->findChild<QScrollArea *>();
        QVERIFY(scroll);
        scroll->ensureWidgetVisible(minDf, 0, 60);
        shoot(QStringLiteral("form-word-tokenizer"));
        form->setFieldValue(QStringLiteral("tokenizer.type"), "unigram");
        form->setFieldValue(QStringLiteral("model.weighting"), "mean");
        QVERIFY(!minCount->isVisibleTo(form));
        scroll->verticalScrollBar()->setValue(0);

        // A file that sets a field doing nothing with the rest of it (a CNN's channels in a GRU): the row stays
        // hidden, and the problems line notes it in amber under the green one, in lbk validate's words.
        json gru = form->experiment();
        lbk::setValueAt(gru, "model.type", "gru");
        lbk::setValueAt(gru, "model.channels", 256);
        form->setExperiment(gru);
        QVERIFY(form->isValid());
        QVERIFY(!form->findChild<QWidget *>(QStringLiteral("field:model.channels"))->isVisibleTo(form));
        auto *problems = form->findChild<QLabel *>(QStringLiteral("problems"));
        const auto notes = lbk::unusedFieldNotes(gru); // the channels, and the bag's n-gram buckets debug.json sets
        QVERIFY(std::any_of(notes.begin(), notes.end(),
                            [](const std::string &n) { return n.starts_with("model.channels is set but not used"); }));
        for (const auto &note : notes)
            QVERIFY2(problems->text().contains(qs(note).toHtmlEscaped()), qPrintable(problems->text()));
        QVERIFY(problems->text().contains(toneColor(Tone::Note)) && problems->text().contains(QLatin1String("No problems")));
        shoot(QStringLiteral("form-unused-field-note"));
        QVERIFY2(form->openFile(QStringLiteral(LABBOOK_SOURCE_DIR "/experiments/debug.json"), &error), qPrintable(error));
        QVERIFY(!problems->text().contains(QLatin1String("Note:")));
    }

    // Found by an audit of the form: what a local launch would fail on, or what the form cannot show, was let by.
    void formRefusesWhatWouldFail()
    {
        ExperimentForm *form = m_window->form();
        QString error;
        QVERIFY2(form->openFile(QStringLiteral(LABBOOK_SOURCE_DIR "/experiments/debug.json"), &error), qPrintable(error));
        auto *problems = form->findChild<QLabel *>(QStringLiteral("problems"));
        auto *hintLaunch = m_window->findChild<QPushButton *>(QStringLiteral("hintLaunch"));
        QVERIFY(problems && hintLaunch);
        // A data file that is not here: "No problems" and Launch recorded a run failed at once.
        form->setFieldValue(QStringLiteral("data.path"), "arxiv/nope.jsonl");
        QVERIFY(!form->isValid());
        QVERIFY2(problems->text().contains(QLatin1String("nope.jsonl: no such file on this machine")),
                 qPrintable(problems->text()));
        QVERIFY(!form->findChild<QPushButton *>(QStringLiteral("launch"))->isEnabled());
        QVERIFY(!hintLaunch->isEnabled()); // the first-run hint's Launch as the form's
        shoot(QStringLiteral("form-data-not-here"));
        // The file copied in from a terminal: coming back to the window asks the disk again.
        QTemporaryDir later;
        const QString late = later.filePath(QStringLiteral("late.jsonl"));
        form->setFieldValue(QStringLiteral("data.path"), late.toStdString());
        QVERIFY(!form->isValid());
        QVERIFY(QFile::copy(QStringLiteral(LABBOOK_SOURCE_DIR "/../shared/data/arxiv/arxiv-sample-5k.jsonl"), late));
        QVERIFY(!form->isValid()); // not asked at every look
        m_window->activateWindow();
        QTRY_VERIFY_WITH_TIMEOUT(form->isActiveWindow(), 5000);
        QEvent activated(QEvent::ActivationChange);
        QApplication::sendEvent(form, &activated);
        QVERIFY2(form->isValid(), qPrintable(problems->text()));
        form->setFieldValue(QStringLiteral("data.path"), "arxiv/arxiv-sample-5k.jsonl");
        QVERIFY(form->isValid() && hintLaunch->isEnabled());
        // Labels that do not parse show the rows, not the default labels' distribution.
        form->setFieldValue(QStringLiteral("labels.kind"), "binary"); // no positive class yet
        QTRY_VERIFY_WITH_TIMEOUT(form->dataSummary().contains(QLatin1String("The labels it yields show once")), 20000);
        QVERIFY2(!form->dataSummary().contains(QLatin1String("labels</b>")), qPrintable(form->dataSummary()));
        form->setFieldValue(QStringLiteral("labels.kind"), "multiclass");
        QTRY_VERIFY_WITH_TIMEOUT(form->dataSummary().contains(QLatin1String("5 labels")), 20000);
        // x10 on a typo leaves it to be read, not replaced by ten times the default.
        auto *lr = form->findChild<QLineEdit *>(QStringLiteral("field:optimizer.lr"));
        lr->setText(QStringLiteral("abc"));
        auto *box = form->findChild<QWidget *>(QStringLiteral("field:optimizer.lr:box"));
        QToolButton *times10 = nullptr;
        for (auto *b : box->findChildren<QToolButton *>())
            if (b->text() == QStringLiteral("\u00d710"))
                times10 = b;
        QVERIFY(times10);
        times10->click();
        QCOMPARE(lr->text(), QStringLiteral("abc"));
        // A key the schema has not (a typo in a hand-written file) has no row: the problems line removes it.
        json typo = lbk::withDefaults(json::parse(std::ifstream(LABBOOK_SOURCE_DIR "/experiments/debug.json")));
        typo["training"]["epochz"] = 3;
        form->setExperiment(typo);
        QVERIFY(!form->isValid());
        QVERIFY2(problems->text().contains(QLatin1String("Remove training.epochz from the experiment")),
                 qPrintable(problems->text()));
        Q_EMIT problems->linkActivated(QStringLiteral("remove-unknown"));
        QVERIFY2(form->isValid(), qPrintable(problems->text()));
        QVERIFY(!form->experiment()["training"].contains("epochz") && form->isModified());
        QVERIFY2(form->openFile(QStringLiteral(LABBOOK_SOURCE_DIR "/experiments/debug.json"), &error), qPrintable(error));
    }

    // An encoder shows its fields; a checkpoint folder picked for model.init_from says what it holds, and a folder
    // that is not one says why.
    void encoderForm()
    {
        ExperimentForm *form = m_window->form();
        const json poolingBefore = form->fieldValue(QStringLiteral("model.pooling"));
        const json typeBefore = form->fieldValue(QStringLiteral("model.type"));
        auto *initFrom = form->findChild<QWidget *>(QStringLiteral("field:model.init_from"));
        auto *headLr = form->findChild<QWidget *>(QStringLiteral("field:model.head_lr_factor"));
        QVERIFY(initFrom && headLr);
        QVERIFY(!initFrom->isVisibleTo(form));
        form->setFieldValue(QStringLiteral("model.type"), "encoder");
        form->setFieldValue(QStringLiteral("model.pooling"), "pooler");
        QVERIFY(initFrom->isVisibleTo(form) && headLr->isVisibleTo(form));
        QTRY_VERIFY_WITH_TIMEOUT(form->folderSummary().contains(QLatin1String("from scratch")), 5000);

        QTemporaryDir scratch(QStringLiteral(LABBOOK_TEST_TMP "/encoder-form-XXXXXX"));
        const QString folder = scratch.filePath(QStringLiteral("scibert-like"));
        QVERIFY(QDir().mkpath(folder));
        std::ofstream(ss(folder + QStringLiteral("/config.json")))
            << json{{"model_type", "bert"}, {"vocab_size", 31090}, {"hidden_size", 768}, {"num_hidden_layers", 12},
                    {"num_attention_heads", 12}, {"intermediate_size", 3072}, {"max_position_embeddings", 512}}
                   .dump();
        std::ofstream(ss(folder + QStringLiteral("/vocab.txt"))) << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
        writeSparseBertWeights(ss(folder + QStringLiteral("/model.safetensors")), 31090, 768, 12, 3072, 512);
        form->setFieldValue(QStringLiteral("model.init_from"), ss(folder));
        QTRY_VERIFY_WITH_TIMEOUT(form->folderSummary().contains(QLatin1String("12 layers")), 5000);
        QVERIFY2(form->folderSummary().contains(QLatin1String("31,090")), qPrintable(form->folderSummary()));
        // The debug experiment sets embedding_dim 48: the folder's config.json says 768, as the engine would. The
        // form counts it as a problem and Launch waits until it is resolved.
        QVERIFY2(form->folderSummary().contains(
                     QLatin1String("model.embedding_dim is 48 but its config.json has hidden_size 768")),
                 qPrintable(form->folderSummary()));
        QVERIFY(form->issues().empty());
        QVERIFY(!form->isValid());
        auto *problems = form->findChild<QLabel *>(QStringLiteral("problems"));
        QVERIFY(problems->text().contains(QLatin1String("1 problem")) &&
                problems->text().contains(QLatin1String("hidden_size 768")));
        // An error elsewhere stops the check (the experiment does not parse); fixing it brings the check back, so the
        // contradiction is found again rather than the form calling itself valid.
        const json lrBefore = form->fieldValue(QStringLiteral("optimizer.lr"));
        form->setFieldValue(QStringLiteral("optimizer.lr"), -1.0);
        form->setFieldValue(QStringLiteral("model.embedding_dim"), 96); // changed while it cannot be checked
        QVERIFY(!form->issues().empty());
        QTRY_VERIFY_WITH_TIMEOUT(!form->folderSummary().contains(QLatin1String("is 48")), 5000);
        QVERIFY(!problems->text().contains(QLatin1String("hidden_size 768")));
        form->setFieldValue(QStringLiteral("optimizer.lr"), lrBefore);
        QVERIFY(!form->isValid()); // reading the folder again
        QTRY_VERIFY2_WITH_TIMEOUT(problems->text().contains(QLatin1String("is 96 but its config.json has hidden_size 768")),
                                  qPrintable(problems->text() + QStringLiteral(" | ") + form->folderSummary()), 5000);
        QVERIFY(!form->isValid());
        form->setFieldValue(QStringLiteral("model.embedding_dim"), 48);
        QTRY_VERIFY_WITH_TIMEOUT(problems->text().contains(QLatin1String("is 48 but")), 5000);
        auto *scroll = form->findChild<QScrollArea *>();
        scroll->ensureWidgetVisible(headLr, 0, 200);
        shoot(QStringLiteral("form-encoder"));
        const json dimBefore = form->fieldValue(QStringLiteral("model.embedding_dim"));
        form->setFieldValue(QStringLiteral("model.embedding_dim"), "");
        QTRY_VERIFY_WITH_TIMEOUT(!form->folderSummary().contains(QLatin1String("embedding_dim")), 5000);
        QVERIFY(form->folderSummary().contains(QLatin1String("12 layers")));
        QTRY_VERIFY_WITH_TIMEOUT(form->isValid(), 5000);
        QVERIFY(problems->text().contains(QLatin1String("No problems")));
        // The sizes the checkpoint decides say so, with its values, instead of the scratch defaults; they come
        // back when the folder is cleared.
        auto *layers = form->findChild<QLineEdit *>(QStringLiteral("field:model.layers"));
        auto *dim = form->findChild<QLineEdit *>(QStringLiteral("field:model.embedding_dim"));
        QVERIFY(layers && dim);
        QCOMPARE(layers->text(), QString());
        QCOMPARE(layers->placeholderText(), QStringLiteral("from the checkpoint: 12 (its num_hidden_layers)"));
        // Its tokenizer is the checkpoint's: the options that train one are hidden, max_tokens stays.
        auto *vocabSize = form->findChild<QWidget *>(QStringLiteral("field:tokenizer.vocab_size"));
        auto *maxTokens = form->findChild<QWidget *>(QStringLiteral("field:tokenizer.max_tokens"));
        QVERIFY(vocabSize && maxTokens);
        QVERIFY(!vocabSize->isVisibleTo(form) && maxTokens->isVisibleTo(form));
        QCOMPARE(dim->placeholderText(), QStringLiteral("from the checkpoint: 768 (its hidden_size)"));
        // Found by an audit: the same file opened again showed the scratch defaults as set (the folder unread).
        const json withFolder = form->experiment();
        form->setExperiment(withFolder);
        QTRY_COMPARE_WITH_TIMEOUT(layers->text(), QString(), 5000);
        // The folder's values once it has been read again (on another thread: waited for, not raced).
        QTRY_COMPARE_WITH_TIMEOUT(layers->placeholderText(), QStringLiteral("from the checkpoint: 12 (its num_hidden_layers)"),
                                  10000);
        form->setFieldValue(QStringLiteral("model.init_from"), "");
        QTRY_COMPARE_WITH_TIMEOUT(layers->text(), QStringLiteral("1"), 5000);
        QCOMPARE(layers->placeholderText(), QStringLiteral("default: 1"));
        QVERIFY(vocabSize->isVisibleTo(form));
        form->setFieldValue(QStringLiteral("model.init_from"), ss(folder));
        QTRY_COMPARE_WITH_TIMEOUT(layers->placeholderText(), QStringLiteral("from the checkpoint: 12 (its num_hidden_layers)"), 5000);
        QCOMPARE(layers->text(), QString());
        QTRY_VERIFY_WITH_TIMEOUT(form->isValid(), 5000);
        // A relative folder starts at the data root, and the line says where it was found.
        const QString rootBefore = form->dataRoot();
        form->setDataRoot(scratch.path());
        form->setFieldValue(QStringLiteral("model.init_from"), "scibert-like");
        QTRY_VERIFY2_WITH_TIMEOUT(form->folderSummary().contains(QStringLiteral("in %1 (a relative path starts at "
                                                                                "the data root)").arg(folder)),
                                  qPrintable(form->folderSummary()), 5000);
        form->setDataRoot(rootBefore);
        form->setFieldValue(QStringLiteral("model.init_from"), ss(folder));
        QTRY_VERIFY_WITH_TIMEOUT(form->isValid(), 5000);
        // Weights cut short (a download stopped early): said under the folder before a run, and Launch waits.
        const QString cut = scratch.filePath(QStringLiteral("cut-short"));
        QVERIFY(QDir().mkpath(cut));
        for (const QString name : {QStringLiteral("/config.json"), QStringLiteral("/vocab.txt")})
            QVERIFY(QFile::copy(folder + name, cut + name));
        writeSparseBertWeights(ss(cut + QStringLiteral("/model.safetensors")), 31090, 768, 12, 3072, 512);
        std::filesystem::resize_file(ss(cut + QStringLiteral("/model.safetensors")), 1 << 20);
        form->setFieldValue(QStringLiteral("model.init_from"), ss(cut));
        QTRY_VERIFY2_WITH_TIMEOUT(problems->text().contains(QLatin1String("model.safetensors: file is truncated")),
                                  qPrintable(problems->text()), 5000);
        QVERIFY(!form->isValid());
        QVERIFY(form->folderSummary().contains(QLatin1String("12 layers")));
        form->setFieldValue(QStringLiteral("model.init_from"), ss(folder));
        QTRY_VERIFY_WITH_TIMEOUT(form->isValid(), 5000);
        form->setFieldValue(QStringLiteral("model.embedding_dim"), dimBefore);

        form->setFieldValue(QStringLiteral("model.init_from"), ss(scratch.path()));
        QTRY_VERIFY_WITH_TIMEOUT(form->folderSummary().contains(QLatin1String("config.json")), 5000);
        QVERIFY2(form->folderSummary().contains(QLatin1String("e53935")), qPrintable(form->folderSummary()));
        form->setFieldValue(QStringLiteral("model.init_from"), "");
        form->setFieldValue(QStringLiteral("model.pooling"), poolingBefore);
        form->setFieldValue(QStringLiteral("model.type"), typeBefore);
        scroll->verticalScrollBar()->setValue(0);
    }

    void saveExperiment()
    {
        ExperimentForm *form = m_window->form();
        form->setFieldValue(QStringLiteral("training.threads"), 1); // three workers share two cores
        const QString path = QDir(m_dir).filePath(QStringLiteral("debug-gui.json"));
        QString error;
        QVERIFY2(form->saveFile(path, &error), qPrintable(error));
        QVERIFY(!form->isModified());
        auto saved = lbk::readJsonFile(ss(path));
        QVERIFY(saved.ok());
        QVERIFY(lbk::validateExperimentJson(*saved).empty());
        QCOMPARE(lbk::valueAt(*saved, "optimizer.lr").get<double>(), 0.02);
        QCOMPARE(lbk::valueAt(*saved, "training.threads").get<int>(), 1);
        QCOMPARE(lbk::valueAt(*saved, "data.path").get<std::string>(), std::string("arxiv/arxiv-sample-5k.jsonl"));
        QVERIFY(form->openFile(path, &error));
        QCOMPARE(form->experiment(), *saved);
    }

    void launchFollowCloseReopen()
    {
        QSignalSpy launched(m_window.get(), &MainWindow::runLaunched);
        QSignalSpy failed(m_window.get(), &MainWindow::launchFailed);
        QTRY_VERIFY2_WITH_TIMEOUT(m_window->form()->isValid(),
                                  qPrintable(m_window->form()->findChild<QLabel *>(QStringLiteral("problems"))->text()),
                                  5000);
        QTest::mouseClick(m_window->form()->findChild<QPushButton *>(QStringLiteral("launch")), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(launched.count() + failed.count(), 1, 15000);
        QCOMPARE(failed.count(), 0);
        m_trainA = launched.at(0).at(0).toLongLong();

        // A second training run with another rate and seed (for the comparison) and the LR range test.
        auto second = m_window->form()->experiment();
        lbk::setValueAt(second, "optimizer.lr", 0.005);
        lbk::setValueAt(second, "training.seed", 11);
        lbk::setValueAt(second, "name", "debug-slow");
        // Still training when the window is reopened, however fast the machine: cancelled once followed again.
        lbk::setValueAt(second, "training.epochs", 5000);
        lbk::setValueAt(second, "schedule.type", "constant"); // its rate from the first step, not a long warm-up
        m_window->launch(second, false);
        QTRY_COMPARE_WITH_TIMEOUT(launched.count(), 2, 15000);
        m_trainB = launched.at(1).at(0).toLongLong();
        m_window->launch(m_window->form()->experiment(), true);
        QTRY_COMPARE_WITH_TIMEOUT(launched.count(), 3, 15000);
        m_lrRun = launched.at(2).at(0).toLongLong();
        // A binary task, for the ROC and precision-recall curves and the positive/negative histograms.
        auto binary = m_window->form()->experiment();
        lbk::setValueAt(binary, "name", "debug-binary");
        lbk::setValueAt(binary, "labels", {{"kind", "binary"}, {"positive", {"cs.CV"}}});
        m_window->launch(binary, false);
        QTRY_COMPARE_WITH_TIMEOUT(launched.count(), 4, 15000);
        m_binary = launched.at(3).at(0).toLongLong();
        QCOMPARE(failed.count(), 0);

        // Live: the run view's curves fill while run B (16 epochs) is still running.
        m_window->showRun(m_trainB);
        QTRY_VERIFY_WITH_TIMEOUT(m_window->runView()->runId() == m_trainB, 5000);
        m_window->runView()->tabs()->setCurrentIndex(RunView::Curves);
        QTRY_VERIFY_WITH_TIMEOUT(m_window->runView()->curves()->plot()->drawnPointCount(0) > 2, 90000);
        const auto *a = findRun(m_window->store(), m_trainB);
        QVERIFY(a);
        QVERIFY2(lbk::isActive(a->status), "run B ended before the live check");
        QElapsedTimer latency;
        latency.start();
        QTest::qWait(50);
        QVERIFY2(latency.elapsed() < 1000, "the event loop was blocked while runs train");
        shoot(QStringLiteral("run-curves-live"));

        // Closing the window does not stop the runs; a new window follows them again. Run B (5000 epochs) is
        // the one still training.
        const auto *slow = findRun(m_window->store(), m_trainB);
        QVERIFY(slow && lbk::isActive(slow->status));
        QTRY_VERIFY_WITH_TIMEOUT(findRun(m_window->store(), m_trainB)->pid > 0, 10000);
        const qint64 pid = findRun(m_window->store(), m_trainB)->pid;
        const qint64 pidStart = findRun(m_window->store(), m_trainB)->pidStart;
        m_window.reset();
        QTest::qWait(300);
        const bool alive = lbk::processAlive(pid, pidStart);
        openWindow(); // before any check, so a failure here leaves the later tests a window
        QVERIFY2(alive, "closing the window stopped a worker");
        QTRY_VERIFY_WITH_TIMEOUT(findRun(m_window->store(), m_trainB) != nullptr, 10000);
        // The new window follows the run still training: its last step grows while it runs; then it is cancelled.
        const auto *b = findRun(m_window->store(), m_trainB);
        QVERIFY(lbk::isActive(b->status));
        const int64_t before = b->lastStep;
        QTRY_VERIFY_WITH_TIMEOUT(findRun(m_window->store(), m_trainB)->lastStep > before, 60000);
        QSignalSpy cancelled(m_window.get(), &MainWindow::runCancelRequested);
        m_window->cancelRun(m_trainB);
        QTRY_COMPARE_WITH_TIMEOUT(cancelled.count(), 1, 15000);
        QVERIFY2(cancelled.at(0).at(1).toBool(), qPrintable(cancelled.at(0).at(2).toString()));
        m_window->showRun(m_trainA);

        const auto done = [this](qint64 id) {
            const auto *r = findRun(m_window->store(), id);
            return r && !lbk::isActive(r->status);
        };
        QTRY_VERIFY_WITH_TIMEOUT(done(m_trainA) && done(m_trainB) && done(m_lrRun) && done(m_binary), 240000);
        QVERIFY(findRun(m_window->store(), m_trainB)->status == lbk::RunStatus::Cancelled);
        for (auto id : {m_trainA, m_lrRun, m_binary})
            QVERIFY2(findRun(m_window->store(), id)->status == lbk::RunStatus::Finished,
                     qPrintable(QStringLiteral("run %1: %2").arg(id).arg(qs(findRun(m_window->store(), id)->error))));
    }

    void runViewsArePopulated()
    {
        m_window->runsBrowser()->selectRun(m_trainA);
        m_window->showRun(m_trainA);
        RunView *view = m_window->runView();
        QTRY_VERIFY_WITH_TIMEOUT(view->run().status == lbk::RunStatus::Finished, 10000);

        // Curves: train and validation loss, hundreds of steps, several metrics available.
        view->tabs()->setCurrentIndex(RunView::Curves);
        CurvesPage *curves = view->curves();
        QTRY_VERIFY_WITH_TIMEOUT(curves->plot()->series().size() == 2, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(curves->plot()->series().front().x.size() > 20, 10000);
        QVERIFY(curves->availableKeys().contains(QStringLiteral("val/macro_f1")));
        shoot(QStringLiteral("run-curves"));
        curves->setSelectedKeys({QStringLiteral("val/accuracy"), QStringLiteral("val/macro_f1")});
        QTRY_COMPARE_WITH_TIMEOUT(int(curves->plot()->series().size()), 2, 10000);
        shoot(QStringLiteral("run-curves-validation"));
        curves->setSelectedKeys({QStringLiteral("train/loss"), QStringLiteral("val/loss")});
        curves->findChild<QSlider *>(QStringLiteral("smoothing"))->setValue(80);
        QTRY_COMPARE_WITH_TIMEOUT(int(curves->plot()->series().size()), 2, 10000);
        shoot(QStringLiteral("run-curves-smoothed"));
        // A metric keeps its colour when another is ticked (colours followed the ticked set's order).
        const QColor trainColour = curves->plot()->series().front().color;
        curves->setSelectedKeys({QStringLiteral("lr"), QStringLiteral("train/loss"), QStringLiteral("val/loss")});
        QTRY_COMPARE_WITH_TIMEOUT(int(curves->plot()->series().size()), 3, 10000);
        QCOMPARE(curves->plot()->series()[1].name, QStringLiteral("train/loss"));
        QCOMPARE(curves->plot()->series()[1].color, trainColour);
        // Against wall time, one clock for the run: the first evaluation sits where it was made, after the first
        // training points, not at 0 of its own series.
        curves->setSelectedKeys({QStringLiteral("train/loss"), QStringLiteral("val/loss")});
        curves->findChild<QComboBox *>(QStringLiteral("xAxis"))->setCurrentIndex(1);
        QTRY_COMPARE_WITH_TIMEOUT(int(curves->plot()->series().size()), 2, 10000);
        const auto &trainSeries = curves->plot()->series()[0], &valSeries = curves->plot()->series()[1];
        QCOMPARE(valSeries.name, QStringLiteral("val/loss"));
        QVERIFY2(valSeries.x.front() > trainSeries.x.front(),
                 qPrintable(QStringLiteral("%1 vs %2").arg(valSeries.x.front()).arg(trainSeries.x.front())));
        QVERIFY(trainSeries.x.front() >= 0);
        shoot(QStringLiteral("run-curves-wall-time"));
        // Against epochs (read off the run's own epoch series): the last evaluation of this 4-epoch run sits at
        // epoch 4, and the training loss starts within the first epoch.
        curves->findChild<QComboBox *>(QStringLiteral("xAxis"))->setCurrentIndex(CurvesPage::Epochs);
        QTRY_VERIFY_WITH_TIMEOUT(curves->plot()->series().size() == 2 &&
                                     std::abs(curves->plot()->series()[1].x.back() - 4.0) < 1e-9,
                                 10000);
        QVERIFY(curves->plot()->series()[0].x.front() > 0 && curves->plot()->series()[0].x.front() < 1);
        curves->findChild<QComboBox *>(QStringLiteral("xAxis"))->setCurrentIndex(0);

        // Histograms: a heat map per histogram over every evaluation.
        view->tabs()->setCurrentIndex(RunView::Histograms);
        HistogramsPage *hist = view->histograms();
        QTRY_VERIFY_WITH_TIMEOUT(hist->evaluationCount() >= 3, 10000);
        QCOMPARE(hist->histogramNames(), (QStringList{QStringLiteral("p_true"), QStringLiteral("p_predicted")}));
        QCOMPARE(int(hist->heatmaps().size()), 2);
        double column = 0;
        for (int b = 0; b < 20; ++b)
            column += hist->heatmaps().front()->cellShare(hist->evaluationCount() - 1, b);
        QVERIFY(std::abs(column - 1.0) < 1e-6); // each evaluation's column holds shares
        hist->setEvaluation(0);
        shoot(QStringLiteral("run-histograms-first"));
        hist->setEvaluation(hist->evaluationCount() - 1);
        shoot(QStringLiteral("run-histograms"));

        // Predictions: rows, the misclassified filter, a confusion cell.
        view->tabs()->setCurrentIndex(RunView::Predictions);
        PredictionsPage *preds = view->predictions();
        QTRY_VERIFY_WITH_TIMEOUT(!preds->isLoading() && preds->model()->rowCount() > 100, 15000);
        QAbstractItemModelTester tester(preds->model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        const int total = preds->model()->rowCount();
        QCOMPARE(preds->confusion()->rowCount(), 5);
        shoot(QStringLiteral("run-predictions"));
        preds->misclassifiedBox()->setChecked(true);
        const int wrong = preds->model()->rowCount();
        QVERIFY(wrong > 0 && wrong < total);
        for (int r = 0; r < wrong; ++r)
            QVERIFY(!preds->model()->index(r, 0).data(PredictionsModel::CorrectRole).toBool());
        // The most confident mistakes come first.
        QVERIFY(preds->model()->index(0, 0).data(PredictionsModel::ConfidenceRole).toDouble() >=
                preds->model()->index(wrong - 1, 0).data(PredictionsModel::ConfidenceRole).toDouble());
        shoot(QStringLiteral("run-predictions-misclassified"));
        // Click the biggest off-diagonal confusion cell.
        QModelIndex cell;
        qint64 best = -1;
        for (int t = 0; t < 5; ++t)
            for (int p = 0; p < 5; ++p)
                if (t != p && preds->confusion()->count(t, p) > best) {
                    best = preds->confusion()->count(t, p);
                    cell = preds->confusion()->index(t, p);
                }
        QTableView *cv = preds->confusionView();
        QTest::mouseClick(cv->viewport(), Qt::LeftButton, {}, cv->visualRect(cell).center());
        QTRY_COMPARE_WITH_TIMEOUT(qint64(preds->model()->rowCount()), best, 5000);
        for (int r = 0; r < preds->model()->rowCount(); ++r) {
            QCOMPARE(preds->model()->index(r, PredictionsModel::Truth).data().toString(),
                     cell.data(ConfusionModel::TrueLabelRole).toString());
            QCOMPARE(preds->model()->index(r, PredictionsModel::Predicted).data().toString(),
                     cell.data(ConfusionModel::PredictedLabelRole).toString());
        }
        shoot(QStringLiteral("run-predictions-confusion-cell"));
        const QString csv = QDir(m_dir).filePath(QStringLiteral("preds.csv"));
        QVERIFY(preds->exportCsv(csv));
        QFile f(csv);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll().count('\n'), best + 1);

        // Per-class metrics.
        view->tabs()->setCurrentIndex(RunView::Classes);
        QTRY_COMPARE_WITH_TIMEOUT(view->classes()->model()->rowCount(), 5, 10000);
        QVERIFY(view->classes()->headline().contains(QLatin1String("macro_f1")));
        shoot(QStringLiteral("run-per-class"));

        view->tabs()->setCurrentIndex(RunView::Log);
        QTRY_VERIFY_WITH_TIMEOUT(!view->log()->text().isEmpty(), 10000);
        shoot(QStringLiteral("run-log"));
        view->tabs()->setCurrentIndex(RunView::Overview);
        // Each best value says the step it was reached at; no "best" of the test split.
        const QString info = view->findChild<QLabel *>(QStringLiteral("runOverview"))->text();
        // A line for each split (found by an audit: one run-on list).
        QVERIFY2(info.contains(QRegularExpression(QStringLiteral("val: [^<]*macro_f1 [0-9.]+ \\(step [0-9,]+\\)"))),
                 qPrintable(info));
        QVERIFY2(!info.contains(QRegularExpression(QStringLiteral("Best</b></td><td>((?!</td>).)*test:"))),
                 qPrintable(info));
        QVERIFY2(info.contains(QRegularExpression(QStringLiteral("Final</b></td><td>((?!</td>).)*<br>test: "))),
                 qPrintable(info));
        shoot(QStringLiteral("run-overview"));

        // Every plot exports to PNG, PDF and SVG.
        for (const char *ext : {"png", "pdf", "svg"}) {
            const QString path = QDir(m_shots).filePath(QStringLiteral("export-curves.") + QLatin1String(ext));
            QVERIFY(view->curves()->plot()->exportTo(path));
            QVERIFY(QFileInfo(path).size() > 1000);
        }
    }

    void lrFinderView()
    {
        m_window->showRun(m_lrRun);
        RunView *view = m_window->runView();
        QTRY_COMPARE_WITH_TIMEOUT(view->runId(), m_lrRun, 5000);
        QTRY_COMPARE_WITH_TIMEOUT(view->tabs()->currentIndex(), int(RunView::LrFinder), 5000);
        LrFinderPage *page = view->lrFinder();
        QTRY_VERIFY_WITH_TIMEOUT(page->pointCount() > 10, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(page->plot()->suggestion().has_value(), 5000);
        shoot(QStringLiteral("run-lr-finder"));
        // Click the curve at a rate ten times below the suggestion; "use this rate" writes it into the form.
        LrFinderPlot *plot = page->plot();
        const double target = *plot->suggestion() / 10;
        const int px = int(plot->xAxis->coordToPixel(target));
        const int py = int(plot->yAxis->coordToPixel((plot->yAxis->range().lower + plot->yAxis->range().upper) / 2));
        QTest::mouseClick(plot, Qt::LeftButton, {}, QPoint(px, py));
        QTRY_VERIFY(plot->pickedRate().has_value());
        QVERIFY(std::abs(std::log10(*plot->pickedRate()) - std::log10(target)) < 0.2);
        shoot(QStringLiteral("run-lr-finder-picked"));
        QTest::mouseClick(page->findChild<QPushButton *>(QStringLiteral("useRate")), Qt::LeftButton);
        QTRY_COMPARE(m_window->pages()->currentIndex(), int(MainWindow::FormPage));
        QCOMPARE(m_window->form()->fieldValue(QStringLiteral("optimizer.lr")).get<double>(), *plot->pickedRate());

        // A test within one decade (an audit's, 1e-5 to 1e-4): every tick says another rate (it said 10^-4 twice).
        std::vector<lbk::LrPoint> narrow;
        for (int i = 0; i < 30; ++i)
            narrow.push_back({i, lbk::lrFinderRate(1e-5, 1e-4, 30, i), 1.6 + 0.02 * std::sin(2.3 * i), 1.6});
        plot->setPoints(narrow);
        plot->replot();
        const QVector<QString> ticks = plot->xAxis->tickVectorLabels();
        QVERIFY2(ticks.size() >= 3, qPrintable(QStringList(ticks.begin(), ticks.end()).join(QLatin1Char(' '))));
        QCOMPARE(QSet<QString>(ticks.begin(), ticks.end()).size(), ticks.size());
        shoot(QStringLiteral("lr-finder-one-decade"), plot);
    }

    void binaryRun()
    {
        m_window->showRun(m_binary);
        RunView *view = m_window->runView();
        QTRY_COMPARE_WITH_TIMEOUT(view->runId(), m_binary, 5000);
        view->tabs()->setCurrentIndex(RunView::Classes);
        QTRY_COMPARE_WITH_TIMEOUT(view->classes()->model()->rowCount(), 2, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(view->classes()->rocPlot()->graphCount() >= 1 &&
                                     view->classes()->rocPlot()->graph(0)->dataCount() > 5, 10000);
        QVERIFY(view->classes()->prPlot()->graph(0)->dataCount() > 5);
        QVERIFY(view->classes()->headline().contains(QLatin1String("roc_auc")));
        QVERIFY2(view->classes()->headline().contains(QLatin1String("lbk predict --threshold")),
                 qPrintable(view->classes()->headline())); // where F1 peaks, and how to score by it
        shoot(QStringLiteral("run-per-class-binary"));
        view->tabs()->setCurrentIndex(RunView::Histograms);
        QTRY_COMPARE_WITH_TIMEOUT(view->histograms()->histogramNames(),
                                  (QStringList{QStringLiteral("p_positive:positive"), QStringLiteral("p_positive:negative")}),
                                  10000);
        shoot(QStringLiteral("run-histograms-binary"));
        QVERIFY(view->classes()->cautions().isEmpty()); // cs.CV is common enough to be predicted

        // A rare positive class (cs.RO, 4% of the papers) after a short training: nothing is predicted positive,
        // and the page says what its accuracy is worth.
        QSignalSpy launched(m_window.get(), &MainWindow::runLaunched);
        auto rare = m_window->form()->experiment();
        lbk::setValueAt(rare, "name", "debug-binary-rare");
        lbk::setValueAt(rare, "labels", {{"kind", "binary"}, {"positive", {"cs.RO"}}});
        lbk::setValueAt(rare, "training.max_steps", 80);
        m_window->launch(rare, false);
        QTRY_COMPARE_WITH_TIMEOUT(launched.count(), 1, 15000);
        const qint64 id = launched.at(0).at(0).toLongLong();
        const auto ended = [&] {
            const auto *r = findRun(m_window->store(), id);
            return r && !lbk::isActive(r->status);
        };
        QTRY_VERIFY_WITH_TIMEOUT(ended(), 60000);
        m_window->showRun(id);
        QTRY_COMPARE_WITH_TIMEOUT(view->runId(), id, 5000);
        view->tabs()->setCurrentIndex(RunView::Classes);
        QTRY_VERIFY_WITH_TIMEOUT(view->classes()->cautions().contains(QLatin1String("no paper is predicted positive")),
                                 10000);
        shoot(QStringLiteral("run-per-class-binary-none-predicted"));
    }

    // Found by an audit: a script's run.histogram("grad_norm", lo=0, hi=3, split="train") was stored but the Split
    // list offered val and test alone, and the bars were drawn over 0..1 as probabilities.
    void aScriptsOwnHistograms()
    {
        std::vector<json> events;
        for (int step = 1; step <= 3; ++step)
            events.push_back({{"type", "histogram"}, {"step", step * 10}, {"split", "train"}, {"name", "grad_norm"},
                              {"lo", 0.0}, {"hi", 3.0}, {"counts", {4 - step, 2, step, 1, 0, 1}}});
        const qint64 id = showScriptRun("script-histograms", "", events);
        QVERIFY(id > 0);
        RunView *view = m_window->runView();
        view->tabs()->setCurrentIndex(RunView::Histograms);
        HistogramsPage *hist = view->histograms();
        QTRY_COMPARE_WITH_TIMEOUT(hist->histogramNames(), QStringList{QStringLiteral("grad_norm")}, 10000);
        QCOMPARE(hist->splits(), (QStringList{QStringLiteral("val"), QStringLiteral("test"), QStringLiteral("train")}));
        QCOMPARE(hist->findChild<QComboBox *>(QStringLiteral("histogramSplit"))->currentText(), QStringLiteral("train"));
        QCOMPARE(hist->evaluationCount(), 3);
        const QCPRange range = hist->barsPlot()->xAxis->range();
        QVERIFY2(range.lower == 0 && range.upper == 3, qPrintable(QStringLiteral("%1..%2").arg(range.lower).arg(range.upper)));
        QCOMPARE(hist->barsPlot()->xAxis->label(), QStringLiteral("value"));
        shoot(QStringLiteral("run-histograms-script"));
        forgetRun(id);
    }

    // Found by a review: a binary evaluation whose split held one class gives ROC-AUC and PR-AUC as null (so does a
    // script's evaluation), and the Classes page read them as numbers: nlohmann threw through Qt's event loop.
    void anEvaluationWithoutAuc()
    {
        const json summary = {
            {"accuracy", 1.0}, {"roc_auc", nullptr}, {"pr_auc", nullptr}, {"examples", 40},
            {"roc", {{0.0, 0.0}, {nullptr, 1.0}, {1.0, 1.0}}}, {"pr", json::array()},
            {"per_class", {{{"label", "other"}, {"precision", 1.0}, {"recall", 1.0}, {"f1", 1.0}, {"support", 40}},
                           {{"label", "cs.RO"}, {"precision", nullptr}, {"recall", nullptr}, {"f1", nullptr},
                            {"support", 0}}}}};
        const qint64 id = showScriptRun(
            "script-no-auc", "binary", {{{"type", "evaluation"}, {"step", 10}, {"split", "val"}, {"summary", summary}}});
        QVERIFY(id > 0);
        RunView *view = m_window->runView();
        view->tabs()->setCurrentIndex(RunView::Classes);
        QTRY_COMPARE_WITH_TIMEOUT(view->classes()->model()->rowCount(), 2, 10000);
        QCOMPARE(view->classes()->model()->index(1, PerClassModel::F1).data().toString(), QStringLiteral("-"));
        QTRY_VERIFY_WITH_TIMEOUT(view->classes()->rocPlot()->graphCount() >= 1, 10000);
        QCOMPARE(view->classes()->rocPlot()->graph(0)->name(), QStringLiteral("ROC (ROC-AUC -)"));
        QCOMPARE(view->classes()->rocPlot()->graph(0)->dataCount(), 2); // the point with a null left out
        forgetRun(id);
    }

    // A masked-language-model pre-training run: its held-out loss, masked-token accuracy and perplexity are curves
    // like any other, and the overview says what it is.
    void mlmRun()
    {
        json e = lbk::readJsonFile(LABBOOK_SOURCE_DIR "/experiments/pretrain-debug.json").value();
        lbk::setValueAt(e, "name", "pretrain-gui");
        lbk::setValueAt(e, "data.limit", 600);
        lbk::setValueAt(e, "tokenizer.vocab_size", 1000);
        lbk::setValueAt(e, "tokenizer.max_tokens", 48);
        lbk::setValueAt(e, "training.max_steps", 40);
        lbk::setValueAt(e, "training.log_every", 5);
        lbk::setValueAt(e, "training.threads", 2);
        lbk::setValueAt(e, "evaluation.every_steps", 10);

        // The form shows the pre-training fields for an "mlm" objective, the head's decoder among them.
        ExperimentForm *form = m_window->form();
        const json formBefore = form->experiment();
        const QString fileBefore = form->sourceFile();
        form->setExperiment(e);
        m_window->pages()->setCurrentIndex(MainWindow::FormPage);
        auto *tied = form->findChild<QWidget *>(QStringLiteral("field:mlm.tied_decoder"));
        QVERIFY(tied && tied->isVisibleTo(form));
        form->setFieldValue(QStringLiteral("mlm.tied_decoder"), false);
        QVERIFY(form->isValid());
        QCOMPARE(form->experiment()["mlm"]["tied_decoder"], json(false));
        QCoreApplication::processEvents(); // the pre-training group laid out before scrolling to it
        form->findChild<QScrollArea *>()->ensureWidgetVisible(tied, 0, 60);
        shoot(QStringLiteral("form-mlm"));
        form->setExperiment(formBefore, fileBefore);

        QSignalSpy launched(m_window.get(), &MainWindow::runLaunched);
        m_window->launch(e, false);
        QTRY_COMPARE_WITH_TIMEOUT(launched.count(), 1, 15000);
        const qint64 id = launched.at(0).at(0).toLongLong();
        QTRY_VERIFY_WITH_TIMEOUT(findRun(m_window->store(), id) &&
                                     !lbk::isActive(findRun(m_window->store(), id)->status),
                                 120000);
        QVERIFY2(findRun(m_window->store(), id)->status == lbk::RunStatus::Finished,
                 qPrintable(qs(findRun(m_window->store(), id)->error)));
        m_window->runsBrowser()->selectRun(id);
        m_window->showRun(id);
        RunView *view = m_window->runView();
        QTRY_COMPARE_WITH_TIMEOUT(view->runId(), id, 5000);
        view->tabs()->setCurrentIndex(RunView::Curves);
        CurvesPage *curves = view->curves();
        QTRY_VERIFY_WITH_TIMEOUT(curves->availableKeys().contains(QStringLiteral("val/perplexity")), 10000);
        curves->setSelectedKeys({QStringLiteral("train/loss"), QStringLiteral("val/loss")});
        QTRY_COMPARE_WITH_TIMEOUT(int(curves->plot()->series().size()), 2, 10000);
        shoot(QStringLiteral("run-mlm-curves"));
        curves->setSelectedKeys({QStringLiteral("val/perplexity")});
        QTRY_COMPARE_WITH_TIMEOUT(int(curves->plot()->series().size()), 1, 10000);
        QCOMPARE(int(curves->plot()->series().front().x.size()), 4);
        shoot(QStringLiteral("run-mlm-perplexity"));
        QVERIFY(!view->tabs()->isTabEnabled(RunView::Histograms) && !view->tabs()->isTabEnabled(RunView::Classes));
        // The predictions are fills: each masked token of a few held-out sequences, its context and five guesses.
        QVERIFY(view->tabs()->isTabEnabled(RunView::Predictions));
        view->tabs()->setCurrentIndex(RunView::Predictions);
        PredictionsPage *preds = view->predictions();
        QTRY_VERIFY_WITH_TIMEOUT(!preds->isLoading() && preds->model()->rowCount() > 20, 15000);
        QVERIFY(preds->model()->index(0, PredictionsModel::Title).data().toString().contains(QChar(0x27e6)));
        // The masked token is drawn highlighted, not between the engine's brackets.
        QVERIFY(qobject_cast<MaskedContextDelegate *>(preds->table()->itemDelegateForColumn(PredictionsModel::Title)));
        preds->table()->selectRow(0); // the detail pane: the context with its token marked, and the five guesses
        shoot(QStringLiteral("run-mlm-fills"));
        view->tabs()->setCurrentIndex(RunView::Overview);
        shoot(QStringLiteral("run-mlm-overview"));
        m_mlmRun = id;
    }

    // A classifier fine-tuned from the pre-training run: its overview says where the encoder came from, and the
    // link opens that run; the pre-training run's overview lists it back.
    void fineTuneFromMlmRun()
    {
        QVERIFY(m_mlmRun > 0);
        // A copy: the run list is reloaded (and the summary moved) whenever the event loop runs.
        const std::string preUid = findRun(m_window->store(), m_mlmRun)->uid;
        json e = lbk::readJsonFile(LABBOOK_SOURCE_DIR "/experiments/debug.json").value();
        lbk::setValueAt(e, "name", "finetune-gui");
        lbk::setValueAt(e, "model", json{{"type", "encoder"}, {"init_from", "run:" + preUid}, {"pooling", "cls"}});
        lbk::setValueAt(e, "tokenizer.max_tokens", 24);
        lbk::setValueAt(e, "training.max_steps", 10);
        lbk::setValueAt(e, "evaluation.every_steps", 5);
        // The form asks the store about the run as a launch would: one that is not there is a problem.
        ExperimentForm *form = m_window->form();
        const json before = form->experiment();
        form->setExperiment(e);
        auto *problems = form->findChild<QLabel *>(QStringLiteral("problems"));
        QTRY_VERIFY_WITH_TIMEOUT(form->isValid(), 5000);
        form->setFieldValue(QStringLiteral("model.init_from"), "run:nowhere");
        QTRY_VERIFY2_WITH_TIMEOUT(problems->text().contains(QStringLiteral("no run &quot;nowhere&quot;")),
                                  qPrintable(problems->text()), 5000);
        QVERIFY(!form->isValid());
        QVERIFY(form->folderSummary().contains(QStringLiteral("e53935")));
        form->setFieldValue(QStringLiteral("model.init_from"), "run:" + preUid);
        QTRY_VERIFY_WITH_TIMEOUT(form->isValid(), 5000);
        // The line under the field names the run found, not only what was typed (found by an audit).
        QTRY_VERIFY2_WITH_TIMEOUT(form->folderSummary().contains(QStringLiteral("run #%1 ").arg(m_mlmRun)),
                                  qPrintable(form->folderSummary()), 5000);
        m_window->pages()->setCurrentIndex(MainWindow::FormPage);
        QCoreApplication::processEvents(); // laid out before scrolling to the field
        form->showField(QStringLiteral("model.init_from"));
        shoot(QStringLiteral("form-init-from-run"));
        form->setExperiment(before);
        QSignalSpy launched(m_window.get(), &MainWindow::runLaunched);
        m_window->launch(e, false);
        QTRY_COMPARE_WITH_TIMEOUT(launched.count(), 1, 15000);
        const qint64 id = launched.at(0).at(0).toLongLong();
        QTRY_VERIFY_WITH_TIMEOUT(findRun(m_window->store(), id) && !lbk::isActive(findRun(m_window->store(), id)->status),
                                 120000);
        QVERIFY2(findRun(m_window->store(), id)->status == lbk::RunStatus::Finished,
                 qPrintable(qs(findRun(m_window->store(), id)->error)));
        m_window->showRun(id);
        RunView *view = m_window->runView();
        QTRY_COMPARE_WITH_TIMEOUT(view->runId(), id, 5000);
        view->tabs()->setCurrentIndex(RunView::Overview);
        auto *overview = view->findChild<QLabel *>(QStringLiteral("runOverview"));
        QTRY_VERIFY_WITH_TIMEOUT(overview->text().contains(QStringLiteral("Encoder from")), 5000);
        QVERIFY(overview->text().contains(QStringLiteral("href='run:%1'").arg(m_mlmRun)));
        shoot(QStringLiteral("run-finetuned-overview"));
        Q_EMIT overview->linkActivated(QStringLiteral("run:%1").arg(m_mlmRun)); // as a click on the link does
        QTRY_COMPARE_WITH_TIMEOUT(view->runId(), m_mlmRun, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(overview->text().contains(QStringLiteral("Fine-tuned by")), 5000);
        // It opens on the Overview, where the link back is (found by an audit: it opened on Curves).
        QTRY_COMPARE_WITH_TIMEOUT(view->tabs()->currentIndex(), int(RunView::Overview), 5000);
        shoot(QStringLiteral("run-mlm-overview-from-link"));
        QVERIFY(overview->text().contains(QStringLiteral("href='run:%1'").arg(id)));
    }

    void compareRuns()
    {
        m_window->compareRuns({m_trainA, m_trainB});
        CompareView *cmp = m_window->compareView();
        QSignalSpy loaded(cmp, &CompareView::loaded);
        QTRY_VERIFY_WITH_TIMEOUT(loaded.count() > 0 || cmp->predictionsModel()->joinedCount() > 0, 15000);
        QTRY_VERIFY_WITH_TIMEOUT(cmp->predictionsModel()->joinedCount() > 100, 15000);
        QAbstractItemModelTester t1(cmp->configModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester t2(cmp->metricsModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester t3(cmp->predictionsModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QStringList differing;
        for (int r = 0; r < cmp->configModel()->rowCount(); ++r)
            differing << cmp->configModel()->index(r, 0).data().toString();
        QVERIFY2(differing.contains(QStringLiteral("optimizer.lr")), qPrintable(differing.join(QLatin1Char(','))));
        QVERIFY(differing.contains(QStringLiteral("training.seed")));
        QVERIFY(!differing.contains(QStringLiteral("model.type"))); // identical keys are folded away
        bool highlighted = false;
        for (int r = 0; r < cmp->metricsModel()->rowCount(); ++r)
            highlighted = highlighted || cmp->metricsModel()->bestColumn(r) >= 0;
        QVERIFY(highlighted);
        shoot(QStringLiteral("compare-config-metrics"));
        cmp->tabs()->setCurrentIndex(1);
        QTRY_COMPARE_WITH_TIMEOUT(int(cmp->curves()->plot()->series().size()), 2, 10000);
        shoot(QStringLiteral("compare-curves"));
        // Two metrics of two runs: a run's colour, a metric's line style (the second was only a darker shade).
        QStringList keys = cmp->curves()->selectedKeys();
        for (const QString &k : cmp->curves()->availableKeys())
            if (keys.size() < 2 && !keys.contains(k) && k.startsWith(QLatin1String("val/")))
                keys << k;
        cmp->curves()->setSelectedKeys(keys);
        QTRY_COMPARE_WITH_TIMEOUT(int(cmp->curves()->plot()->series().size()), 4, 10000);
        {
            const auto &series = cmp->curves()->plot()->series(); // the first metric for each run, then the second
            QCOMPARE(series[0].style, Qt::SolidLine);
            QCOMPARE(series[2].style, Qt::DashLine);
            QCOMPARE(series[0].color.hue(), series[2].color.hue());
            QVERIFY(series[0].color.hue() != series[1].color.hue());
        }
        shoot(QStringLiteral("compare-curves-two-metrics"));
        cmp->tabs()->setCurrentIndex(2);
        cmp->setOutcome(1); // right in A, wrong in B
        for (int r = 0; r < cmp->predictionsModel()->rowCount(); ++r) {
            QVERIFY(cmp->predictionsModel()->index(r, 3).data(ComparePredictionsModel::CorrectRole).toBool());
            QVERIFY(!cmp->predictionsModel()->index(r, 4).data(ComparePredictionsModel::CorrectRole).toBool());
        }
        shoot(QStringLiteral("compare-predictions"));

        // A multiclass and a binary run: a paper's truth differs between them, so nothing is joined, and the tab
        // says why instead of marking one run's answers against the other's truth.
        QSignalSpy again(cmp, &CompareView::loaded);
        m_window->compareRuns({m_trainA, m_binary});
        QTRY_VERIFY_WITH_TIMEOUT(again.count() > 0, 15000);
        QCOMPARE(cmp->predictionsModel()->joinedCount(), 0);
        auto *info = cmp->findChild<QLabel *>(QStringLiteral("comparePredictionsInfo"));
        QVERIFY(info);
        QTRY_VERIFY2_WITH_TIMEOUT(info->text().contains(QStringLiteral("predict different labels (multiclass, binary)")),
                                  qPrintable(info->text()), 5000);
        shoot(QStringLiteral("compare-predictions-two-tasks"));
    }

    void runsBrowser()
    {
        RunsBrowser *b = m_window->runsBrowser();
        QCOMPARE(b->model()->rowCount(), 7); // four from the loop, a rare binary, the MLM run and its fine-tune
        QAbstractItemModelTester tester(b->model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        b->searchField()->setText(QStringLiteral("slow"));
        QCOMPARE(b->proxy()->rowCount(), 1);
        b->searchField()->clear();
        // Notes edited in place reach the store.
        const int row = b->model()->rowOf(m_trainA);
        QVERIFY(b->model()->setData(b->model()->index(row, RunsModel::Notes), QStringLiteral("baseline from the GUI")));
        m_window->store()->waitForIdle();
        m_window->store()->reloadRuns();
        QTRY_COMPARE_WITH_TIMEOUT(qs(findRun(m_window->store(), m_trainA)->notes), QStringLiteral("baseline from the GUI"), 5000);
        m_window->pages()->setCurrentIndex(MainWindow::RunPage);
        m_window->showRun(m_trainA);
        QTest::qWait(300);
        shoot(QStringLiteral("main-window"));

        // New runs arriving while a run is selected (a sweep's trials, once its start took the window to the
        // Sweeps tab) do not open that run again.
        m_window->pages()->setCurrentIndex(MainWindow::SweepsPage);
        QSignalSpy activated(b, &RunsBrowser::runActivated);
        {
            auto store = lbk::Store::open(m_window->store()->path().toStdString());
            QVERIFY(store.ok());
            lbk::NewRun extra;
            extra.name = "arrives-later";
            QVERIFY((*store)->createRun(extra).ok());
        }
        m_window->store()->reloadRuns();
        QTRY_COMPARE_WITH_TIMEOUT(b->model()->rowCount(), 7, 5000);
        QTest::qWait(200);
        QCOMPARE(activated.count(), 0);
        QCOMPARE(m_window->pages()->currentIndex(), int(MainWindow::SweepsPage));
        QCOMPARE(b->selectedRunIds(), std::vector<qint64>{m_trainA});
    }

    // A store the GUI refuses is not remembered as the last store, and the status bar says none is open; a store
    // whose pages are damaged under a run's metrics says so in a problem box once that run's curves are read.
    void refusedAndDamagedStores()
    {
        const QString notADatabase = QDir(m_dir).filePath(QStringLiteral("text.db"));
        {
            QFile f(notADatabase);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("these are notes, not a database\n");
        }
        QSignalSpy opened(m_window->store(), &StoreService::storeOpened);
        m_window->openStore(notADatabase);
        QTRY_VERIFY_WITH_TIMEOUT(opened.count() == 1, 10000);
        QVERIFY(!opened.at(0).at(1).toString().isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(problemBox(QStringLiteral("Open store")) != nullptr, 5000);
        QVERIFY2(problemBox(QStringLiteral("Open store"))->text().contains(notADatabase), qPrintable(problemBox(QStringLiteral("Open store"))->text()));
        shoot(QStringLiteral("store-refused"), problemBox(QStringLiteral("Open store")));
        problemBox(QStringLiteral("Open store"))->done(QMessageBox::Ok);
        QTRY_VERIFY(problemBox(QStringLiteral("Open store")) == nullptr);
        QCOMPARE(QSettings().value(QStringLiteral("store/path")).toString(), m_storePath);
        bool said = false;
        for (auto *label : m_window->statusBar()->findChildren<QLabel *>())
            said = said || label->text().startsWith(QStringLiteral("No store open"));
        QVERIFY(said);
        // The run shown before was a run of the old store: the run page no longer shows it.
        QCOMPARE(m_window->runView()->runId(), qint64(0));
        QVERIFY(!m_window->runView()->tabs()->isEnabled());
        shoot(QStringLiteral("store-refused-window"));

        const QString damaged = QDir(m_dir).filePath(QStringLiteral("damaged.db"));
        const qint64 id = makeDamagedStore(damaged.toStdString());
        m_window->openStore(damaged);
        QTRY_VERIFY_WITH_TIMEOUT(m_window->store()->isOpen() && m_window->store()->path() == damaged, 10000);
        m_window->showRun(id);
        QMessageBox *box = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT((box = problemBox(QStringLiteral("Store damaged"))) != nullptr, 10000);
        QVERIFY2(box->text().contains(damaged + QStringLiteral(": the store is damaged")), qPrintable(box->text()));
        shoot(QStringLiteral("store-damaged"), box);
        box->done(QMessageBox::Ok);
        m_window->openStore(m_storePath);
        QTRY_VERIFY_WITH_TIMEOUT(m_window->store()->isOpen() && m_window->store()->path() == m_storePath, 10000);
    }

    // A rename while another process holds the store's write lock (lbk ingesting a run, a sqlite3 shell) is not
    // dropped in silence: after the store's wait it says so, and the list shows the stored name again.
    void editRefusedByALockedStoreIsSaid()
    {
        RunsBrowser *b = m_window->runsBrowser();
        const int row = b->model()->rowOf(m_trainA);
        const QString before = b->model()->index(row, RunsModel::Name).data().toString();
        sqlite3 *other = nullptr;
        QCOMPARE(sqlite3_open(m_storePath.toUtf8().constData(), &other), SQLITE_OK);
        QCOMPARE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
        QVERIFY(b->model()->setData(b->model()->index(row, RunsModel::Name), QStringLiteral("renamed-under-lock")));
        QTRY_VERIFY_WITH_TIMEOUT(problemBox(QStringLiteral("Edit run")) != nullptr, 15000);
        QVERIFY2(problemBox(QStringLiteral("Edit run"))->text().contains(QStringLiteral("was not saved")),
                 qPrintable(problemBox(QStringLiteral("Edit run"))->text()));
        shoot(QStringLiteral("edit-refused"), problemBox(QStringLiteral("Edit run")));
        problemBox(QStringLiteral("Edit run"))->done(QMessageBox::Ok);
        sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
        sqlite3_close(other);
        QTRY_COMPARE_WITH_TIMEOUT(b->model()->index(b->model()->rowOf(m_trainA), RunsModel::Name).data().toString(), before, 5000);
    }

    // A file dialog that lists the store's folder must not read the store's files: closing a descriptor of them
    // drops this process's SQLite locks, and the next lbk to finish then deletes the write-ahead log the GUI still
    // reads (Qt's default dialog guessed each file's type from its bytes; the GUI then called the store damaged).
    void browsingTheStoresFolderKeepsItsLocks()
    {
        const QString wal = m_storePath + QStringLiteral("-wal");
        QVERIFY(QFileInfo::exists(wal));
        QFileDialog *dialog = filedialogs::create(m_window.get(), QStringLiteral("Open experiment"), m_dir,
                                                  QStringLiteral("All files (*)"));
        dialog->setViewMode(QFileDialog::Detail);
        dialog->resize(900, 500);
        dialog->show();
        QVERIFY(QTest::qWaitForWindowExposed(dialog));
        auto *list = dialog->findChild<QAbstractItemView *>(QStringLiteral("treeView"));
        QVERIFY(list);
        QTRY_VERIFY_WITH_TIMEOUT(list->model()->rowCount(list->rootIndex()) >= 3, 10000); // store.db, -wal, -shm
        QTest::qWait(1000); // the icons and types of the listed files are gathered on Qt's own thread
        shoot(QStringLiteral("file-dialog-in-store-folder"), dialog);
        delete dialog;
        const auto r = lbktest::runProcess(QStringLiteral(LABBOOK_BIN_DIR "/lbk"),
                                           {QStringLiteral("--store"), m_storePath, QStringLiteral("runs")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(QFileInfo::exists(wal), "lbk deleted the GUI's write-ahead log: the GUI's locks were dropped");
        const size_t before = m_window->store()->runs().size();
        m_window->store()->reloadRuns();
        m_window->store()->waitForIdle();
        QTest::qWait(200);
        QCOMPARE(m_window->store()->runs().size(), before);
        QMessageBox *damaged = problemBox(QStringLiteral("Store damaged"));
        QVERIFY2(damaged == nullptr, damaged ? qPrintable(damaged->text()) : "");
    }

    // A sweep lbk refuses (a metric no run records) is said with the end of lbk's log, not left as "started".
    void aRefusedSweepIsSaid()
    {
        json e = lbk::readJsonFile(LABBOOK_SOURCE_DIR "/experiments/debug.json").value();
        e["data"]["path"] = LABBOOK_SOURCE_DIR "/../shared/data/arxiv/arxiv-sample-5k.jsonl";
        // Its name is no path: the sweep's file stays in the store's sweeps folder (found by a review: "../x" was
        // written outside it).
        const json sweep = {{"name", "../refused/sweep"}, {"experiment", e}, {"method", "grid"},
                            {"metric", "val/acuracy"}, {"parameters", {{"optimizer.lr", {{"values", {0.1, 0.2}}}}}}};
        m_window->startSweep(sweep);
        QMessageBox *box = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT((box = problemBox(QStringLiteral("Sweep failed"))) != nullptr, 30000);
        QVERIFY2(box->text().contains(QStringLiteral("val/acuracy")), qPrintable(box->text()));
        const QFileInfo store(m_storePath);
        const QDir sweeps(store.dir().filePath(store.completeBaseName() + QStringLiteral(".runs/sweeps")));
        QVERIFY2(!sweeps.entryList({QStringLiteral("___refused_sweep-*.json")}).isEmpty(),
                 qPrintable(sweeps.entryList().join(QLatin1Char(' '))));
        shoot(QStringLiteral("sweep-refused"), box);
        box->done(QMessageBox::Ok);
    }

    // The window fits a 1024-pixel-wide screen with the runs list docked (its pages' controls made it 1,363
    // wide), and a run named with 150 characters does not widen it (its header grew to the whole name).
    void theWindowFitsALaptop()
    {
        QVERIFY2(m_window->minimumSizeHint().width() <= 1024, qPrintable(QString::number(m_window->minimumSizeHint().width())));
        RunsBrowser *b = m_window->runsBrowser();
        const QString longName = QStringLiteral("lr-sweep-around-the-finder-") + QString(120, QLatin1Char('x')) + QStringLiteral("-seed-13");
        QVERIFY(b->model()->setData(b->model()->index(b->model()->rowOf(m_trainA), RunsModel::Name), longName));
        QTRY_COMPARE_WITH_TIMEOUT(b->model()->index(b->model()->rowOf(m_trainA), RunsModel::Name).data().toString(), longName, 5000);
        m_window->showRun(m_trainA);
        QTRY_VERIFY_WITH_TIMEOUT(m_window->runView()->runId() == m_trainA, 5000);
        // The header follows the rename, cut in the middle; the whole name is its tooltip.
        QTRY_VERIFY_WITH_TIMEOUT(m_window->runView()->header()->toolTip() == longName, 5000);
        QVERIFY2(m_window->runView()->header()->text().contains(QStringLiteral("-seed-13")) &&
                     m_window->runView()->header()->text().contains(QChar(0x2026)),
                 qPrintable(m_window->runView()->header()->text()));
        QVERIFY2(m_window->minimumSizeHint().width() <= 1024, qPrintable(QString::number(m_window->minimumSizeHint().width())));
        // The form's file, deep in folders: its path cut in the middle (it ran off the bar), whole in the tooltip.
        const QString deep = QDir(m_dir).filePath(QStringLiteral("projects/arxiv-classification/experiments/2026-12/"
                                                                 "a-long-experiment-name.json"));
        QVERIFY(QDir().mkpath(QFileInfo(deep).path()));
        QString error;
        QVERIFY2(m_window->form()->saveFile(deep, &error), qPrintable(error));
        auto *fileLabel = m_window->form()->findChild<QLabel *>(QStringLiteral("experimentFile"));
        QVERIFY(fileLabel);
        QCOMPARE(fileLabel->toolTip(), QDir::toNativeSeparators(deep));
        QVERIFY2(m_window->minimumSizeHint().width() <= 1024, "the path widened the window");
        const QSize before = m_window->size();
        m_window->resize(1024, 700);
        m_window->pages()->setCurrentIndex(MainWindow::FormPage);
        QCoreApplication::processEvents();
        QVERIFY2(fileLabel->text().contains(QChar(0x2026)) && fileLabel->text().endsWith(QStringLiteral("name.json")),
                 qPrintable(fileLabel->text()));
        QVERIFY(fileLabel->fontMetrics().horizontalAdvance(fileLabel->text()) <= fileLabel->contentsRect().width());
        shoot(QStringLiteral("window-1024-form-long-path"));
        m_window->pages()->setCurrentIndex(MainWindow::RunPage);
        m_window->runView()->tabs()->setCurrentIndex(RunView::Predictions);
        shoot(QStringLiteral("window-1024-predictions"));
        m_window->runView()->tabs()->setCurrentIndex(RunView::Histograms);
        shoot(QStringLiteral("window-1024-histograms"));
        m_window->runView()->tabs()->setCurrentIndex(RunView::Curves);
        shoot(QStringLiteral("window-1024-long-name"));
        m_window->resize(before);
    }

    // New, Open, a run's config, a sweep's best: with unsaved edits the form asks first (it replaced them silently).
    void unsavedEditsAreAskedAbout()
    {
        auto *form = m_window->findChild<ExperimentForm *>();
        QVERIFY(form);
        form->setFieldValue(QStringLiteral("name"), "my-carefully-edited-name");
        QVERIFY(form->isModified());
        m_window->setConfirmOnClose(true);
        const auto answerWith = [this](QMessageBox::StandardButton button, bool shot) {
            QTimer::singleShot(300, this, [this, button, shot] {
                auto *box = qobject_cast<QMessageBox *>(QApplication::activeModalWidget());
                QVERIFY(box);
                if (shot)
                    shoot(QStringLiteral("unsaved-edits-asked"), box);
                box->button(button)->click();
            });
        };
        answerWith(QMessageBox::Cancel, true);
        form->newExperiment();
        QCOMPARE(form->fieldValue(QStringLiteral("name")).get<std::string>(), std::string("my-carefully-edited-name"));
        answerWith(QMessageBox::Discard, false);
        m_window->duplicateConfig(m_trainA);
        QTRY_VERIFY_WITH_TIMEOUT(form->fieldValue(QStringLiteral("name")).get<std::string>() != "my-carefully-edited-name",
                                 5000);
        // Found by an audit: a duplicated config was no file's and not marked modified, so New dropped it unasked.
        QVERIFY(form->isModified());
        answerWith(QMessageBox::Cancel, false);
        form->newExperiment();
        QVERIFY(form->fieldValue(QStringLiteral("name")).get<std::string>() != "new-experiment");
        m_window->setConfirmOnClose(false);
    }

    void cleanupTestCase()
    {
        m_window.reset();
    }
};

QTEST_MAIN(TestWorkbench)
#include "tst_workbench.moc"
