// The encoder against a reference of transformers' BERT and RoBERTa in Python (reference/hf_encoder.py, Debian's
// python3-torch): tiny checkpoints with random weights written in Hugging Face's layout, loaded by Labbook; hidden
// states and logits equal within 1e-5 with padding in the batch; what loading reports; bad checkpoint files;
// fine-tuning then writing model.safetensors back, read by the reference with the same logits; optimizer groups.
#include <QtTest>

#include <fstream>
#include <functional>
#include <cstring>

#include <torch/torch.h>

#include "lbkprocess.h"
#include "engine/encoder.h"
#include "engine/hfweights.h"
#include "engine/models.h"
#include "engine/optim.h"
#include "engine/pretrained.h"
#include "hf/encoderconfig.h"
#include "hf/storedtensors.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const QString kPython = QStringLiteral("/usr/bin/python3");
const QString kReference = QStringLiteral(LABBOOK_SOURCE_DIR "/reference/hf_encoder.py");

// Token ids of different lengths (so the batch pads), none the padding id of either family.
const std::vector<std::vector<int>> kIds = {{2, 40, 41, 42, 43, 44, 45, 3}, {2, 50, 51, 3}, {2, 60, 61, 62, 63, 3}};

lbk::Batch batchOf(const std::vector<std::vector<int>> &ids)
{
    size_t longest = 0;
    for (const auto &x : ids)
        longest = std::max(longest, x.size());
    auto tokens = torch::zeros({int64_t(ids.size()), int64_t(longest)}, torch::kLong);
    auto lengths = torch::zeros({int64_t(ids.size())}, torch::kLong);
    for (size_t b = 0; b < ids.size(); ++b) {
        for (size_t i = 0; i < ids[b].size(); ++i)
            tokens[int64_t(b)][int64_t(i)] = ids[b][i];
        lengths[int64_t(b)] = int64_t(ids[b].size());
    }
    lbk::Batch batch;
    batch.tokens = tokens;
    batch.lengths = lengths;
    return batch;
}

double maxDiff(const torch::Tensor &a, const json &b)
{
    auto ref = torch::tensor(b.get<std::vector<float>>());
    return (a.flatten().to(torch::kFloat) - ref).abs().max().item<double>();
}

} // namespace

class TestEncoder : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir{QStringLiteral(LABBOOK_TEST_TMP "/encoder-XXXXXX")};

    QString path(const QString &name) { return m_dir.filePath(name); }

    // A tiny checkpoint folder by the reference script.
    fs::path make(const QString &name, const QStringList &args)
    {
        QStringList all = {kReference, QStringLiteral("make"), QStringLiteral("--out"), path(name)};
        all += args;
        const auto r = lbktest::runProcess(kPython, all, 120000);
        if (r.exitCode != 0)
            qFatal("reference make failed: %s", qPrintable(r.err));
        return path(name).toStdString();
    }

    // model.safetensors read, its header and data edited, and written back (the header padded to 8 bytes).
    static void editSafetensors(const fs::path &file, const std::function<void(json &, std::string &)> &edit)
    {
        std::ifstream in(file, std::ios::binary);
        const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        uint64_t n = 0;
        std::memcpy(&n, all.data(), 8);
        json header = json::parse(all.substr(8, n));
        std::string data = all.substr(8 + n);
        edit(header, data);
        std::string text = header.dump();
        text.append((8 - text.size() % 8) % 8, ' ');
        const uint64_t m = text.size();
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char *>(&m), 8);
        out << text << data;
    }

    // The reference's hidden states and logits for ids, from a folder.
    json reference(const fs::path &folder, const std::vector<std::vector<int>> &ids)
    {
        const QString idsFile = path(QStringLiteral("ids.json")), outFile = path(QStringLiteral("out.json"));
        std::ofstream(idsFile.toStdString()) << json(ids).dump();
        const auto r = lbktest::runProcess(kPython, {kReference, QStringLiteral("forward"), QStringLiteral("--folder"),
                                                     QString::fromStdString(folder.string()), QStringLiteral("--ids"),
                                                     idsFile, QStringLiteral("--out"), outFile});
        if (r.exitCode != 0)
            qFatal("reference forward failed: %s", qPrintable(r.err));
        std::ifstream in(outFile.toStdString());
        return json::parse(in);
    }

    struct Loaded {
        std::shared_ptr<lbk::EncoderClassifierImpl> model;
        lbk::WeightsReport report;
    };
    Loaded load(const fs::path &folder, int outputs, lbk::Pooling pooling = lbk::Pooling::Pooler,
                bool allowMissing = false)
    {
        auto f = lbk::hf::inspectCheckpointFolder(folder);
        if (!f.ok())
            qFatal("%s", f.message().c_str());
        lbk::ModelSpec spec;
        spec.type = lbk::ModelType::Encoder;
        spec.pooling = pooling;
        spec.initFrom = folder.string();
        auto model = std::dynamic_pointer_cast<lbk::EncoderClassifierImpl>(
            lbk::makeModel(spec, f->config.vocabSize, outputs, 64, false, &f->config));
        auto report = lbk::loadEncoderWeights(*model, *f, allowMissing);
        if (!report.ok())
            qFatal("%s", report.message().c_str());
        model->eval();
        return {model, *report};
    }

    bool hasPython() { return lbktest::runProcess(kPython, {QStringLiteral("-c"), QStringLiteral("import torch")}).exitCode == 0; }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        if (!hasPython())
            QSKIP("Debian's python3-torch is not installed (./test.sh installs it)");
    }

    void matchesTheReference_data()
    {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("act");
        QTest::addColumn<bool>("bare");
        QTest::addColumn<QString>("weights");
        QTest::addColumn<int>("shards");
        const QString st = QStringLiteral("safetensors");
        QTest::newRow("bert gelu") << "bert" << "gelu" << false << st << 1;
        QTest::newRow("bert gelu_new, bare BertModel names") << "bert" << "gelu_new" << true << st << 1;
        QTest::newRow("roberta gelu") << "roberta" << "gelu" << false << st << 1;
        QTest::newRow("roberta gelu_pytorch_tanh") << "roberta" << "gelu_pytorch_tanh" << false << st << 1;
        // torch.save's state dict (an OrderedDict, which LibTorch's own unpickler reads as None): the zip archive
        // of PyTorch 1.6 and later, and the single stream before it, as SciBERT's and SPECTER's files on the Hub.
        QTest::newRow("bert gelu, pytorch_model.bin") << "bert" << "gelu" << false << "bin" << 1;
        QTest::newRow("bert gelu, bare, pytorch_model.bin of PyTorch < 1.6")
            << "bert" << "gelu" << true << "bin-legacy" << 1;
        QTest::newRow("roberta gelu, pytorch_model.bin of PyTorch < 1.6") << "roberta" << "gelu" << false
                                                                           << "bin-legacy" << 1;
        // Split into shards with an index, as save_pretrained splits a large model.
        QTest::newRow("bert gelu, model.safetensors in 3 shards") << "bert" << "gelu" << false << st << 3;
        QTest::newRow("roberta gelu, pytorch_model.bin in 2 shards") << "roberta" << "gelu" << false << "bin" << 2;
    }
    void matchesTheReference()
    {
        QFETCH(QString, family);
        QFETCH(QString, act);
        QFETCH(bool, bare);
        QFETCH(QString, weights);
        QFETCH(int, shards);
        QStringList args = {QStringLiteral("--family"), family, QStringLiteral("--act"), act, QStringLiteral("--labels"),
                            QStringLiteral("3"), QStringLiteral("--seed"), QString::number(qHash(act)),
                            QStringLiteral("--weights"), weights, QStringLiteral("--shards"), QString::number(shards)};
        if (bare)
            args << QStringLiteral("--bare");
        const fs::path folder =
            make(family + act + (bare ? QStringLiteral("-bare") : QString()) + weights + QString::number(shards), args);
        auto [model, report] = load(folder, 3);
        QVERIFY(report.missing.empty());
        QVERIFY(report.newlyInitialized.empty()); // the checkpoint has a head for 3 labels
        const json ref = reference(folder, kIds);
        torch::NoGradGuard noGrad;
        const auto batch = batchOf(kIds);
        const auto hidden = model->encoder()->forward(batch.tokens, batch.lengths);
        for (size_t b = 0; b < kIds.size(); ++b) {
            const auto real = hidden[int64_t(b)].narrow(0, 0, int64_t(kIds[b].size()));
            std::vector<float> flat;
            for (const auto &row : ref["hidden"][b])
                for (float v : row)
                    flat.push_back(v);
            const double d = maxDiff(real, json(flat));
            QVERIFY2(d < 1e-5, qPrintable(QStringLiteral("hidden states of example %1 differ by %2").arg(b).arg(d)));
        }
        std::vector<float> logits;
        for (const auto &row : ref["logits"])
            for (float v : row)
                logits.push_back(v);
        const double d = maxDiff(model->forward(batch), json(logits));
        QVERIFY2(d < 1e-5, qPrintable(QStringLiteral("logits differ by %1").arg(d)));
    }

    // As transformers reports them: a pre-training head unused, a new classification head newly initialized.
    void reportsUnusedAndNewWeights()
    {
        const fs::path folder = make(QStringLiteral("mlm"), {QStringLiteral("--family"), QStringLiteral("bert"),
                                                             QStringLiteral("--mlm-head")});
        auto [model, report] = load(folder, 5);
        QCOMPARE(report.unused, std::vector<std::string>{"cls.predictions.bias"});
        QCOMPARE(report.newlyInitialized, (std::vector<std::string>{"classifier.bias", "classifier.weight"}));
        const auto lines = report.messages("model.safetensors");
        QCOMPARE(lines.size(), size_t(2));
        QVERIFY(lines[0].find("were not used") != std::string::npos);
        QVERIFY(lines[1].find("newly initialized") != std::string::npos);
    }

    void badCheckpoints()
    {
        const fs::path folder = make(QStringLiteral("bad"), {QStringLiteral("--family"), QStringLiteral("bert")});
        auto f = lbk::hf::inspectCheckpointFolder(folder);
        QVERIFY(f.ok());
        lbk::ModelSpec spec;
        spec.type = lbk::ModelType::Encoder;
        spec.pooling = lbk::Pooling::Pooler;
        // A config whose sizes disagree with the weights: the message names the file, the key and both shapes.
        auto wrong = f->config;
        wrong.intermediateSize = 48;
        auto model = std::dynamic_pointer_cast<lbk::EncoderClassifierImpl>(lbk::makeModel(spec, wrong.vocabSize, 2, 64, false, &wrong));
        auto loaded = lbk::loadEncoderWeights(*model, *f, false);
        QVERIFY(!loaded.ok());
        QVERIFY2(loaded.message().find("model.safetensors: 'bert.encoder.layer.0.intermediate.dense.bias' has shape [64]") !=
                     std::string::npos,
                 loaded.message().c_str());
        QVERIFY(loaded.error().badInput);
        // More layers than the file has: missing weights are an error unless allowed.
        auto deeper = f->config;
        deeper.layers = 3;
        model = std::dynamic_pointer_cast<lbk::EncoderClassifierImpl>(lbk::makeModel(spec, deeper.vocabSize, 2, 64, false, &deeper));
        loaded = lbk::loadEncoderWeights(*model, *f, false);
        QVERIFY(!loaded.ok());
        QVERIFY2(loaded.message().find("bert.encoder.layer.2.attention.self.query.weight") != std::string::npos,
                 loaded.message().c_str());
        QVERIFY(loaded.message().find("model.allow_missing_weights") != std::string::npos);
        loaded = lbk::loadEncoderWeights(*model, *f, true);
        QVERIFY(loaded.ok());
        QCOMPARE(loaded->missing.size(), size_t(16));
        // A truncated file.
        const fs::path cut = path(QStringLiteral("cut")).toStdString();
        fs::create_directories(cut);
        for (const char *name : {"config.json", "vocab.txt", "tokenizer_config.json"})
            fs::copy_file(folder / name, cut / name);
        const auto bytes = fs::file_size(folder / "model.safetensors");
        {
            std::ifstream in(folder / "model.safetensors", std::ios::binary);
            std::string data(bytes / 2, '\0');
            in.read(data.data(), std::streamsize(data.size()));
            std::ofstream(cut / "model.safetensors", std::ios::binary) << data;
        }
        auto fc = lbk::hf::inspectCheckpointFolder(cut);
        QVERIFY(fc.ok());
        model = std::dynamic_pointer_cast<lbk::EncoderClassifierImpl>(lbk::makeModel(spec, f->config.vocabSize, 2, 64, false, &f->config));
        loaded = lbk::loadEncoderWeights(*model, *fc, false);
        QVERIFY(!loaded.ok());
        QVERIFY2(loaded.message().find("truncated") != std::string::npos, loaded.message().c_str());
        // A run opens the folder with lbk validate's check before loading (a local launch refuses such a folder
        // first; a remote target's folder, or one damaged after the launch, is found here): validate's words.
        lbk::Experiment e;
        e.model = spec;
        e.model.initFrom = cut.string();
        e.tokenizer.maxTokens = fc->config.maxTokens();
        const auto opened = lbk::openPretrained(e, {}, path(QStringLiteral("cut-run")).toStdString());
        QVERIFY(!opened.ok());
        const std::string validateSays = lbk::hf::checkWeightsFiles(*fc, false).message();
        QVERIFY2(!validateSays.empty() && opened.message().find(validateSays) != std::string::npos,
                 (opened.message() + " | " + validateSays).c_str());
    }

    // Every weight given twice, as bert.X and as X (zeros): the prefixed one is loaded, as transformers does, and
    // the bare copies are reported unused (the bare zeros won without a word). A NaN in a weight is refused, named.
    // pytorch_model.bin cut short in either layout: an error naming the file, never a crash or a half-loaded model.
    void damagedPytorchBin_data()
    {
        QTest::addColumn<QString>("weights");
        QTest::addColumn<double>("keep");
        QTest::addColumn<QString>("said");
        QTest::newRow("zip archive, half") << "bin" << 0.5 << "not a readable torch.save archive";
        // (Its last 24 bytes only repeat what torch.save's zip64 records say: without them it reads whole.)
        QTest::newRow("zip archive, all but its last 40 bytes")
            << "bin" << -40.0 << "not a readable torch.save archive";
        QTest::newRow("legacy, half") << "bin-legacy" << 0.5 << "the file ends";
        QTest::newRow("legacy, in its pickle") << "bin-legacy" << 0.003 << "the file ends";
    }
    void damagedPytorchBin()
    {
        QFETCH(QString, weights);
        QFETCH(double, keep);
        QFETCH(QString, said);
        const fs::path folder = make(QStringLiteral("damaged-") + weights,
                                     {QStringLiteral("--family"), QStringLiteral("bert"), QStringLiteral("--weights"),
                                      weights});
        const fs::path bin = folder / "pytorch_model.bin";
        const auto size = fs::file_size(bin);
        fs::resize_file(bin, keep < 0 ? size - uintmax_t(-keep) : uintmax_t(double(size) * keep));
        auto f = lbk::hf::inspectCheckpointFolder(folder);
        QVERIFY(f.ok());
        lbk::ModelSpec spec;
        spec.type = lbk::ModelType::Encoder;
        spec.pooling = lbk::Pooling::Pooler;
        auto model = std::dynamic_pointer_cast<lbk::EncoderClassifierImpl>(
            lbk::makeModel(spec, f->config.vocabSize, 2, 64, false, &f->config));
        const auto loaded = lbk::loadEncoderWeights(*model, *f, false);
        QVERIFY(!loaded.ok());
        QVERIFY(loaded.error().badInput);
        const std::string &message = loaded.message();
        QVERIFY2(message.rfind(bin.string(), 0) == 0 && message.find(said.toStdString()) != std::string::npos,
                 message.c_str());
    }

    void doubledKeysAndNonFiniteWeights()
    {
        // Tensors are read in name order: bert.* before the bare copies, the bare copies before roberta.*, so
        // both orders of the rule are taken.
        for (const std::string family : {"bert", "roberta"}) {
            const std::string prefix = family + ".";
            const fs::path folder = make(QString::fromStdString("doubled-" + family),
                                         {QStringLiteral("--family"), QString::fromStdString(family)});
            const auto original = load(folder, 2);
            editSafetensors(folder / "model.safetensors", [&](json &header, std::string &data) {
                std::vector<std::pair<std::string, json>> bare;
                for (const auto &[key, entry] : header.items())
                    if (key.rfind(prefix, 0) == 0) {
                        const auto [begin, end] = std::pair{entry["data_offsets"][0].get<size_t>(), entry["data_offsets"][1].get<size_t>()};
                        json copy = entry;
                        copy["data_offsets"] = {data.size(), data.size() + (end - begin)};
                        data.append(end - begin, '\0');
                        bare.emplace_back(key.substr(prefix.size()), copy);
                    }
                for (auto &[key, entry] : bare)
                    header[key] = entry;
            });
            const auto doubled = load(folder, 2);
            QVERIFY(doubled.report.unused.size() > 10);
            QVERIFY(std::find(doubled.report.unused.begin(), doubled.report.unused.end(),
                              "embeddings.word_embeddings.weight") != doubled.report.unused.end());
            for (const auto &p : original.model->named_parameters())
                if (p.key().rfind("classifier.", 0) != 0)
                    QVERIFY2(torch::equal(p.value(), doubled.model->named_parameters()[p.key()]),
                             (family + ": " + p.key()).c_str());
        }

        const fs::path nan = make(QStringLiteral("nan"), {QStringLiteral("--family"), QStringLiteral("bert")});
        const std::string key = "bert.encoder.layer.0.attention.self.query.weight";
        editSafetensors(nan / "model.safetensors", [&](json &header, std::string &data) {
            QCOMPARE(header[key]["dtype"].get<std::string>(), std::string("F32"));
            const float value = std::nanf("");
            std::memcpy(data.data() + header[key]["data_offsets"][0].get<size_t>() + 4, &value, sizeof value);
        });
        auto f = lbk::hf::inspectCheckpointFolder(nan);
        QVERIFY(f.ok());
        lbk::ModelSpec spec;
        spec.type = lbk::ModelType::Encoder;
        auto model = std::dynamic_pointer_cast<lbk::EncoderClassifierImpl>(
            lbk::makeModel(spec, f->config.vocabSize, 2, 64, false, &f->config));
        const auto loaded = lbk::loadEncoderWeights(*model, *f, false);
        QVERIFY(!loaded.ok());
        QVERIFY2(loaded.message().find("model.safetensors: '" + key + "' holds NaN or infinite values") != std::string::npos,
                 loaded.message().c_str());

        // A weight of the right shape stored as integers (its I64 values appended to the data) is refused, not
        // cast into the float parameter.
        const fs::path ints = make(QStringLiteral("ints"), {QStringLiteral("--family"), QStringLiteral("bert")});
        editSafetensors(ints / "model.safetensors", [&](json &header, std::string &data) {
            const auto &offsets = header[key]["data_offsets"];
            const size_t floats = (offsets[1].get<size_t>() - offsets[0].get<size_t>()) / 4;
            header[key]["dtype"] = "I64";
            header[key]["data_offsets"] = {data.size(), data.size() + floats * 8};
            data.append(floats * 8, '\0');
        });
        auto g = lbk::hf::inspectCheckpointFolder(ints);
        QVERIFY2(g.ok(), g.ok() ? "" : g.message().c_str());
        auto intModel = std::dynamic_pointer_cast<lbk::EncoderClassifierImpl>(
            lbk::makeModel(spec, g->config.vocabSize, 2, 64, false, &g->config));
        const auto refused = lbk::loadEncoderWeights(*intModel, *g, false);
        QVERIFY(!refused.ok());
        QVERIFY2(refused.message().find("'" + key + "' holds integers") != std::string::npos, refused.message().c_str());
    }

    // Import, fine-tune some steps, write model.safetensors and config.json back: the reference reads them and
    // gives the fine-tuned model's logits. Binary heads go out as two logits [0, z].
    void fineTunedWeightsRoundTrip_data()
    {
        QTest::addColumn<QString>("family");
        QTest::addColumn<int>("outputs");
        QTest::newRow("bert, 4 classes") << "bert" << 4;
        QTest::newRow("roberta, binary") << "roberta" << 1;
    }
    void fineTunedWeightsRoundTrip()
    {
        QFETCH(QString, family);
        QFETCH(int, outputs);
        const fs::path folder = make(QStringLiteral("ft-") + family, {QStringLiteral("--family"), family});
        auto [model, report] = load(folder, outputs);
        model->train();
        auto opt = lbk::makeOptimizer(*model, [&](const std::string &n) { return model->paramGroup(n); },
                                      torch::Tensor(), lbk::OptimizerSpec{}, 1e-3);
        auto batch = batchOf(kIds);
        const auto before = model->named_parameters()[model->backbonePrefix() + "encoder.layer.0.output.dense.weight"].clone();
        for (int step = 0; step < 5; ++step) {
            opt->zero_grad();
            auto logits = model->forward(batch);
            logits.pow(2).mean().backward();
            opt->step();
        }
        QVERIFY(!torch::allclose(before, model->named_parameters()[model->backbonePrefix() + "encoder.layer.0.output.dense.weight"]));
        model->eval();
        const fs::path out = path(QStringLiteral("export-") + family).toStdString();
        fs::create_directories(out);
        QVERIFY(lbk::saveEncoderWeights(*model, out / "model.safetensors", outputs == 1).ok());
        std::vector<std::string> labels = outputs == 1 ? std::vector<std::string>{"no", "yes"}
                                                       : std::vector<std::string>{"a", "b", "c", "d"};
        std::ofstream(out / "config.json") << lbk::hf::encoderConfigJson(model->config(), labels, "single_label_classification").dump(2);
        const json ref = reference(out, kIds);
        torch::NoGradGuard noGrad;
        auto logits = model->forward(batch);
        if (outputs == 1)
            logits = torch::cat({torch::zeros_like(logits), logits}, 1);
        std::vector<float> flat;
        for (const auto &row : ref["logits"])
            for (float v : row)
                flat.push_back(v);
        const double d = maxDiff(logits, json(flat));
        QVERIFY2(d < 1e-5, qPrintable(QStringLiteral("logits differ by %1").arg(d)));
    }

    // No decay on biases and norms; the head at its own rate; layer-wise decay from the top down.
    void optimizerGroups()
    {
        const fs::path folder = make(QStringLiteral("groups"), {QStringLiteral("--family"), QStringLiteral("bert")});
        auto f = lbk::hf::inspectCheckpointFolder(folder);
        QVERIFY(f.ok());
        lbk::ModelSpec spec;
        spec.type = lbk::ModelType::Encoder;
        spec.pooling = lbk::Pooling::Pooler;
        spec.headLrFactor = 10;
        spec.layerLrDecay = 0.5;
        spec.freezeEmbeddings = true;
        auto model = std::dynamic_pointer_cast<lbk::EncoderClassifierImpl>(lbk::makeModel(spec, f->config.vocabSize, 2, 64, false, &f->config));
        auto g = [&](const char *name) { return model->paramGroup(name); };
        QCOMPARE(g("classifier.weight").lrFactor, 10.0);
        QVERIFY(g("classifier.weight").decay);
        QVERIFY(!g("classifier.bias").decay);
        QVERIFY(!g("bert.encoder.layer.1.output.LayerNorm.weight").decay);
        QCOMPARE(g("bert.pooler.dense.weight").lrFactor, 1.0);
        QCOMPARE(g("bert.encoder.layer.1.attention.self.query.weight").lrFactor, 0.5);
        QCOMPARE(g("bert.encoder.layer.0.attention.self.query.weight").lrFactor, 0.25);
        QCOMPARE(g("bert.embeddings.word_embeddings.weight").lrFactor, 0.125);
        // Frozen embeddings are in no optimizer group.
        auto opt = lbk::makeOptimizer(*model, [&](const std::string &n) { return model->paramGroup(n); },
                                      torch::Tensor(), lbk::OptimizerSpec{}, 1e-3);
        size_t trained = 0;
        for (const auto &group : opt->dense->param_groups())
            trained += group.params().size();
        size_t embeddings = 0;
        for (const auto &p : model->named_parameters())
            embeddings += p.key().find(".embeddings.") != std::string::npos;
        QCOMPARE(trained + embeddings, model->parameters().size());
        opt->setLr(1e-3);
        for (size_t i = 0; i < opt->groups.size(); ++i)
            QCOMPARE(opt->dense->param_groups()[i].options().get_lr(), 1e-3 * opt->groups[i].lrFactor);
    }
};

QTEST_GUILESS_MAIN(TestEncoder)
#include "tst_encoder.moc"
