// Fine-tuning a pretrained encoder as a user does, with real processes: a tiny BERT and RoBERTa in Hugging Face's
// layout (written by reference/hf_encoder.py with Debian's python3-torch), `lbk run` of an experiment whose
// model.init_from names the folder, `lbk export --format hf`, and the Python reference of transformers' model
// reading the export: its probabilities equal `lbk predict`'s on the same papers. Also `--format model`, resume,
// and what a user sees for a folder that is not a checkpoint.
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "lbkprocess.h"
#include "data/dataset.h"
#include "hf/hftokenizer.h"
#include "hf/safetensors.h"
#include "store/store.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Result = lbktest::ProcessResult;
const char *kSample = LABBOOK_SOURCE_DIR "/../shared/data/arxiv/arxiv-sample-5k.jsonl";
const QString kPython = QStringLiteral("/usr/bin/python3");
const QString kReference = QStringLiteral(LABBOOK_SOURCE_DIR "/reference/hf_encoder.py");

json readJson(const fs::path &file)
{
    std::ifstream in(file);
    return json::parse(in);
}

// The export's tensors as float32 by name.
std::map<std::string, std::pair<std::vector<int64_t>, std::vector<float>>> readTensors(const fs::path &file)
{
    auto st = lbk::hf::SafetensorsFile::open(file);
    if (!st.ok())
        qFatal("%s", st.message().c_str());
    std::map<std::string, std::pair<std::vector<int64_t>, std::vector<float>>> out;
    for (const auto &t : (*st)->header().tensors)
        out[t.name] = {t.shape, (*st)->toFloat(t)};
    return out;
}

// A copy of an exported classifier whose labels are renamed (rename(id, name)) and, with reverse, whose labels and
// logit rows are both reversed: the same model with its labels in the other order.
void copyWithLabels(const fs::path &from, const fs::path &to, bool reverse,
                    const std::function<std::string(const std::string &)> &rename)
{
    fs::create_directories(to);
    for (const auto &entry : fs::directory_iterator(from))
        if (entry.path().filename() != "model.safetensors" && entry.path().filename() != "config.json")
            fs::copy_file(entry.path(), to / entry.path().filename());
    json config = readJson(from / "config.json");
    const size_t n = config["id2label"].size();
    json id2label = json::object(), label2id = json::object();
    for (size_t i = 0; i < n; ++i) {
        const std::string name = rename(config["id2label"][std::to_string(reverse ? n - 1 - i : i)]);
        id2label[std::to_string(i)] = name;
        label2id[name] = i;
    }
    config["id2label"] = id2label;
    config["label2id"] = label2id;
    std::ofstream(to / "config.json") << config.dump(2);
    auto tensors = readTensors(from / "model.safetensors");
    std::vector<lbk::hf::TensorView> views;
    for (auto &[name, t] : tensors) {
        auto &[shape, values] = t;
        if (reverse && (name == "classifier.weight" || name == "classifier.bias")) {
            const size_t row = values.size() / n;
            for (size_t i = 0; i < n / 2; ++i)
                std::swap_ranges(values.begin() + i * row, values.begin() + (i + 1) * row,
                                 values.begin() + (n - 1 - i) * row);
        }
        views.push_back({name, lbk::hf::DType::F32, shape, values.data(), values.size() * sizeof(float)});
    }
    const auto written = lbk::hf::writeSafetensors(to / "model.safetensors", views, {{"format", "pt"}});
    if (!written.ok())
        qFatal("%s", written.message().c_str());
}

} // namespace

class TestFinetune : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir{QStringLiteral(LABBOOK_TEST_TMP "/e2e-finetune-XXXXXX")};
    QString m_store;

    QString path(const QString &name) { return m_dir.filePath(name); }
    Result lbk(QStringList args, int timeoutMs = 600000)
    {
        args.prepend(m_store);
        args.prepend(QStringLiteral("--store"));
        return lbktest::runProcess(QStringLiteral(LABBOOK_BIN_DIR "/lbk"), args, timeoutMs);
    }
    Result python(const QStringList &args) { return lbktest::runProcess(kPython, QStringList{kReference} + args); }

    // An experiment fine-tuning the folder on the 5k sample's titles, a few dozen steps.
    QString experiment(const QString &name, const QString &folder, const json &more = json::object())
    {
        json changes = {{"model", {{"type", "encoder"}, {"init_from", folder.toStdString()}, {"pooling", "pooler"},
                                   {"dropout", 0.1}, {"head_lr_factor", 5.0}, {"embedding_dim", nullptr}}},
                        {"tokenizer", {{"max_tokens", 40}}},
                        {"data", {{"limit", 1200}}},
                        {"optimizer", {{"lr", 0.002}, {"weight_decay", 0.01}}},
                        {"training", {{"batch_size", 16}, {"epochs", 1}, {"max_steps", 40}, {"accumulate", 2}}},
                        {"evaluation", {{"every_steps", 20}}}};
        changes.merge_patch(more);
        return lbktest::debugVariant(m_dir.path(), name, changes);
    }

    // A run's journal, as its folder holds it.
    QString journal(const QString &run)
    {
        auto s = lbk::Store::open(m_store.toStdString());
        if (!s.ok() || !(*s)->run(run.toStdString()).ok())
            return {};
        std::ifstream in(fs::path((*s)->run(run.toStdString())->runDir) / "journal.jsonl");
        return QString::fromStdString(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
    }

    // The first n sample papers' ids and title token ids under the export's own tokenizer.
    std::pair<std::vector<std::string>, std::vector<std::vector<int>>> encodeTitles(const fs::path &exportDir, size_t n)
    {
        auto tok = lbk::hf::loadHfTokenizer(exportDir);
        if (!tok.ok())
            qFatal("%s", tok.message().c_str());
        std::ifstream in(kSample);
        std::vector<std::string> ids;
        std::vector<std::vector<int>> tokens;
        for (std::string line; ids.size() < n && std::getline(in, line);) {
            const json p = json::parse(line);
            ids.push_back(p.value("id", ""));
            tokens.push_back((*tok)->encode(p.value("title", ""), 40));
        }
        return {ids, tokens};
    }

    // Labbook's probabilities (lbk predict on the run) against the reference's softmax over the export's logits.
    double maxDifference(const QString &run, const fs::path &exportDir)
    {
        const QString head = path(QStringLiteral("head.jsonl"));
        {
            std::ifstream in(kSample);
            std::ofstream out(head.toStdString());
            std::string line;
            for (int i = 0; i < 50 && std::getline(in, line); ++i)
                out << line << '\n';
        }
        const QString preds = path(QStringLiteral("preds-") + run + QStringLiteral(".jsonl"));
        const auto p = lbk({QStringLiteral("predict"), run, QStringLiteral("--data"), head, QStringLiteral("--out"), preds});
        if (p.exitCode != 0)
            qFatal("predict: %s", qPrintable(p.err));
        auto [ids, tokens] = encodeTitles(exportDir, 50);
        const QString idsFile = path(QStringLiteral("ids.json")), outFile = path(QStringLiteral("ref.json"));
        std::ofstream(idsFile.toStdString()) << json(tokens).dump();
        const auto r = python({QStringLiteral("forward"), QStringLiteral("--folder"), QString::fromStdString(exportDir.string()),
                               QStringLiteral("--ids"), idsFile, QStringLiteral("--out"), outFile});
        if (r.exitCode != 0)
            qFatal("reference: %s", qPrintable(r.err));
        const json ref = readJson(outFile.toStdString());
        std::ifstream in(preds.toStdString());
        double worst = 0;
        size_t row = 0;
        for (std::string line; std::getline(in, line); ++row) {
            const json got = json::parse(line);
            if (got["id"] != ids[row])
                qFatal("prediction %zu is for %s, not %s", row, got["id"].dump().c_str(), ids[row].c_str());
            const auto logits = ref["logits"][row].get<std::vector<double>>();
            double top = *std::max_element(logits.begin(), logits.end()), sum = 0;
            for (double l : logits)
                sum += std::exp(l - top);
            for (size_t k = 0; k < logits.size(); ++k) {
                const double mine = got["probs"][k].get<double>();
                worst = std::max(worst, std::abs(mine - std::exp(logits[k] - top) / sum));
            }
        }
        if (row != 50)
            qFatal("predict wrote %zu rows", row);
        return worst;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        if (lbktest::runProcess(kPython, {QStringLiteral("-c"), QStringLiteral("import torch")}).exitCode != 0)
            QSKIP("Debian's python3-torch is not installed (./test.sh installs it)");
        m_store = path(QStringLiteral("store.db"));
    }

    void fineTuneExportAndScore_data()
    {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("task");
        QTest::newRow("bert, multiclass") << "bert" << "multiclass";
        QTest::newRow("roberta, binary") << "roberta" << "binary";
    }
    void fineTuneExportAndScore()
    {
        QFETCH(QString, family);
        QFETCH(QString, task);
        const QString folder = path(family);
        QCOMPARE(python({QStringLiteral("make"), QStringLiteral("--family"), family, QStringLiteral("--out"), folder,
                         QStringLiteral("--mlm-head")})
                     .exitCode,
                 0);
        const json labels = task == QStringLiteral("binary")
                                ? json{{"kind", "binary"}, {"positive", {"cs.LG"}}}
                                : json{{"kind", "multiclass"}, {"top_n", 5}};
        const QString name = family + QStringLiteral("-") + task;
        const auto r = lbk({QStringLiteral("run"), experiment(name, folder, {{"labels", labels}})});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        // The run's log says what the folder held and what loading found, as transformers does.
        const QString log = journal(name);
        QVERIFY2(log.contains(QStringLiteral("encoder ") + family), qPrintable(log));
        QVERIFY2(log.contains(QStringLiteral("were not used")), qPrintable(log));
        QVERIFY2(log.contains(QStringLiteral("newly initialized")), qPrintable(log));
        // The recorded config carries the encoder's sizes from the folder's config.json, not the file's defaults, so
        // lbk show and lbk compare say what was trained.
        const json folderConfig = readJson(fs::path(folder.toStdString()) / "config.json");
        const auto shown = lbk({QStringLiteral("show"), name, QStringLiteral("--json")});
        QVERIFY2(shown.exitCode == 0, qPrintable(shown.err));
        const json recorded = json::parse(shown.out.toStdString())["config"]["model"];
        QCOMPARE(recorded["layers"], folderConfig["num_hidden_layers"]);
        QCOMPARE(recorded["embedding_dim"], folderConfig["hidden_size"]);
        QCOMPARE(recorded["heads"], folderConfig["num_attention_heads"]);
        QCOMPARE(recorded["hidden"], folderConfig["intermediate_size"]);

        const fs::path out = path(name + QStringLiteral("-hf")).toStdString();
        const auto e = lbk({QStringLiteral("export"), name, QStringLiteral("--format"), QStringLiteral("hf"),
                            QStringLiteral("--out"), QString::fromStdString(out.string())});
        QVERIFY2(e.exitCode == 0, qPrintable(e.out + e.err));
        for (const char *file : {"config.json", "model.safetensors"})
            QVERIFY2(fs::exists(out / file), file);
        const json config = readJson(out / "config.json");
        QCOMPARE(config["architectures"][0].get<std::string>(),
                 std::string(family == QStringLiteral("bert") ? "BertForSequenceClassification" : "RobertaForSequenceClassification"));
        QCOMPARE(config["id2label"].size(), size_t(task == QStringLiteral("binary") ? 2 : 5));
        // Found by an audit: the folder did not say which text the model read, and the tokenizer cut at the
        // position table's size, not where the run cut.
        const json run = json::parse(shown.out.toStdString())["config"];
        QCOMPARE(config["labbook_input"]["text"], run["data"]["text"]);
        const int64_t cut = std::min(run["tokenizer"]["max_tokens"].get<int64_t>(),
                                     folderConfig["max_position_embeddings"].get<int64_t>());
        QCOMPARE(config["labbook_input"]["tokenizer"]["max_tokens"], run["tokenizer"]["max_tokens"]);
        const json tokenizerConfig = readJson(out / "tokenizer_config.json");
        QCOMPARE(tokenizerConfig["model_max_length"].get<int64_t>(), cut); // the fixture's source says 512
        const double d = maxDifference(name, out);
        QVERIFY2(d < 1e-5, qPrintable(QStringLiteral("probabilities differ by %1").arg(d)));
        // lbk predict reads Labbook's model folder, not transformers': it says which to export.
        const auto wrong = lbk({QStringLiteral("predict"), QString::fromStdString(out.string()), QStringLiteral("--data"),
                                QString::fromUtf8(kSample), QStringLiteral("--out"),
                                path(name + QStringLiteral("-wrong.jsonl"))});
        QCOMPARE(wrong.exitCode, 2);
        QVERIFY2(wrong.err.contains(QStringLiteral("--format model")), qPrintable(wrong.err));

        // The model export for Labbook's own clients works for encoders too.
        const fs::path model = path(name + QStringLiteral("-model")).toStdString();
        const auto m = lbk({QStringLiteral("export"), name, QStringLiteral("--format"), QStringLiteral("model"),
                            QStringLiteral("--out"), QString::fromStdString(model.string())});
        QVERIFY2(m.exitCode == 0, qPrintable(m.out + m.err));
        QVERIFY(fs::exists(model / "hf" / "config.json"));
        // Its hf/ tokenizer cuts where the run did too (it kept the position table's length).
        const json modelTokenizer = readJson(model / "hf" / "tokenizer_config.json");
        QCOMPARE(modelTokenizer["model_max_length"].get<int64_t>(), cut);
        QCOMPARE(readJson(model / "model.json")["architecture"]["family"].get<std::string>(), family.toStdString());
        QVERIFY(readJson(model / "model.json")["encoder_from"]["init_from"].is_string()); // the folder it started from
    }

    // Fine-tuning from a fine-tuned classifier reads its id2label before reusing its head: the same labels reuse
    // it, the same labels in another order put its rows in this run's order (a run barely trained then exports the
    // original head again), other labels start a new head (transformers would reuse any head of the right size).
    void headMeetsTheRunsLabels()
    {
        const fs::path exported = path(QStringLiteral("bert-multiclass-hf")).toStdString();
        if (!fs::exists(exported / "config.json"))
            QSKIP("needs fineTuneExportAndScore's export");
        const fs::path reordered = path(QStringLiteral("head-reversed")).toStdString();
        const fs::path other = path(QStringLiteral("head-other")).toStdString();
        copyWithLabels(exported, reordered, true, [](const std::string &n) { return n; });
        copyWithLabels(exported, other, false, [](const std::string &n) { return "not-" + n; });
        const json labels = {{"labels", {{"kind", "multiclass"}, {"top_n", 5}}},
                             {"optimizer", {{"lr", 1e-9}, {"weight_decay", 0.0}}},
                             {"training", {{"max_steps", 1}, {"accumulate", 1}}},
                             {"evaluation", {{"every_steps", 1}}}};
        const auto fineTune = [&](const QString &name, const fs::path &from) {
            const auto r = lbk({QStringLiteral("run"), experiment(name, QString::fromStdString(from.string()), labels)});
            if (r.exitCode != 0)
                qFatal("%s: %s", qPrintable(name), qPrintable(r.out + r.err));
            return journal(name);
        };
        QString log = fineTune(QStringLiteral("head-same"), exported);
        QVERIFY2(log.contains(QStringLiteral("is for this run's labels: it is reused")), qPrintable(log));
        log = fineTune(QStringLiteral("head-reordered"), reordered);
        QVERIFY2(log.contains(QStringLiteral("in another order: its rows are put in this run's order")), qPrintable(log));
        const fs::path again = path(QStringLiteral("head-reordered-hf")).toStdString();
        const auto e = lbk({QStringLiteral("export"), QStringLiteral("head-reordered"), QStringLiteral("--format"),
                            QStringLiteral("hf"), QStringLiteral("--out"), QString::fromStdString(again.string())});
        QVERIFY2(e.exitCode == 0, qPrintable(e.err));
        QCOMPARE(readJson(again / "config.json")["id2label"], readJson(exported / "config.json")["id2label"]);
        const auto before = readTensors(exported / "model.safetensors"), after = readTensors(again / "model.safetensors");
        for (const char *name : {"classifier.weight", "classifier.bias"}) {
            const auto &a = before.at(name).second, &b = after.at(name).second;
            QCOMPARE(a.size(), b.size());
            for (size_t i = 0; i < a.size(); ++i)
                QVERIFY2(std::abs(a[i] - b[i]) < 1e-5, qPrintable(QStringLiteral("%1[%2]: %3 vs %4").arg(QLatin1String(name)).arg(i).arg(a[i]).arg(b[i])));
        }
        log = fineTune(QStringLiteral("head-other"), other);
        QVERIFY2(log.contains(QStringLiteral("trained for other labels (not-")), qPrintable(log));
        QVERIFY2(log.contains(QStringLiteral("newly initialized: ['classifier.bias', 'classifier.weight']")),
                 qPrintable(log));
    }

    // A run that failed part way resumes from its checkpoint with the run's own copy of the folder's config and
    // tokenizer: the original folder may be gone by then.
    void resumesWithoutTheFolder()
    {
        const QString folder = path(QStringLiteral("resume-bert"));
        QCOMPARE(python({QStringLiteral("make"), QStringLiteral("--family"), QStringLiteral("bert"), QStringLiteral("--out"),
                         folder}).exitCode, 0);
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("LABBOOK_INJECT_NAN_STEP"), QStringLiteral("30"));
        const auto failed = lbktest::runProcess(QStringLiteral(LABBOOK_BIN_DIR "/lbk"),
                                                {QStringLiteral("--store"), m_store, QStringLiteral("run"),
                                                 experiment(QStringLiteral("resumed"), folder,
                                                            {{"training", {{"checkpoint_minutes", 0}}}})},
                                                600000, env);
        QVERIFY2(failed.exitCode != 0, qPrintable(failed.out));
        QVERIFY(QDir(folder).removeRecursively());
        const auto r = lbk({QStringLiteral("resume"), QStringLiteral("resumed")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        const QString log = journal(QStringLiteral("resumed"));
        QVERIFY2(log.contains(QStringLiteral("(the run's copy)")), qPrintable(log));
        QVERIFY2(log.contains(QStringLiteral("\"resumed_from_step\":20")), qPrintable(log));
    }

    // A folder without config.json: the run is refused before it exists with a message naming the folder.
    void notACheckpoint()
    {
        const QString empty = path(QStringLiteral("empty-folder"));
        QVERIFY(QDir().mkpath(empty));
        const auto r = lbk({QStringLiteral("run"), experiment(QStringLiteral("not-a-checkpoint"), empty)});
        QCOMPARE(r.exitCode, 2);
        const QString said = r.out + r.err;
        QVERIFY2(said.contains(QStringLiteral("config.json")), qPrintable(said));
    }

    // bf16 autocast on the CPU fine-tunes the same checkpoint to about the same loss as fp32 (where the CPU computes
    // bf16 natively; elsewhere the run falls back to fp32 and says so), and predict scores the bf16 run.
    void bf16FineTunes()
    {
        const QString folder = path(QStringLiteral("bf16-bert"));
        QCOMPARE(python({QStringLiteral("make"), QStringLiteral("--family"), QStringLiteral("bert"), QStringLiteral("--out"),
                         folder}).exitCode, 0);
        auto lossAt10 = [&](const QString &name, const char *precision) {
            const auto r = lbk({QStringLiteral("run"),
                                experiment(name, folder, {{"training", {{"precision", precision}, {"max_steps", 10}}}})});
            if (r.exitCode != 0)
                qFatal("%s: %s", precision, qPrintable(r.out + r.err));
            for (const auto &line : journal(name).split(QLatin1Char('\n'), Qt::SkipEmptyParts)) {
                const json e = json::parse(line.toStdString());
                if (e.value("type", "") == "metrics" && e.value("step", 0) == 10 && e["values"].contains("train/loss"))
                    return e["values"]["train/loss"].get<double>();
            }
            qFatal("%s: no train/loss at step 10", precision);
        };
        const double fp32 = lossAt10(QStringLiteral("enc-fp32"), "fp32"), bf16 = lossAt10(QStringLiteral("enc-bf16"), "bf16");
        qInfo("train/loss at step 10: fp32 %.5f, bf16 %.5f", fp32, bf16);
        QVERIFY(std::isfinite(bf16));
        QVERIFY2(std::abs(bf16 - fp32) < 0.03 * fp32, qPrintable(QStringLiteral("%1 vs %2").arg(bf16).arg(fp32)));
        const QString head = path(QStringLiteral("head20.jsonl")), preds = path(QStringLiteral("preds-bf16.jsonl"));
        {
            std::ifstream in(kSample);
            std::ofstream out(head.toStdString());
            std::string line;
            for (int i = 0; i < 20 && std::getline(in, line); ++i)
                out << line << '\n';
        }
        const auto p = lbk({QStringLiteral("predict"), QStringLiteral("enc-bf16"), QStringLiteral("--data"), head,
                            QStringLiteral("--out"), preds});
        QVERIFY2(p.exitCode == 0, qPrintable(p.err));
        std::ifstream scored(preds.toStdString());
        int rows = 0;
        for (std::string line; std::getline(scored, line);)
            rows += json::parse(line)["probs"].size() == 5;
        QCOMPARE(rows, 20);
    }

    // lbk validate reads the folder: a size that contradicts its config.json names both values; the folder's own
    // sizes validate; a folder that is not a checkpoint, or whose weights are cut short, says why; a relative folder
    // is read under the data root, and said.
    void validateChecksTheFolder()
    {
        const QString folder = path(QStringLiteral("validate-bert"));
        QCOMPARE(python({QStringLiteral("make"), QStringLiteral("--family"), QStringLiteral("bert"), QStringLiteral("--out"),
                         folder}).exitCode, 0);
        const json config = readJson(folder.toStdString() + "/config.json");
        const int layers = config["num_hidden_layers"].get<int>();
        const auto bad = lbk({QStringLiteral("validate"),
                              experiment(QStringLiteral("validate-bad"), folder, {{"model", {{"layers", layers + 3}}}})});
        QCOMPARE(bad.exitCode, 2);
        const QString expected = QStringLiteral("model.layers is %1 but %2/config.json has num_hidden_layers %3")
                                     .arg(layers + 3)
                                     .arg(folder)
                                     .arg(layers);
        QVERIFY2(bad.err.contains(expected), qPrintable(bad.err));
        const auto good = lbk({QStringLiteral("validate"), experiment(QStringLiteral("validate-good"), folder)});
        QVERIFY2(good.exitCode == 0, qPrintable(good.err));
        const QString empty = path(QStringLiteral("validate-empty"));
        QVERIFY(QDir().mkpath(empty));
        const auto none = lbk({QStringLiteral("validate"), experiment(QStringLiteral("validate-none"), empty)});
        QCOMPARE(none.exitCode, 2);
        QVERIFY2(none.err.contains(QStringLiteral("model.init_from: ")) && none.err.contains(QStringLiteral("config.json")),
                 qPrintable(none.err));

        // Weights cut short (a download stopped early) are found here, not by a run after a cluster's queue.
        const QString cut = path(QStringLiteral("validate-cut"));
        QCOMPARE(python({QStringLiteral("make"), QStringLiteral("--family"), QStringLiteral("bert"),
                         QStringLiteral("--out"), cut, QStringLiteral("--weights"), QStringLiteral("bin")})
                     .exitCode,
                 0);
        const std::string bin = cut.toStdString() + "/pytorch_model.bin";
        std::filesystem::resize_file(bin, std::filesystem::file_size(bin) / 2);
        const auto cutShort = lbk({QStringLiteral("validate"), experiment(QStringLiteral("validate-cut"), cut)});
        QCOMPARE(cutShort.exitCode, 2);
        QVERIFY2(cutShort.err.contains(QString::fromStdString("model.init_from: " + bin + ": not a readable torch.save "
                                                              "archive")),
                 qPrintable(cutShort.err));
        // A run launched all the same is refused with the same words before it exists: no failed run recorded.
        const auto ran = lbk({QStringLiteral("run"), experiment(QStringLiteral("validate-cut"), cut)});
        QCOMPARE(ran.exitCode, 2);
        QVERIFY2(ran.err.contains(QString::fromStdString("model.init_from: " + bin + ": not a readable torch.save "
                                                         "archive")),
                 qPrintable(ran.err));
        const auto shown = lbk({QStringLiteral("show"), QStringLiteral("validate-cut")});
        QVERIFY2(shown.exitCode != 0, qPrintable(shown.out));
        // With model.allow_missing_weights, what starts at random is said before the run.
        const QString shallow = path(QStringLiteral("validate-shallow"));
        QCOMPARE(python({QStringLiteral("make"), QStringLiteral("--family"), QStringLiteral("bert"),
                         QStringLiteral("--out"), shallow}).exitCode, 0);
        json deeper = readJson(shallow.toStdString() + "/config.json");
        deeper["num_hidden_layers"] = layers + 1;
        std::ofstream(shallow.toStdString() + "/config.json") << deeper.dump();
        const auto allowed = lbk({QStringLiteral("validate"),
                                  experiment(QStringLiteral("validate-shallow"), shallow,
                                             {{"model", {{"allow_missing_weights", true}}}})});
        QCOMPARE(allowed.exitCode, 0);
        QVERIFY2(allowed.err.contains(QStringLiteral("note: model.allow_missing_weights: the run starts encoder layer %1 "
                                                     "at random (not in %2/model.safetensors)").arg(layers).arg(shallow)),
                 qPrintable(allowed.err));

        // A relative folder starts at the data root, and validate says where it read it.
        const auto relative = lbk({QStringLiteral("--data-root"), m_dir.path(), QStringLiteral("validate"),
                                   experiment(QStringLiteral("validate-relative"), QStringLiteral("validate-bert"))});
        QVERIFY2(relative.exitCode == 0, qPrintable(relative.err));
        QVERIFY2(relative.err.contains(QStringLiteral("note: model.init_from: read from %1 (a relative path starts at "
                                                      "the data root").arg(folder)),
                 qPrintable(relative.err));
    }

    // --format hf refuses what transformers could not load the same way, and says what to use instead.
    void exportRefusesOtherModels()
    {
        const auto r = lbk({QStringLiteral("run"), lbktest::debugVariant(m_dir.path(), QStringLiteral("bag"),
                                                                          {{"training", {{"max_steps", 5}}}})});
        QCOMPARE(r.exitCode, 0);
        const auto e = lbk({QStringLiteral("export"), QStringLiteral("bag"), QStringLiteral("--format"), QStringLiteral("hf"),
                            QStringLiteral("--out"), path(QStringLiteral("bag-hf"))});
        QCOMPARE(e.exitCode, 2);
        QVERIFY2(e.err.contains(QStringLiteral("--format model")), qPrintable(e.err));
    }
};

QTEST_GUILESS_MAIN(TestFinetune)
#include "tst_finetune.moc"
