// Masked-language-model pre-training as a user runs it: `lbk run` of an experiment with training.objective "mlm"
// on the sample's abstracts trains a small encoder from scratch and records masked-token loss, accuracy and
// perplexity on held-out documents; a run that fails part-way and is resumed draws the same masks and reproduces
// the uninterrupted loss curve; a classifier fine-tuned with model.init_from "run:NAME" starts from exactly the
// pre-trained encoder, the store links the two runs, and the fine-tuned run predicts, exports and resumes like any
// other; `lbk export --format hf` of the pre-training run is a BertForMaskedLM folder that the Python reference
// loads strictly and that fills masks as Labbook does. (An engine test: it reads the checkpoints with LibTorch.)
#include <QtTest>

#include <cmath>
#include <fstream>

#include <torch/torch.h>

#include "engine/hfweights.h"
#include "experiment/schema.h"
#include "engine/mlm.h"
#include "hf/hftokenizer.h"
#include "lbkprocess.h"
#include "store/store.h"
#include "util/filebytes.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const QString kPython = QStringLiteral("/usr/bin/python3");
const QString kReference = QStringLiteral(LABBOOK_SOURCE_DIR "/reference/hf_encoder.py");
const QString kSample = QStringLiteral(LABBOOK_SOURCE_DIR "/../shared/data/arxiv/arxiv-sample-5k.jsonl");

// A file's bytes (util/filebytes.h), empty when it cannot be read.
std::string readFileText(const fs::path &file)
{
    auto bytes = lbk::readFileBytes(file);
    return bytes ? std::move(*bytes) : std::string();
}

json readJson(const fs::path &file)
{
    std::ifstream in(file);
    return json::parse(in);
}

} // namespace

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

    // A tiny pre-training run of the debug experiment; changes are merged into it (RFC 7386, as a JSON merge patch).
    QString experiment(const QString &name, const json &changes = json::object())
    {
        json mlm = {{"data", {{"text", "abstract"}, {"limit", 600}}},
                    {"tokenizer", {{"max_tokens", 48}, {"vocab_size", 1000}}},
                    {"model", {{"type", "encoder"}, {"embedding_dim", 32}, {"hidden", 64}, {"layers", 1}, {"heads", 2}}},
                    {"optimizer", {{"lr", 0.002}, {"weight_decay", 0.01}}},
                    {"training", {{"objective", "mlm"}, {"batch_size", 16}, {"epochs", 1}, {"max_steps", 40}, {"log_every", 5}}},
                    {"evaluation", {{"every_steps", 10}, {"metric", "loss"}, {"keep_checkpoints", true}}}};
        mlm.merge_patch(changes);
        return lbktest::debugVariant(m_dir.path(), name, mlm);
    }

    // The model's five likeliest tokens at three masked positions of ids, and their probabilities, are the Python
    // reference's for the BertForMaskedLM folder.
    void compareFills(lbk::EncoderMaskedLMImpl &model, const std::vector<int> &ids, int maskId, const fs::path &folder)
    {
        const int64_t n = int64_t(ids.size());
        auto input = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end())).unsqueeze(0);
        auto labels = torch::full({1, n}, int64_t(-100));
        for (const int64_t at : {int64_t(2), n / 2, n - 2}) {
            labels[0][at] = input[0][at].item<int64_t>();
            input[0][at] = maskId;
        }
        torch::NoGradGuard noGrad;
        model.eval();
        const auto [logits, truth] = model.maskedLogits(input, torch::tensor({n}), labels);
        const auto [probs, top] = torch::softmax(logits, 1).topk(5, 1);

        const QString idsFile = m_dir.filePath(QStringLiteral("fill-ids.json"));
        const QString refFile = m_dir.filePath(QStringLiteral("fill-ref.json"));
        std::ofstream(idsFile.toStdString()) << json::array({json(std::vector<int64_t>(
            input.data_ptr<int64_t>(), input.data_ptr<int64_t>() + n))}).dump();
        const auto r = lbktest::runProcess(kPython, {kReference, QStringLiteral("forward"), QStringLiteral("--folder"),
                                                     QString::fromStdString(folder.string()), QStringLiteral("--ids"),
                                                     idsFile, QStringLiteral("--out"), refFile});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const json ref = readJson(refFile.toStdString());
        int64_t row = 0;
        double worst = 0;
        for (int64_t at = 0; at < n; ++at) {
            if (labels[0][at].item<int64_t>() < 0)
                continue;
            for (int64_t j = 0; j < 5; ++j) {
                QCOMPARE(ref["top5"][0][at][j].get<int64_t>(), top[row][j].item<int64_t>());
                worst = std::max(worst, std::abs(ref["top5_probs"][0][at][j].get<double>() - probs[row][j].item<double>()));
            }
            ++row;
        }
        qInfo("top-5 fills at 3 masked positions agree with %s; probabilities differ by at most %.2g",
              folder.filename().c_str(), worst);
        QVERIFY(worst < 1e-5);
    }

    // compareFills for a pre-training run's model on a sentence framed as its sequences are.
    void compareRunFills(lbk::PretrainedMlm &pre, const fs::path &folder)
    {
        std::vector<int> ids = {pre.special.cls};
        for (const int id : pre.tokenizer->encode("we propose a new method for the detection of gravitational waves"))
            ids.push_back(id);
        ids.push_back(pre.special.sep);
        compareFills(*pre.model, ids, pre.special.mask, folder);
    }

    bool hasPython()
    {
        return lbktest::runProcess(kPython, {QStringLiteral("-c"), QStringLiteral("import torch")}).exitCode == 0;
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
        // Beside the loss, every log has the masked tokens' accuracy, the perplexity and tokens/s.
        const auto accuracy = s->metric(run->id, "train/accuracy");
        const auto trainPerplexity = s->metric(run->id, "train/perplexity");
        const auto tokens = s->metric(run->id, "train/tokens_per_s");
        QCOMPARE(accuracy.size(), loss.size());
        QCOMPARE(tokens.size(), loss.size());
        for (size_t i = 0; i < loss.size(); ++i) {
            QVERIFY(accuracy[i].value >= 0.0 && accuracy[i].value <= 1.0);
            QVERIFY(std::abs(trainPerplexity[i].value - std::exp(loss[i].value)) < 1e-6 * trainPerplexity[i].value);
            QVERIFY(tokens[i].value > 0);
        }
        // Each evaluation records the fills of a few held-out sequences: the masked token in its context, the
        // original piece, the five likeliest guesses.
        lbk::PredictionFilter filter;
        const auto fills = s->predictions(run->id, filter);
        QVERIFY2(fills.size() > 20, qPrintable(QString::number(fills.size())));
        for (const auto &f : fills) {
            QCOMPARE(f.truth.size(), size_t(1));
            QCOMPARE(f.top.size(), size_t(5));
            QVERIFY2(f.title.find("\u27e6") != std::string::npos, f.title.c_str());
            QVERIFY(f.top[0].second >= f.top[4].second);
        }
        // It has no labels to predict: predict says what to do instead.
        const auto p = lbk({QStringLiteral("predict"), QStringLiteral("mlm"), QStringLiteral("--data"), kSample,
                            QStringLiteral("--out"), m_dir.filePath(QStringLiteral("mlm-preds.jsonl"))});
        QCOMPARE(p.exitCode, 2);
        QVERIFY2(p.err.contains(QStringLiteral("--format hf")), qPrintable(p.err));
    }

    // A batch that masks no token trains nothing: the logged loss is the mean over the window's steps that masked
    // something, so such steps neither log a loss of 0 nor pull the mean down (an untrained model's loss is about
    // ln 1000 = 6.9; a window with a zero step in it would read 4.6 or less); a probability this small is warned
    // about. A corpus whose lines lack the text the run reads is refused, not trained on as empty documents.
    void tinyMaskingLogsNoFakeLoss()
    {
        const QString file = experiment(QStringLiteral("tiny-masks"),
                                        {{"data", {{"limit", 200}}},
                                         {"tokenizer", {{"max_tokens", 16}}},
                                         {"mlm", {{"probability", 0.01}}},
                                         {"training", {{"batch_size", 2}, {"max_steps", 12}, {"log_every", 3}}},
                                         {"evaluation", {{"every_steps", 12}}}});
        const auto r = lbk({QStringLiteral("run"), file});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(r.err.contains(QStringLiteral("mlm.probability 0.01 masks about")), qPrintable(r.err));
        auto s = store();
        const auto loss = s->metric(s->run("tiny-masks")->id, "train/loss");
        QVERIFY(!loss.empty() && loss.size() <= 4); // windows of three steps; one that masked nothing logs none
        for (const auto &p : loss)
            QVERIFY2(p.value > 5.0, qPrintable(QString::number(p.value)));

        const QString noText = m_dir.filePath(QStringLiteral("no-abstracts.jsonl"));
        {
            std::ifstream in(kSample.toStdString());
            std::ofstream out(noText.toStdString());
            std::string line;
            for (int i = 0; i < 200 && std::getline(in, line); ++i) {
                json j = json::parse(line);
                j.erase("abstract");
                out << j.dump() << '\n';
            }
        }
        const auto none = lbk({QStringLiteral("run"),
                               experiment(QStringLiteral("no-text"), {{"data", {{"path", noText.toStdString()}}},
                                                                      {"training", {{"max_steps", 4}}}})});
        QVERIFY(none.exitCode != 0);
        QVERIFY2(QString(none.out + none.err).contains(QStringLiteral("no \"abstract\", the field data.text \"abstract\" reads")),
                 qPrintable(none.out + none.err));
        // Every line failing is a mapping to check, not a share to raise (found by an audit).
        QVERIFY2(QString(none.out + none.err).contains(QStringLiteral("None could: check data.text and data.columns")),
                 qPrintable(none.out + none.err));
    }

    // The export is BertForMaskedLM's layout: the Python reference loads every tensor strictly, and its five
    // likeliest tokens at masked positions are Labbook's, with the same probabilities.
    void exportFillsMasksAsLabbook()
    {
        if (!hasPython())
            QSKIP("Debian's python3-torch is not installed (./test.sh installs it)");
        const fs::path out = m_dir.filePath(QStringLiteral("mlm-hf")).toStdString();
        const auto e = lbk({QStringLiteral("export"), QStringLiteral("mlm"), QStringLiteral("--format"),
                            QStringLiteral("hf"), QStringLiteral("--out"), QString::fromStdString(out.string())});
        QVERIFY2(e.exitCode == 0, qPrintable(e.out + e.err));
        const json config = readJson(out / "config.json");
        QCOMPARE(config["architectures"][0].get<std::string>(), std::string("BertForMaskedLM"));
        QCOMPARE(config["tie_word_embeddings"].get<bool>(), true);
        QVERIFY(fs::exists(out / "tokenizer.model"));
        // It names the run and the step it came from, in config.json and a README (found by an audit: nothing did).
        const auto run = store()->run("mlm");
        QCOMPARE(config["labbook_run"]["uid"].get<std::string>(), run->uid);
        QCOMPARE(config["labbook_run"]["id"].get<int64_t>(), run->id);
        std::ifstream readmeFile(out / "README.md");
        const std::string readme((std::istreambuf_iterator<char>(readmeFile)), std::istreambuf_iterator<char>());
        QVERIFY2(readme.find("Exported from run " + std::to_string(run->id) + " (" + run->uid + ")") !=
                         std::string::npos &&
                     readme.find("the weights of step " + config["labbook_run"]["step"].dump()) != std::string::npos,
                 readme.c_str());

        auto pre = lbk::loadMlmRun(store()->run("mlm")->runDir);
        QVERIFY2(pre.ok(), pre.ok() ? "" : pre.message().c_str());
        compareRunFills(*pre, out);
    }

    // mlm.tied_decoder false: the prediction head has a decoder of its own, trained apart from the word embeddings;
    // the export says tie_word_embeddings false and carries that matrix, the reference loads it strictly and fills
    // masks as Labbook does, and a classifier fine-tunes from the run's encoder.
    void untiedDecoderIsExportedAndFineTunes()
    {
        auto exp = readJson(experiment(QStringLiteral("mlm-untied")).toStdString());
        exp["mlm"]["tied_decoder"] = false;
        exp["training"]["max_steps"] = 20;
        const QString file = m_dir.filePath(QStringLiteral("mlm-untied.json"));
        std::ofstream(file.toStdString()) << exp.dump(2);
        const auto r = lbk({QStringLiteral("run"), file});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));

        auto pre = lbk::loadMlmRun(store()->run("mlm-untied")->runDir);
        QVERIFY2(pre.ok(), pre.ok() ? "" : pre.message().c_str());
        std::map<std::string, torch::Tensor> params;
        for (const auto &p : pre->model->named_parameters())
            params.emplace(p.key(), p.value());
        QVERIFY(params.count("cls.predictions.decoder.weight"));
        QVERIFY(!torch::equal(params["cls.predictions.decoder.weight"], params["bert.embeddings.word_embeddings.weight"]));

        const auto tune = lbk({QStringLiteral("run"),
                               lbktest::debugVariant(m_dir.path(), QStringLiteral("tuned-untied"),
                                                     {{"data", {{"limit", 600}}},
                                                      {"tokenizer", {{"max_tokens", 24}, {"vocab_size", 1000}}},
                                                      {"model", {{"type", "encoder"}, {"init_from", "run:mlm-untied"},
                                                                 {"embedding_dim", 32}, {"hidden", 64}, {"layers", 1},
                                                                 {"heads", 2}}},
                                                      {"training", {{"max_steps", 5}}}})});
        QVERIFY2(tune.exitCode == 0, qPrintable(tune.out + tune.err));

        if (!hasPython())
            QSKIP("Debian's python3-torch is not installed (./test.sh installs it)");
        const fs::path out = m_dir.filePath(QStringLiteral("mlm-untied-hf")).toStdString();
        const auto e = lbk({QStringLiteral("export"), QStringLiteral("mlm-untied"), QStringLiteral("--format"),
                            QStringLiteral("hf"), QStringLiteral("--out"), QString::fromStdString(out.string())});
        QVERIFY2(e.exitCode == 0, qPrintable(e.out + e.err));
        QCOMPARE(readJson(out / "config.json")["tie_word_embeddings"].get<bool>(), false);
        compareRunFills(*pre, out);
    }

    // A BertForMaskedLM whose config says tie_word_embeddings false loads its own decoder (tied, the fills would
    // be the word embeddings' and differ from the reference's).
    void loadsAnUntiedHuggingFaceDecoder()
    {
        if (!hasPython())
            QSKIP("Debian's python3-torch is not installed (./test.sh installs it)");
        const QString folder = m_dir.filePath(QStringLiteral("tiny-bert-mlm-untied"));
        const auto made = lbktest::runProcess(kPython, {kReference, QStringLiteral("make"), QStringLiteral("--family"),
                                                        QStringLiteral("bert"), QStringLiteral("--out"), folder,
                                                        QStringLiteral("--mlm-full"), QStringLiteral("--untied"),
                                                        QStringLiteral("--hidden"), QStringLiteral("48")});
        QVERIFY2(made.exitCode == 0, qPrintable(made.err));
        auto inspected = lbk::hf::inspectCheckpointFolder(folder.toStdString());
        QVERIFY2(inspected.ok(), inspected.ok() ? "" : inspected.message().c_str());
        QVERIFY(!inspected->config.tieWordEmbeddings);
        auto tokenizer = lbk::hf::loadHfTokenizer(folder.toStdString());
        QVERIFY(tokenizer.ok());
        lbk::EncoderMaskedLMImpl model(inspected->config);
        auto report = lbk::loadEncoderWeights(model, *inspected, false);
        QVERIFY2(report.ok(), report.ok() ? "" : report.message().c_str());
        QVERIFY(report->newlyInitialized.empty());
        compareFills(model, (*tokenizer)->encode("we propose a new method for the detection of waves", 64),
                     (*tokenizer)->special().mask, folder.toStdString());
    }

    // model.init_from a Hugging Face BertForMaskedLM folder: continued pre-training (domain adaptation). The
    // checkpoint loads exactly (its fills are the reference's), the run trains in the checkpoint's WordPiece
    // pieces, its export is the checkpoint's layout and tokenizer again, and a classifier is pointed at the export.
    void continuesAHuggingFaceCheckpoint()
    {
        if (!hasPython())
            QSKIP("Debian's python3-torch is not installed (./test.sh installs it)");
        const QString folder = m_dir.filePath(QStringLiteral("tiny-bert-mlm"));
        const auto made = lbktest::runProcess(kPython, {kReference, QStringLiteral("make"), QStringLiteral("--family"),
                                                        QStringLiteral("bert"), QStringLiteral("--out"), folder,
                                                        QStringLiteral("--mlm-full"), QStringLiteral("--hidden"),
                                                        QStringLiteral("48"), QStringLiteral("--positions"),
                                                        QStringLiteral("64")});
        QVERIFY2(made.exitCode == 0, qPrintable(made.err));
        auto inspected = lbk::hf::inspectCheckpointFolder(folder.toStdString());
        QVERIFY2(inspected.ok(), inspected.ok() ? "" : inspected.message().c_str());
        auto tokenizer = lbk::hf::loadHfTokenizer(folder.toStdString());
        QVERIFY(tokenizer.ok());
        const std::vector<int> ids = (*tokenizer)->encode("we propose a new method for the detection of waves", 64);
        {
            lbk::EncoderMaskedLMImpl model(inspected->config);
            auto report = lbk::loadEncoderWeights(model, *inspected, false);
            QVERIFY2(report.ok(), report.ok() ? "" : report.message().c_str());
            QVERIFY(report->newlyInitialized.empty());
            // The file's copy of the tied decoder is the word embeddings, loaded: not a weight the run leaves unused.
            QVERIFY2(report->unused.empty(), report->unused.front().c_str());
            compareFills(model, ids, (*tokenizer)->special().mask, folder.toStdString());
        }

        const QString file = lbktest::debugVariant(
            m_dir.path(), QStringLiteral("cpt"),
            {{"data", {{"text", "abstract"}, {"limit", 400}}},
             {"tokenizer", {{"max_tokens", 48}}},
             {"model", {{"type", "encoder"}, {"init_from", folder.toStdString()}}},
             {"optimizer", {{"lr", 0.001}}},
             {"training", {{"objective", "mlm"}, {"batch_size", 16}, {"epochs", 1}, {"max_steps", 20}, {"log_every", 5}}},
             {"evaluation", {{"every_steps", 10}, {"metric", "loss"}}}});
        const auto r = lbk({QStringLiteral("run"), file});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        auto s = store();
        auto run = s->run("cpt");
        QVERIFY(run.ok());
        QCOMPARE(run->status, lbk::RunStatus::Finished);
        QCOMPARE(s->metric(run->id, "val/loss").size(), size_t(2));
        bool loadedLine = false;
        for (const auto &line : s->logs(run->id))
            loadedLine = loadedLine || line.message.find("continued pre-training of bert") != std::string::npos;
        QVERIFY(loadedLine);
        // The fills are in the checkpoint's pieces: whole words of its vocabulary appear as guesses or truths.
        const auto fills = s->predictions(run->id, lbk::PredictionFilter{});
        QVERIFY(!fills.empty());
        for (const auto &f : fills)
            QVERIFY2(f.truth.front().find("##") == std::string::npos, f.truth.front().c_str());

        // The export is BertForMaskedLM with the checkpoint's tokenizer files; the reference agrees with the run.
        const fs::path out = m_dir.filePath(QStringLiteral("cpt-hf")).toStdString();
        const auto e = lbk({QStringLiteral("export"), QStringLiteral("cpt"), QStringLiteral("--format"),
                            QStringLiteral("hf"), QStringLiteral("--out"), QString::fromStdString(out.string())});
        QVERIFY2(e.exitCode == 0, qPrintable(e.out + e.err));
        QVERIFY(fs::exists(out / "vocab.txt"));
        QCOMPARE(readJson(out / "config.json")["architectures"][0].get<std::string>(), std::string("BertForMaskedLM"));
        // The checkpoint's tokenizer said 512; its position table holds 64, so transformers must cut texts there.
        QCOMPARE(readJson(out / "tokenizer_config.json")["model_max_length"].get<int>(), 64);
        auto pre = lbk::loadMlmRun(run->runDir);
        QVERIFY2(pre.ok(), pre.ok() ? "" : pre.message().c_str());
        QVERIFY(pre->hf.has_value());
        compareFills(*pre->model, ids, pre->special.mask, out);

        // A classifier fine-tunes from the export; "run:cpt" says so, in lbk validate and before a launch creates a
        // run that could not start.
        const QString direct = lbktest::debugVariant(
            m_dir.path(), QStringLiteral("from-cpt"), {{"model", {{"type", "encoder"}, {"init_from", "run:cpt"}}}});
        const auto invalid = lbk({QStringLiteral("validate"), direct});
        QCOMPARE(invalid.exitCode, 2);
        QVERIFY2(invalid.err.contains(QString::fromStdString(lbk::continuedPretrainingRefusal("cpt"))),
                 qPrintable(invalid.out + invalid.err));
        const auto refused = lbk({QStringLiteral("run"), direct});
        QCOMPARE(refused.exitCode, 2);
        const QString said = refused.out + refused.err;
        QVERIFY2(said.contains(QStringLiteral("--format hf")), qPrintable(said));
        QVERIFY(!store()->run("from-cpt").ok());
    }

    // model.init_from "run:mlm": the recorded config names the run by uid with its sizes, and with the embeddings
    // frozen the fine-tuned run's word and position embeddings are the pre-trained ones, value for value.
    void fineTunesFromTheRun()
    {
        // The fine-tune's file names another tokenizer type and case: the pre-training run's are used (the encoder
        // learned its ids), and the replacement is said. (They were taken from the file: text cut otherwise.)
        auto preRecorded = lbk::experimentFromRecorded(store()->run("mlm")->config);
        QVERIFY(preRecorded.ok());
        const std::string otherType = preRecorded->tokenizer.type == lbk::TokenizerType::Bpe ? "unigram" : "bpe";
        const QString file = lbktest::debugVariant(
            m_dir.path(), QStringLiteral("from-mlm"),
            {{"data", {{"limit", 800}}},
             {"tokenizer", {{"max_tokens", 24}, {"type", otherType}, {"lowercase", !preRecorded->tokenizer.lowercase}}},
             {"model", {{"type", "encoder"}, {"init_from", "run:mlm"}, {"pooling", "cls"}, {"freeze_embeddings", true}}},
             {"training", {{"max_steps", 12}}},
             {"evaluation", {{"every_steps", 6}}}});
        const auto r = lbk({QStringLiteral("run"), file});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        QVERIFY2(r.err.contains(QStringLiteral("tensors from")) &&
                     r.err.contains(QStringLiteral("the classification head is newly initialized")),
                 qPrintable(r.err));
        auto s = store();
        const auto pre = s->run("mlm"), fine = s->run("from-mlm");
        QVERIFY(pre.ok() && fine.ok());
        QCOMPARE(fine->config["model"]["init_from"].get<std::string>(), "run:" + pre->uid);
        QCOMPARE(fine->config["model"]["embedding_dim"], pre->config["model"]["embedding_dim"]);
        QCOMPARE(fine->config["model"]["append_sep"], json(true)); // [CLS] pieces [SEP], as pre-training framed them
        QCOMPARE(fine->config["tokenizer"]["type"], json(lbk::toString(preRecorded->tokenizer.type)));
        QCOMPARE(fine->config["tokenizer"]["lowercase"], json(preRecorded->tokenizer.lowercase));
        QVERIFY2(r.err.contains(QStringLiteral("note: tokenizer.type \"%1\" is replaced by").arg(QString::fromStdString(otherType))),
                 qPrintable(r.err));
        torch::serialize::InputArchive a, b;
        a.load_from((std::filesystem::path(pre->runDir) / "checkpoints" / "best.pt").string());
        b.load_from((std::filesystem::path(fine->runDir) / "checkpoints" / "best.pt").string());
        for (const char *key : {"model.bert.embeddings.word_embeddings.weight",
                                "model.bert.embeddings.position_embeddings.weight"}) {
            torch::Tensor x, y;
            a.read(key, x);
            b.read(key, y);
            QVERIFY2(torch::equal(x.narrow(0, 0, y.size(0)), y), key);
        }
        // The store links the two runs, both ways.
        const auto shown = lbk({QStringLiteral("show"), QStringLiteral("from-mlm"), QStringLiteral("--json")});
        QVERIFY2(shown.exitCode == 0, qPrintable(shown.err));
        QCOMPARE(json::parse(shown.out.toStdString())["encoder_from"].get<std::string>(), pre->uid);
        const auto source = lbk({QStringLiteral("show"), QStringLiteral("mlm"), QStringLiteral("--json")});
        QCOMPARE(json::parse(source.out.toStdString())["fine_tuned_by"], json::array({fine->uid}));
        QVERIFY(lbk({QStringLiteral("show"), QStringLiteral("from-mlm")}).out.contains(QStringLiteral("encoder from: run")));
        // A fine-tune that failed is listed as such (it read as a fine-tune like any other).
        QVERIFY(s->setStatus(fine->id, lbk::RunStatus::Failed, "for the listing"));
        QVERIFY2(lbk({QStringLiteral("show"), QStringLiteral("mlm")}).out.contains(QStringLiteral("from-mlm (failed)")),
                 "the failed fine-tune is marked");
        QVERIFY(s->setStatus(fine->id, lbk::RunStatus::Finished, ""));
        // It predicts and exports like any classifier: its folder holds the tokenizer and the weights.
        const QString preds = m_dir.filePath(QStringLiteral("from-mlm.jsonl"));
        const auto p = lbk({QStringLiteral("predict"), QStringLiteral("from-mlm"), QStringLiteral("--data"), kSample,
                            QStringLiteral("--out"), preds});
        QVERIFY2(p.exitCode == 0, qPrintable(p.err));
        std::ifstream scored(preds.toStdString());
        int rows = 0;
        for (std::string line; std::getline(scored, line);)
            rows += json::parse(line).contains("probs");
        QVERIFY2(rows > 1000, qPrintable(QString::number(rows)));
        const auto m = lbk({QStringLiteral("export"), QStringLiteral("from-mlm"), QStringLiteral("--format"),
                            QStringLiteral("model"), QStringLiteral("--out"), m_dir.filePath(QStringLiteral("from-mlm-model"))});
        QVERIFY2(m.exitCode == 0, qPrintable(m.err));
        // Its card and README name the pre-training run the encoder came from (found by an audit: they did not).
        const fs::path modelDir = m_dir.filePath(QStringLiteral("from-mlm-model")).toStdString();
        const json origin = readJson(modelDir / "model.json")["encoder_from"];
        QCOMPARE(origin["pretraining_run"]["uid"].get<std::string>(), pre->uid);
        QCOMPARE(origin["pretraining_run"]["id"].get<int64_t>(), pre->id);
        QCOMPARE(origin["pretraining_run"]["step"].get<std::string>(), std::string("best"));
        std::ifstream readmeFile(modelDir / "README.md");
        const std::string readme((std::istreambuf_iterator<char>(readmeFile)), std::istreambuf_iterator<char>());
        const std::string said = "in run " + std::to_string(pre->id) + " `mlm` (" + pre->uid + ")";
        QVERIFY2(readme.find(said) != std::string::npos, readme.c_str());
        // The Python client the README names rebuilds it (found by an audit: it read the card's sizes by names an
        // encoder's card does not have).
        if (hasPython()) {
            const auto py = lbktest::runProcess(
                kPython, {QStringLiteral(LABBOOK_SOURCE_DIR "/reference/load_export.py"),
                          QString::fromStdString(modelDir.string()), QStringLiteral("--data"), kSample,
                          QStringLiteral("--limit"), QStringLiteral("300"), QStringLiteral("--compare"), preds});
            QVERIFY2(py.exitCode == 0 && py.out.contains(QStringLiteral("OK")), qPrintable(py.out + py.err));
        }

        // A run that is not a pre-training run is refused, naming it.
        const QString bad = lbktest::debugVariant(
            m_dir.path(), QStringLiteral("from-classifier"),
            {{"model", {{"type", "encoder"}, {"init_from", "run:from-mlm"}}}});
        const auto refused = lbk({QStringLiteral("run"), bad});
        QCOMPARE(refused.exitCode, 2);
        QVERIFY2(refused.err.contains(QStringLiteral("is not an MLM pre-training run")), qPrintable(refused.err));
        // lbk validate asks the store the same, before a job waits in a queue; the real run validates, and says
        // what it takes from the pre-training run.
        const auto invalid = lbk({QStringLiteral("validate"), bad});
        QCOMPARE(invalid.exitCode, 2);
        QVERIFY2(invalid.err.contains(QStringLiteral("model.init_from: run from-mlm is not an MLM pre-training run")),
                 qPrintable(invalid.err));
        const QString good = lbktest::debugVariant(m_dir.path(), QStringLiteral("validate-from-mlm"),
                                                   {{"model", {{"type", "encoder"}, {"init_from", "run:mlm"}}},
                                                    {"tokenizer", {{"max_tokens", 46}}}}); // 48-id windows
        const QString tooLong = lbktest::debugVariant(m_dir.path(), QStringLiteral("validate-too-long"),
                                                      {{"model", {{"type", "encoder"}, {"init_from", "run:mlm"}}}});
        const auto longer = lbk({QStringLiteral("validate"), tooLong});
        QVERIFY2(longer.exitCode == 2 && longer.err.contains(QStringLiteral("lower it to 46")), qPrintable(longer.err));
        const auto valid = lbk({QStringLiteral("validate"), good});
        QVERIFY2(valid.exitCode == 0 && valid.err.contains(QStringLiteral("note: model.embedding_dim 48 is replaced")),
                 qPrintable(valid.err));
        const QString missing = lbktest::debugVariant(m_dir.path(), QStringLiteral("validate-no-run"),
                                                      {{"model", {{"type", "encoder"}, {"init_from", "run:nowhere"}}}});
        const auto none = lbk({QStringLiteral("validate"), missing});
        QVERIFY2(none.exitCode == 2 && none.err.contains(QStringLiteral("model.init_from: no run \"nowhere\"")),
                 qPrintable(none.err));
        // Two pre-training runs of one name: the newest is meant, and said with its id (a name is not an id).
        const auto untied = s->run("mlm-untied");
        QVERIFY(untied.ok() && s->setName(untied->id, "mlm"));
        const auto twoNamed = lbk({QStringLiteral("validate"), good});
        QVERIFY(s->setName(untied->id, "mlm-untied"));
        QVERIFY2(twoNamed.exitCode == 0 &&
                     twoNamed.err.contains(QStringLiteral("note: model.init_from: 2 training runs are named mlm; the newest, run "
                                                          "%1, is used").arg(untied->id)),
                 qPrintable(twoNamed.err));
    }

    // evaluation.keep_checkpoints keeps the weights of every evaluation; "run:mlm@20" starts from those of step 20
    // (with frozen embeddings they stay the step-20 ones exactly), and a step that was not kept is refused.
    void fineTunesFromAnEarlierStep()
    {
        auto s = store();
        const auto pre = s->run("mlm");
        QVERIFY(pre.ok());
        for (const int step : {10, 20, 30, 40})
            QVERIFY(fs::exists(fs::path(pre->runDir) / "checkpoints" / ("step-" + std::to_string(step) + ".pt")));
        const auto variant = [&](const QString &name, const std::string &from) {
            return lbktest::debugVariant(
                m_dir.path(), name,
                {{"data", {{"limit", 800}}},
                 {"tokenizer", {{"max_tokens", 24}}},
                 {"model", {{"type", "encoder"}, {"init_from", from}, {"pooling", "cls"}, {"freeze_embeddings", true}}},
                 {"training", {{"max_steps", 6}}},
                 {"evaluation", {{"every_steps", 6}}}});
        };
        const auto r = lbk({QStringLiteral("run"), variant(QStringLiteral("from-step-20"), "run:mlm@20")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        const auto fine = s->run("from-step-20");
        QCOMPARE(fine->config["model"]["init_from"].get<std::string>(), "run:" + pre->uid + "@20");
        torch::serialize::InputArchive a, b;
        a.load_from((fs::path(pre->runDir) / "checkpoints" / "step-20.pt").string());
        b.load_from((fs::path(fine->runDir) / "checkpoints" / "best.pt").string());
        torch::Tensor x, y;
        a.read("model.bert.embeddings.word_embeddings.weight", x);
        b.read("model.bert.embeddings.word_embeddings.weight", y);
        QVERIFY(torch::equal(x, y));
        QVERIFY(lbk({QStringLiteral("show"), QStringLiteral("from-step-20")})
                    .out.contains(QStringLiteral(", its weights of step 20")));
        const auto refused = lbk({QStringLiteral("run"), variant(QStringLiteral("from-step-21"), "run:mlm@21")});
        QCOMPARE(refused.exitCode, 2);
        QVERIFY2(refused.err.contains(QStringLiteral("kept no weights at step 21")) &&
                     refused.err.contains(QStringLiteral("; kept: 10, 20")), // the steps it did keep, to choose from
                 qPrintable(refused.err));
    }

    // A run stopped by a diverging loss at step 25 resumes from its step-20 checkpoint and then trains exactly as
    // the uninterrupted run did: same data order, same masks.
    // Pre-training goes on from a finished run as a new run (model.init_from "run:mlm", objective mlm): its
    // tokenizer copied, its weights and prediction head loaded, so the held-out loss starts where it ended. (Found by
    // an audit: validate said "resume it", resume said the run had finished.)
    void continuesAFinishedPreTrainingRun()
    {
        // 500 of the 600 papers: packed anew (not the run's cached corpus), whole documents as the run packed them.
        const auto r = lbk({QStringLiteral("run"),
                            experiment(QStringLiteral("mlm-more"), {{"data", {{"limit", 500}}},
                                                                    {"model", {{"init_from", "run:mlm"}}},
                                                                    {"training", {{"max_steps", 10}}}})});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        QVERIFY2(r.err.contains(QStringLiteral("continued pre-training of run")) &&
                     r.err.contains(QStringLiteral("tensors from")),
                 qPrintable(r.err));
        auto s = store();
        const auto pre = s->run("mlm"), more = s->run("mlm-more");
        QVERIFY(pre.ok() && more.ok());
        QCOMPARE(more->config["model"]["init_from"].get<std::string>(), "run:" + pre->uid);
        QCOMPARE(readFileText(fs::path(more->runDir) / "tokenizer.model"),
                 readFileText(fs::path(pre->runDir) / "tokenizer.model"));
        const auto perDocument = [](const lbk::RunDetail &run) {
            const json d = run.summary.value("data", json::object());
            return d.value("train_tokens", 0.0) / std::max(1.0, d.value("train_documents", 0.0));
        };
        qInfo("tokens per training document: the run %.0f, its continuation %.0f", perDocument(*pre),
              perDocument(*more));
        QVERIFY(perDocument(*more) > 0.8 * perDocument(*pre)); // not cut to max_tokens (48) as a classifier's texts
        const auto fresh = s->metric(pre->id, "val/loss"), continued = s->metric(more->id, "val/loss");
        QVERIFY(!fresh.empty() && !continued.empty());
        qInfo("held-out loss at step 10: fresh %.3f, continued %.3f (the fresh run ended at %.3f)", fresh.front().value,
              continued.front().value, fresh.back().value);
        QVERIFY(continued.front().value < fresh.front().value);
    }

    // lbk validate of a fine-tune from a detached pre-training run that has ended since: the store is caught up
    // first, as a launch catches it up (found by an audit: "run ... is still queued" of a run that had finished).
    void validateSeesADetachedRunThatEnded()
    {
        const auto started = lbk({QStringLiteral("run"), experiment(QStringLiteral("mlm-detached"),
                                                                    {{"training", {{"max_steps", 5}}}}),
                                  QStringLiteral("--detach"), QStringLiteral("-q")});
        QVERIFY2(started.exitCode == 0, qPrintable(started.err));
        const std::string id = started.out.trimmed().toStdString();
        const fs::path journal = fs::path(store()->run(id)->runDir) / "journal.jsonl";
        QTRY_VERIFY_WITH_TIMEOUT(readFileText(journal).find("\"type\":\"finished\"") != std::string::npos, 120000);
        const QString fineTune = lbktest::debugVariant(
            m_dir.path(), QStringLiteral("from-detached"),
            {{"model", {{"type", "encoder"}, {"init_from", "run:" + id}}}, {"tokenizer", {{"max_tokens", 24}}}});
        const auto v = lbk({QStringLiteral("validate"), fineTune});
        QVERIFY2(v.exitCode == 0, qPrintable(v.out + v.err));
    }

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
        // The resume maps the corpus its first start packed (it packed it again: the cache key hashed the
        // tokenizer's file name, the cached copy's then the run's own), and finds the corpus unchanged.
        std::vector<std::string> entries; // the cache entry each start used
        for (const auto &line : s->logs(s->run("mlm-resumed")->id)) {
            if (const auto at = line.message.find(" the cache: "); at != std::string::npos)
                entries.push_back(line.message.substr(at + 12));
            QVERIFY2(line.message.find("the corpus is not the one") == std::string::npos, line.message.c_str());
        }
        QCOMPARE(entries.size(), size_t(2));
        QCOMPARE(entries[1], entries[0]);
    }

    // A resume that finds its data files changed since the run started (papers appended) says its curves no longer
    // continue comparably (it packed the new corpus without a word: other held-out documents, epoch going back).
    void aResumeOnAChangedCorpusSaysSo()
    {
        const fs::path data = fs::path(m_dir.path().toStdString()) / "growing.jsonl";
        std::vector<std::string> lines;
        {
            std::ifstream in(kSample.toStdString());
            for (std::string line; lines.size() < 700 && std::getline(in, line);)
                lines.push_back(line);
            std::ofstream out(data);
            for (size_t i = 0; i < 400; ++i)
                out << lines[i] << "\n";
        }
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("LABBOOK_INJECT_NAN_STEP"), QStringLiteral("15"));
        const auto failed = lbk({QStringLiteral("run"), experiment(QStringLiteral("mlm-growing"),
                                                                   {{"data", {{"path", data.string()}, {"limit", nullptr}}},
                                                                    {"training", {{"max_steps", 20}}}})},
                                env);
        QVERIFY(failed.exitCode != 0);
        {
            std::ofstream out(data, std::ios::app);
            for (size_t i = 400; i < lines.size(); ++i)
                out << lines[i] << "\n";
        }
        const auto r = lbk({QStringLiteral("resume"), QStringLiteral("mlm-growing")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        auto s = store();
        const auto logs = s->logs(s->run("mlm-growing")->id);
        QVERIFY(std::any_of(logs.begin(), logs.end(), [](const auto &l) {
            return l.level == "warning" && l.message.find("the corpus is not the one this run started on") != std::string::npos;
        }));
    }

    // The corpus is packed once: a second run of the same corpus and tokenizer maps the cached sequences, encodes
    // nothing, and trains exactly as the first did.
    void aSecondRunMapsThePackedCorpus()
    {
        QTemporaryDir cache(m_dir.filePath(QStringLiteral("cache-XXXXXX")));
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("XDG_CACHE_HOME"), cache.path());
        for (const char *name : {"mlm-packs", "mlm-maps"}) {
            const auto r = lbk({QStringLiteral("run"), experiment(QString::fromLatin1(name))}, env);
            QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        }
        auto s = store();
        const auto packs = s->run("mlm-packs"), maps = s->run("mlm-maps");
        QVERIFY(packs.ok() && maps.ok());
        QCOMPARE(packs->summary["data"].value("corpus_cached", true), false);
        QCOMPARE(maps->summary["data"].value("corpus_cached", false), true);
        QCOMPARE(maps->summary["data"]["train_tokens"], packs->summary["data"]["train_tokens"]);
        QCOMPARE(maps->summary["data"]["train_documents"], packs->summary["data"]["train_documents"]);
        QVERIFY(fs::exists(fs::path(cache.path().toStdString()) / "labbook" / "tokenizers" / "mlm-corpus"));
        // Both runs' logs name the cache entry (the reference tools of docs/PRETRAINING.md read it), the same one.
        std::vector<std::string> entries;
        for (const auto id : {packs->id, maps->id})
            for (const auto &line : s->logs(id))
                for (const std::string said : {" kept in the cache: ", " from the cache: "})
                    if (const auto at = line.message.find(said); at != std::string::npos)
                        entries.push_back(line.message.substr(at + said.size()));
        QCOMPARE(entries.size(), size_t(2));
        QCOMPARE(entries[1], entries[0]);
        QVERIFY2(fs::exists(entries[0] + "-train.ids"), entries[0].c_str());
        const auto first = s->metric(packs->id, "train/loss"), second = s->metric(maps->id, "train/loss");
        QCOMPARE(second.size(), first.size());
        for (size_t i = 0; i < first.size(); ++i)
            QCOMPARE(second[i].value, first[i].value);
    }

    // mlm.task_split: pre-training reads exactly the papers a classifier of the experiment's labels trains on, and
    // holds out its validation papers; its test papers are never read.
    void taskSplitReadsOnlyTheTasksTrainingPapers()
    {
        const QString file = lbktest::debugVariant(
            m_dir.path(), QStringLiteral("mlm-task"),
            {{"data", {{"text", "abstract"}, {"limit", 800}}},
             {"tokenizer", {{"max_tokens", 48}, {"vocab_size", 1000}}},
             {"model", {{"type", "encoder"}, {"embedding_dim", 32}, {"hidden", 64}, {"layers", 1}, {"heads", 2}}},
             {"training", {{"objective", "mlm"}, {"batch_size", 16}, {"max_steps", 4}}},
             {"evaluation", {{"every_steps", 4}, {"metric", "loss"}}},
             {"mlm", {{"task_split", true}}}});
        const auto r = lbk({QStringLiteral("run"), file});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        QVERIFY2(r.err.contains(QStringLiteral("test papers")), qPrintable(r.err));
        auto s = store();
        const auto pre = s->run("mlm-task"), classifier = s->run("from-mlm"); // the same 800 papers, labels, split
        QVERIFY(pre.ok() && classifier.ok());
        const json &mlmData = pre->summary["data"], &taskData = classifier->summary["data"];
        QCOMPARE(mlmData["train_documents"].get<int64_t>(), taskData["train"].get<int64_t>());
        QCOMPARE(mlmData["validation_documents"].get<int64_t>(), taskData["validation"].get<int64_t>());
        QVERIFY(mlmData["documents"].get<int64_t>() >
                taskData["train"].get<int64_t>() + taskData["validation"].get<int64_t>() + taskData["test"].get<int64_t>() - 1);
    }

    // A classifier fine-tuned from the pre-training run that fails part way resumes from its own checkpoint and
    // copies (not from the pre-trained weights again): its curve is the uninterrupted run's.
    // A fine-tuning run that failed at step 7 and was resumed trains as the run left alone: from its checkpoint
    // of step 4 (checkpoint_minutes 0: one at every evaluation), or from the pre-trained weights again when it
    // failed before its first checkpoint (they were once skipped on resume, leaving a random encoder).
    void fineTuneResumesExactly_data()
    {
        QTest::addColumn<double>("checkpointMinutes");
        QTest::newRow("from its checkpoint") << 0.0;
        QTest::newRow("before any checkpoint") << 10.0;
    }

    void fineTuneResumesExactly()
    {
        QFETCH(double, checkpointMinutes);
        const std::string tag = checkpointMinutes > 0 ? "-late" : "";
        const auto variant = [&](const QString &name) {
            return lbktest::debugVariant(
                m_dir.path(), name,
                {{"data", {{"limit", 800}}},
                 {"tokenizer", {{"max_tokens", 24}}},
                 {"model", {{"type", "encoder"}, {"init_from", "run:mlm"}, {"pooling", "cls"}}},
                 {"training", {{"max_steps", 12}, {"log_every", 2}, {"checkpoint_minutes", checkpointMinutes}}},
                 {"evaluation", {{"every_steps", 4}}}});
        };
        const QString whole = QString::fromStdString("ft-whole" + tag), resumedName = QString::fromStdString("ft-resumed" + tag);
        QCOMPARE(lbk({QStringLiteral("run"), variant(whole)}).exitCode, 0);
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("LABBOOK_INJECT_NAN_STEP"), QStringLiteral("7"));
        QVERIFY(lbk({QStringLiteral("run"), variant(resumedName)}, env).exitCode != 0);
        const auto r = lbk({QStringLiteral("resume"), resumedName});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        auto s = store();
        const auto wholeLoss = s->metric(s->run(whole.toStdString())->id, "train/loss");
        auto resumed = s->metric(s->run(resumedName.toStdString())->id, "train/loss");
        // The failed attempt recorded the diverged step's loss (NaN) before it stopped; the rest is the curve.
        std::erase_if(resumed, [](const lbk::MetricPoint &p) { return std::isnan(p.value); });
        QCOMPARE(resumed.size(), wholeLoss.size());
        for (size_t i = 0; i < wholeLoss.size(); ++i)
            QVERIFY2(std::abs(resumed[i].value - wholeLoss[i].value) < 1e-5, qPrintable(QString::number(resumed[i].step)));
    }
};

QTEST_GUILESS_MAIN(TestPretrain)
#include "tst_pretrain.moc"
