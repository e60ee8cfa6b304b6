// Masked-language-model pre-training as a user runs it: `lbk run` of an experiment with training.objective "mlm"
// on the sample's abstracts trains a small encoder from scratch and records masked-token loss, accuracy and
// perplexity on held-out documents; a run that fails part-way and is resumed draws the same masks and reproduces
// the uninterrupted loss curve; a classifier fine-tuned with model.init_from "run:NAME" starts from exactly the
// pre-trained encoder. (An engine test: it reads the checkpoints with LibTorch.)
#include <QtTest>

#include <cmath>

#include <torch/torch.h>

#include "lbkprocess.h"
#include "store/store.h"

using nlohmann::json;

class TestPretrain : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir{QStringLiteral(LABBOOK_TEST_TMP "/e2e-pretrain-XXXXXX")};
    QString m_store;

    lbktest::ProcessResult lbk(QStringList args, const QProcessEnvironment &env = QProcessEnvironment::systemEnvironment())
    {
        args.prepend(m_store);
        args.prepend(QStringLiteral("--store"));
        return lbktest::runProcess(QStringLiteral(LABBOOK_BIN_DIR "/lbk"), args, 600000, env);
    }

    QString experiment(const QString &name)
    {
        return lbktest::debugVariant(
            m_dir.path(), name,
            {{"data", {{"text", "abstract"}, {"limit", 600}}},
             {"tokenizer", {{"max_tokens", 48}, {"vocab_size", 1000}}},
             {"model", {{"type", "encoder"}, {"embedding_dim", 32}, {"hidden", 64}, {"layers", 1}, {"heads", 2}}},
             {"optimizer", {{"lr", 0.002}, {"weight_decay", 0.01}}},
             {"training", {{"objective", "mlm"}, {"batch_size", 16}, {"epochs", 1}, {"max_steps", 40}, {"log_every", 5}}},
             {"evaluation", {{"every_steps", 10}, {"metric", "loss"}}}});
    }

    std::unique_ptr<lbk::Store> store()
    {
        auto s = lbk::Store::open(m_store.toStdString());
        if (!s)
            qFatal("%s", s.message().c_str());
        return std::move(*s);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_store = m_dir.filePath(QStringLiteral("store.db"));
    }

    void pretrainsAndRecords()
    {
        const auto r = lbk({QStringLiteral("run"), experiment(QStringLiteral("mlm"))});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        QVERIFY2(r.err.contains(QStringLiteral("masked-token accuracy")), qPrintable(r.err));
        auto s = store();
        auto run = s->run("mlm");
        QVERIFY(run.ok());
        QCOMPARE(run->task, std::string("mlm"));
        const auto perplexity = s->metric(run->id, "val/perplexity");
        QCOMPARE(perplexity.size(), size_t(4)); // steps 10, 20, 30, 40
        for (const auto &p : perplexity)
            QVERIFY(std::isfinite(p.value) && p.value > 1.0);
        // Better than guessing among 1,000 pieces, and better at the end than after ten steps.
        qInfo("held-out perplexity: step 10 %.1f, step 40 %.1f", perplexity.front().value, perplexity.back().value);
        QVERIFY(perplexity.back().value < perplexity.front().value);
        QVERIFY(perplexity.back().value < 1000.0);
        QVERIFY(run->summaryValue("best", "val/loss").has_value());
        const auto loss = s->metric(run->id, "train/loss");
        QCOMPARE(loss.size(), size_t(8));
    }

    // model.init_from "run:mlm": the recorded config names the run by uid with its sizes, and with the embeddings
    // frozen the fine-tuned run's word and position embeddings are the pre-trained ones, value for value.
    void fineTunesFromTheRun()
    {
        const QString file = lbktest::debugVariant(
            m_dir.path(), QStringLiteral("from-mlm"),
            {{"data", {{"limit", 800}}},
             {"tokenizer", {{"max_tokens", 24}}},
             {"model", {{"type", "encoder"}, {"init_from", "run:mlm"}, {"pooling", "cls"}, {"freeze_embeddings", true}}},
             {"training", {{"max_steps", 12}}},
             {"evaluation", {{"every_steps", 6}}}});
        const auto r = lbk({QStringLiteral("run"), file});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        QVERIFY2(r.err.contains(QStringLiteral("encoder tensors from")), qPrintable(r.err));
        auto s = store();
        const auto pre = s->run("mlm"), fine = s->run("from-mlm");
        QVERIFY(pre.ok() && fine.ok());
        QCOMPARE(fine->config["model"]["init_from"].get<std::string>(), "run:" + pre->uid);
        QCOMPARE(fine->config["model"]["embedding_dim"], pre->config["model"]["embedding_dim"]);
        torch::serialize::InputArchive a, b;
        a.load_from((std::filesystem::path(pre->runDir) / "checkpoints" / "best.pt").string());
        b.load_from((std::filesystem::path(fine->runDir) / "checkpoints" / "last.pt").string());
        for (const char *key : {"model.bert.embeddings.word_embeddings.weight",
                                "model.bert.embeddings.position_embeddings.weight"}) {
            torch::Tensor x, y;
            a.read(key, x);
            b.read(key, y);
            QVERIFY2(torch::equal(x.narrow(0, 0, y.size(0)), y), key);
        }
        // A run that is not a pre-training run is refused, naming it.
        const QString bad = lbktest::debugVariant(
            m_dir.path(), QStringLiteral("from-classifier"),
            {{"model", {{"type", "encoder"}, {"init_from", "run:from-mlm"}}}});
        const auto refused = lbk({QStringLiteral("run"), bad});
        QCOMPARE(refused.exitCode, 2);
        QVERIFY2(refused.err.contains(QStringLiteral("is not an MLM pre-training run")), qPrintable(refused.err));
    }

    // A run stopped by a diverging loss at step 25 resumes from its step-20 checkpoint and then trains exactly as
    // the uninterrupted run did: same data order, same masks.
    void resumeReproducesTheCurve()
    {
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("LABBOOK_INJECT_NAN_STEP"), QStringLiteral("25"));
        const auto failed = lbk({QStringLiteral("run"), experiment(QStringLiteral("mlm-resumed"))}, env);
        QVERIFY(failed.exitCode != 0);
        const auto r = lbk({QStringLiteral("resume"), QStringLiteral("mlm-resumed")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        auto s = store();
        const auto whole = s->metric(s->run("mlm")->id, "train/loss");
        const auto resumed = s->metric(s->run("mlm-resumed")->id, "train/loss");
        QCOMPARE(resumed.size(), whole.size());
        double worst = 0;
        for (size_t i = 0; i < whole.size(); ++i) {
            QCOMPARE(resumed[i].step, whole[i].step);
            worst = std::max(worst, std::abs(resumed[i].value - whole[i].value));
        }
        qInfo("largest difference of %zu logged losses: %.3g", whole.size(), worst);
        QVERIFY(worst < 1e-5);
    }
};

QTEST_GUILESS_MAIN(TestPretrain)
#include "tst_pretrain.moc"
