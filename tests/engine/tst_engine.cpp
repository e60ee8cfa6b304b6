// The engine's parts on real data: LibTorch and sentencepiece loaded in one process (the protobuf clash the
// bootstrap works around must never return silently), tokenizer training and its cache, and every model.
#include <fstream>

#include <QtTest>

#include <torch/torch.h>

#include "sampledata.h"
#include "data/dataset.h"
#include "engine/models.h"
#include "engine/precision.h"
#include "engine/threads.h"
#include "engine/tokenizer.h"
#include "experiment/schema.h"

namespace fs = std::filesystem;

// The ModelType a model.type word names (the words the experiment schema accepts).
lbk::ModelType modelType(const std::string &word)
{
    if (const auto type = lbk::fromWord<lbk::ModelType>(word))
        return *type;
    qFatal("no model type %s", word.c_str());
}

class TestEngine : public QObject {
    Q_OBJECT
    std::vector<std::string> m_titles;
    fs::path m_cache;

private Q_SLOTS:
    void initTestCase()
    {
        const auto papers = lbktest::samplePapers();
        QVERIFY(papers.size() >= 2000);
        for (size_t i = 0; i < 2000; ++i)
            m_titles.push_back(papers[i].title);
        m_cache = fs::path(LABBOOK_TEST_TMP) / "tokenizer-cache";
        fs::remove_all(m_cache);
    }

    void torchAndSentencepieceInOneProcess()
    {
        lbk::TokenizerSpec spec;
        spec.vocabSize = 500;
        auto tok = lbk::Tokenizer::trainOrLoad(m_titles, spec, m_cache, 2);
        QVERIFY2(tok.ok(), tok.ok() ? "" : tok.message().c_str());
        const auto ids = (*tok)->encode("Deep Learning for Image Segmentation");
        QVERIFY(!ids.empty());
        // Use LibTorch on the tokenizer's output in the same process.
        auto t = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()));
        auto emb = torch::nn::Embedding((*tok)->vocabSize(), 8);
        QCOMPARE(emb->forward(t).size(1), int64_t(8));
    }

    void wordTokenizer()
    {
        // Whole words; punctuation separates them; words seen fewer than min_count times are unknown (1).
        lbk::TokenizerSpec spec;
        spec.type = lbk::TokenizerType::Word;
        spec.vocabSize = 1000;
        spec.minCount = 2;
        const std::vector<std::string> texts = {"Graph neural networks: a survey", "Graph networks for physics",
                                                "A survey of X-ray imaging", "Weitzenb\xC3\xB6" "ck gravity",
                                                "weitzenb\xC3\xB6" "ck (torsion)"};
        auto tok = lbk::Tokenizer::trainOrLoad(texts, spec, m_cache / "words", 1);
        QVERIFY2(tok.ok(), tok.ok() ? "" : tok.message().c_str());
        const auto pieces = (*tok)->pieceTexts();
        const auto idOf = [&](const std::string &w) {
            const auto it = std::find(pieces.begin(), pieces.end(), "\xE2\x96\x81" + w);
            return it == pieces.end() ? -1 : int(it - pieces.begin());
        };
        for (const char *w : {"graph", "networks", "survey", "a", "weitzenb\xC3\xB6" "ck"})
            QVERIFY2(idOf(w) > 1, w);
        QCOMPARE(idOf("neural"), -1); // once only
        QCOMPARE(idOf("networks:"), -1);
        const std::vector<int> expected = {idOf("graph"), 1, idOf("networks"), idOf("survey"), 1};
        QCOMPARE((*tok)->encode("GRAPH (neural)-networks!! survey... x"), expected);
        QCOMPARE((*tok)->encode("!!! ..."), std::vector<int>{});
        // A minimum no word reaches is a clear error, not sentencepiece's.
        auto none = spec;
        none.minCount = 50;
        auto failed = lbk::Tokenizer::trainOrLoad(texts, none, m_cache / "words", 1);
        QVERIFY(!failed.ok());
        QVERIFY2(failed.message().find("tokenizer.min_count (50)") != std::string::npos, failed.message().c_str());
        // Another minimum is another model.
        auto other = spec;
        other.minCount = 1;
        QVERIFY(lbk::Tokenizer::cacheKey(texts, other) != lbk::Tokenizer::cacheKey(texts, spec));
    }

    void tokenizerCache()
    {
        lbk::TokenizerSpec spec;
        spec.vocabSize = 400;
        bool cached = true;
        auto first = lbk::Tokenizer::trainOrLoad(m_titles, spec, m_cache, 2, &cached);
        QVERIFY(first.ok());
        QVERIFY(!cached);
        auto second = lbk::Tokenizer::trainOrLoad(m_titles, spec, m_cache, 2, &cached);
        QVERIFY(second.ok());
        QVERIFY(cached);
        QCOMPARE((*first)->modelPath(), (*second)->modelPath());
        QCOMPARE((*first)->encode(m_titles[3]), (*second)->encode(m_titles[3]));
        // Other settings or other texts are another model.
        spec.type = lbk::TokenizerType::Bpe;
        QVERIFY(lbk::Tokenizer::cacheKey(m_titles, spec) != (*first)->modelPath().stem().string());
        auto fewer = m_titles;
        fewer.pop_back();
        spec.type = lbk::TokenizerType::Unigram;
        QVERIFY(lbk::Tokenizer::cacheKey(fewer, spec) != (*first)->modelPath().stem().string());
        // Lower-casing and truncation.
        spec.maxTokens = 4;
        auto cut = lbk::Tokenizer::load((*first)->modelPath(), spec);
        QVERIFY(cut.ok());
        QCOMPARE((*cut)->encode("a b c d e f g h").size(), size_t(4));
        QCOMPARE((*second)->encode("GRAPH"), (*second)->encode("graph"));
        // A damaged cache entry is trained again, to the same model, instead of failing every run that shares it.
        const auto ids = (*first)->encode(m_titles[3]);
        spec.maxTokens = lbk::TokenizerSpec{}.maxTokens;
        std::ofstream((*first)->modelPath(), std::ios::binary | std::ios::trunc) << "not a sentencepiece model";
        auto again = lbk::Tokenizer::trainOrLoad(m_titles, spec, m_cache, 2, &cached);
        QVERIFY2(again.ok(), again.ok() ? "" : again.message().c_str());
        QVERIFY(!cached);
        QCOMPARE((*again)->encode(m_titles[3]), ids);
    }

    void models_data()
    {
        QTest::addColumn<QString>("type");
        QTest::addColumn<QString>("pooling");
        QTest::newRow("bag") << "bag" << "mean";
        QTest::newRow("cnn") << "cnn" << "mean";
        QTest::newRow("gru mean") << "gru" << "mean";
        QTest::newRow("gru meanmax") << "gru" << "meanmax";
        QTest::newRow("transformer cls") << "transformer" << "cls";
        QTest::newRow("transformer mean") << "transformer" << "mean";
        QTest::newRow("bag_cnn") << "bag_cnn" << "mean";
    }

    void models()
    {
        QFETCH(QString, type);
        QFETCH(QString, pooling);
        lbk::ModelSpec spec;
        spec.type = modelType(type.toStdString());
        spec.pooling = lbk::fromWord<lbk::Pooling>(pooling.toStdString()).value();
        spec.embeddingDim = 16;
        spec.hidden = 16;
        spec.channels = 8;
        spec.ngramBuckets = 100;
        auto model = lbk::makeModel(spec, 50, 5, 12);
        lbk::Batch b;
        b.tokens = torch::tensor({3, 4, 5, 0, 7, 8, 0, 0}, torch::kLong).view({2, 4});
        b.lengths = torch::tensor({3, 2}, torch::kLong);
        b.bagIds = torch::tensor({3, 4, 5, 7, 8, 60}, torch::kLong);
        b.bagOffsets = torch::tensor({0, 3}, torch::kLong);
        auto out = model->forward(b);
        QCOMPARE(out.size(0), int64_t(2));
        QCOMPARE(out.size(1), int64_t(5));
        QVERIFY(torch::isfinite(out).all().item<bool>());
        // Gradients reach the embeddings.
        out.sum().backward();
        bool anyGrad = false;
        for (const auto &p : model->parameters())
            anyGrad = anyGrad || (p.grad().defined() && p.grad().abs().sum().item<double>() > 0);
        QVERIFY(anyGrad);
    }

    // A text's CNN score does not depend on the other texts of its batch (how far it is padded).
    void cnnIgnoresPadding()
    {
        lbk::ModelSpec spec;
        spec.type = lbk::ModelType::Cnn;
        spec.embeddingDim = 8;
        spec.channels = 6;
        spec.kernelSizes = {1, 3};
        torch::manual_seed(5);
        auto model = lbk::makeModel(spec, 50, 4, 12);
        model->eval();
        const auto in = lbk::inputSpecFor(spec, 50, -1);
        const std::vector<int> shortText = {3, 4}, longText = {5, 6, 7, 8, 9, 10, 11, 12};
        const auto alone = model->forward(lbk::makeInputs({&shortText}, in, torch::kCPU));
        const auto batched = model->forward(lbk::makeInputs({&shortText, &longText}, in, torch::kCPU));
        QVERIFY(torch::allclose(alone[0], batched[0], 1e-6, 1e-6));
    }

    // bag_cnn trains each member on its own loss and predicts with their logits averaged by model.bag_weight.
    void bagCnnAveragesItsMembers()
    {
        lbk::ModelSpec spec;
        spec.type = lbk::ModelType::BagCnn;
        spec.embeddingDim = 16;
        spec.channels = 8;
        spec.kernelSizes = {1, 2};
        spec.ngramBuckets = 100;
        spec.bagWeight = 0.7;
        spec.cnnLrFactor = 2;
        torch::manual_seed(3);
        auto model = lbk::makeModel(spec, 50, 5, 12);
        QVERIFY(model->bag() != nullptr);
        // The CNN's parameters form their own learning-rate group, at model.cnn_lr_factor.
        size_t cnnParams = 0;
        for (const auto &p : model->named_parameters()) {
            const auto group = model->paramGroup(p.key());
            cnnParams += group.name == "cnn";
            QCOMPARE(group.lrFactor, group.name == "cnn" ? 2.0 : 1.0);
            QCOMPARE(p.key().rfind("cnn.", 0) == 0, group.name == "cnn");
        }
        QCOMPARE(cnnParams, size_t(1 + 2 * 2 + 2)); // its embeddings, two convolutions and its output layer
        const std::vector<int> a = {3, 4, 5}, c = {7, 8};
        const auto in = lbk::makeInputs({&a, &c}, lbk::inputSpecFor(spec, 50, -1), torch::kCPU);
        QVERIFY(in.bagIds.defined() && in.tokens.defined()); // both members' inputs
        QCOMPARE(in.tokens.size(1), int64_t(3));
        model->eval();
        const auto members = model->trainingLogits(in);
        QCOMPARE(members.size(), size_t(2));
        const auto expected = members[0] * 0.7 + members[1] * 0.3;
        QVERIFY(torch::allclose(model->forward(in), expected, 1e-6, 1e-6));
        QVERIFY(!torch::allclose(members[0], members[1])); // two different models
        // The CNN member's loss reaches only the CNN's weights, the bag's only the bag's.
        model->train();
        model->trainingLogits(in)[1].sum().backward();
        for (const auto &p : model->named_parameters()) {
            const bool cnn = p.key().rfind("cnn.", 0) == 0;
            QVERIFY2(p.key().rfind("bag.", 0) == 0 || cnn, p.key().c_str());
            const bool moved = p.value().grad().defined() && p.value().grad().abs().sum().item<double>() > 0;
            if (!cnn)
                QVERIFY2(!moved, p.key().c_str());
        }
        // A bag alone builds no token matrix; a CNN alone no bag ids.
        lbk::ModelSpec bag = spec, cnn = spec;
        bag.type = lbk::ModelType::Bag;
        cnn.type = lbk::ModelType::Cnn;
        QVERIFY(!lbk::makeInputs({&a}, lbk::inputSpecFor(bag, 50, -1), torch::kCPU).tokens.defined());
        QVERIFY(!lbk::makeInputs({&a}, lbk::inputSpecFor(cnn, 50, -1), torch::kCPU).bagIds.defined());
    }

    // An encoder fine-tuned from an MLM run reads [CLS] pieces [SEP], as its pre-training sequences were framed;
    // a run recorded before model.append_sep existed keeps [CLS] pieces.
    void encoderFromARunFramesTexts()
    {
        lbk::ModelSpec spec;
        spec.type = lbk::ModelType::Encoder;
        spec.initFrom = "run:pre";
        const auto rows = lbk::tokenRowsFor(spec, 100); // pieces 0..99, then [CLS] 100, [SEP] 101, [MASK] 102
        QCOMPARE(rows.vocab, 103);
        QCOMPARE(rows.clsId, 100);
        QCOMPARE(rows.sepId, 101);
        const std::vector<int> a = {3, 4, 5}, b = {7};
        const auto in = lbk::makeInputs({&a, &b}, lbk::inputSpecFor(spec, rows, {}), torch::kCPU);
        QCOMPARE(in.tokens.size(1), int64_t(5));
        const auto ids = [](std::vector<int64_t> v) { return torch::tensor(v, torch::kLong); };
        QVERIFY(torch::equal(in.tokens[0], ids({100, 3, 4, 5, 101})));
        QVERIFY(torch::equal(in.tokens[1], ids({100, 7, 101, 0, 0})));
        QVERIFY(torch::equal(in.lengths, ids({5, 3})));
        spec.appendSep = false;
        QCOMPARE(lbk::tokenRowsFor(spec, 100).sepId, -1);
        const auto old = lbk::experimentFromRecorded(
            lbk::withDefaults(nlohmann::json{{"data", {{"path", "a"}}},
                                             {"model", {{"type", "encoder"}, {"init_from", "run:pre"}}}}));
        QVERIFY(old.ok());
        QVERIFY(old->model.appendSep); // a config with every field: today's default
        auto recorded = old->config;
        recorded["model"].erase("append_sep");
        QVERIFY(!lbk::experimentFromRecorded(recorded)->model.appendSep); // recorded before the field: none
    }

    void computeThreadsReachTheBlas()
    {
        // training.threads and --threads set LibTorch's threads and the BLAS's: at::set_num_threads alone
        // leaves OpenBLAS's pthreads build (Debian's LibTorch calls it for every matmul) on every core. Its
        // OpenMP build (what bootstrap.sh selects) follows OpenMP's count, which blasThreads() then reports.
        QCOMPARE(lbk::threadCount(3), 3);
        QVERIFY(lbk::threadCount(0) >= 1);
        const int before = at::get_num_threads();
        const auto restore = qScopeGuard([before] { lbk::setComputeThreads(before); });
        lbk::setComputeThreads(1);
        QCOMPARE(at::get_num_threads(), 1);
        if (lbk::blasThreads() < 0)
            QSKIP("the BLAS under LibTorch is not OpenBLAS: it has no thread setting to check");
        QCOMPARE(lbk::blasThreads(), 1);
        lbk::setComputeThreads(2);
        QCOMPARE(at::get_num_threads(), 2);
        QCOMPARE(lbk::blasThreads(), 2);
        lbk::setComputeThreads(0); // never fewer than one
        QCOMPARE(lbk::blasThreads(), 1);
    }

    void autocastSwitchesNest()
    {
        // precision.h writes the autocast switches once for LibTorch 1.13 and 2.4+: a guard turns its device's
        // autocast on for its scope (bf16 matmuls), a pause of CUDA's leaves the CPU's alone, and both restore.
        QVERIFY(!lbk::autocastActive());
        const auto a = torch::randn({4, 8}), b = torch::randn({8, 4});
        {
            const lbk::AutocastGuard guard(true, /*cuda=*/false);
            QVERIFY(lbk::autocastActive());
            QVERIFY(!lbk::cudaAutocastEnabled());
            QVERIFY(torch::mm(a, b).scalar_type() == torch::kBFloat16);
            {
                const lbk::CudaAutocastPause pause(true);
                QVERIFY(lbk::autocastActive());
            }
            QVERIFY(lbk::autocastActive());
        }
        QVERIFY(!lbk::autocastActive());
        QVERIFY(torch::mm(a, b).scalar_type() == torch::kFloat);
        const lbk::AutocastGuard off(false, /*cuda=*/false);
        QVERIFY(!lbk::autocastActive());
    }
};

QTEST_GUILESS_MAIN(TestEngine)
#include "tst_engine.moc"
