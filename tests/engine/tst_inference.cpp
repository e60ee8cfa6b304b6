// The engine's speed paths must not change results: the word cache gives sentencepiece's own ids (unigram and
// BPE, titles and abstracts, with truncation and with long texts), the unigram segmenter behind it finds
// sentencepiece's pieces and the true lead of the best segmentation over the second, the lazy row-sparse AdamW
// matches a dense Adam step on the rows a batch touches and leaves the others alone, the bag's fused SGD step
// trains as autograd does, and the shared input builder hashes n-grams as documented.
#include <QtTest>

#include <sstream>

#include <torch/torch.h>

#include <set>

#include "sampledata.h"
#include "data/dataset.h"
#include "experiment/schema.h"
#include "engine/checkpoint.h"
#include "engine/fusedbag.h"
#include "engine/models.h"
#include "engine/optim.h"
#include "engine/runcontext.h"
#include "engine/threads.h"
#include "engine/tokenizer.h"
#include "engine/unigramsegmenter.h"
#include "util/text.h"

#include <sentencepiece_processor.h>

namespace fs = std::filesystem;

namespace {

// One step of the row-sparse optimizer on w and of torch's dense one on ref (a copy of w), from the same
// embedding-bag loss over rows 3, 7, 7 and 20.
template <typename Dense>
void stepBoth(torch::Tensor &w, lbk::SparseRowOptimizer &lazy, torch::Tensor &ref, Dense &dense)
{
    const auto ids = torch::tensor(std::vector<int64_t>{3, 7, 7, 20});
    const auto offsets = torch::tensor(std::vector<int64_t>{0, 2});
    auto loss = torch::embedding_bag(w, ids, offsets, false, 1, /*sparse=*/true);
    std::get<0>(loss).pow(2).sum().backward();
    w.mutable_grad() = w.grad().coalesce();
    lazy.step();
    auto lossRef = torch::embedding_bag(ref, ids, offsets, false, 1, false);
    std::get<0>(lossRef).pow(2).sum().backward();
    dense.step();
}

} // namespace

class TestInference : public QObject {
    Q_OBJECT
    std::vector<std::string> m_titles, m_texts;
    fs::path m_cache;

private Q_SLOTS:
    void initTestCase()
    {
        const auto papers = lbktest::samplePapers();
        QVERIFY(!papers.empty());
        for (const auto &p : papers) {
            m_titles.push_back(p.title);
            m_texts.push_back(lbk::paperText(p, lbk::TextField::TitleAbstract));
        }
        m_cache = fs::path(LABBOOK_TEST_TMP) / "tokenizer-cache-inference";
        fs::remove_all(m_cache);
    }

    void wordCacheGivesSentencepieceIds_data()
    {
        QTest::addColumn<QString>("type");
        QTest::addColumn<bool>("lowercase");
        QTest::addColumn<int>("maxTokens");
        QTest::newRow("unigram") << QStringLiteral("unigram") << true << 64;
        QTest::newRow("bpe, cased") << QStringLiteral("bpe") << false << 64;
        QTest::newRow("word") << QStringLiteral("word") << true << 48;
        QTest::newRow("unigram, truncated") << QStringLiteral("unigram") << true << 7;
        // Long texts: running scores in the thousands, where float rounding is coarsest.
        QTest::newRow("unigram, 512 tokens") << QStringLiteral("unigram") << true << 512;
    }
    void wordCacheGivesSentencepieceIds()
    {
        QFETCH(QString, type);
        QFETCH(bool, lowercase);
        QFETCH(int, maxTokens);
        lbk::TokenizerSpec spec;
        spec.type = lbk::fromWord<lbk::TokenizerType>(type.toStdString()).value();
        spec.vocabSize = 3000;
        spec.lowercase = lowercase;
        spec.maxTokens = maxTokens;
        auto tok = lbk::Tokenizer::trainOrLoad(m_titles, spec, m_cache, 2);
        QVERIFY2(tok.ok(), tok.ok() ? "" : tok.message().c_str());
        lbk::WordCache cache;
        int differ = 0;
        for (const auto *set : {&m_titles, &m_texts})
            for (const auto &t : *set)
                differ += (*tok)->encode(t, &cache) != (*tok)->encodeUncached(t);
        QCOMPARE(differ, 0);
        QVERIFY(cache.size() > 1000);
        // The cache is used: only texts with a word too near a tie for their length go to sentencepiece whole.
        QVERIFY2(cache.stats().wholeTexts * 20 < cache.stats().texts, std::to_string(cache.stats().wholeTexts).c_str());
        // Odd white space and an empty text.
        for (const char *t : {"  Two  spaces\tand a tab\n", "", "   ", "caf\xc3\xa9 na\xc3\xafve \xe2\x80\x94 $\\mathbb{A}^1$",
                              "zzqx zzqy\xc2\xa0of the", "zzqx\xe3\x80\x80zzqy of"})
            QCOMPARE((*tok)->encode(t, &cache), (*tok)->encodeUncached(t));
        QCOMPARE((*tok)->encodeAll(m_titles, 2)[17], (*tok)->encodeUncached(m_titles[17]));
    }

    // The segmenter against sentencepiece itself on every distinct word of the titles: the same pieces, and a
    // margin equal to the score gap between sentencepiece's two best segmentations (its n-best, in float).
    void segmenterMatchesSentencepiece()
    {
        lbk::TokenizerSpec spec;
        spec.vocabSize = 3000;
        auto tok = lbk::Tokenizer::trainOrLoad(m_titles, spec, m_cache, 2);
        QVERIFY(tok.ok());
        sentencepiece::SentencePieceProcessor sp;
        QVERIFY(sp.Load((*tok)->modelPath().string()).ok());
        std::string why;
        const auto seg = lbk::UnigramSegmenter::fromModel(sp.serialized_model_proto(), &why);
        QVERIFY2(seg, why.c_str());
        std::set<std::string> words;
        for (const auto &t : m_titles)
            lbk::forEachWord(t, [&](std::string_view w) {
                std::string lower(w);
                for (char &c : lower)
                    c = char(std::tolower(static_cast<unsigned char>(c)));
                words.insert(lower);
            });
        auto plain = [](const std::string &w) {
            return std::all_of(w.begin(), w.end(), [](char c) { return lbk::UnigramSegmenter::keepsByte(uint8_t(c)); });
        };
        auto score = [&](const std::vector<int> &ids) {
            double sum = 0;
            for (int id : ids)
                sum += sp.GetScore(id);
            return sum;
        };
        auto known = [&](const std::vector<int> &ids) {
            return std::none_of(ids.begin(), ids.end(), [&](int id) { return sp.IsUnknown(id); });
        };
        int checked = 0, gaps = 0, ties = 0;
        for (const auto &w : words) {
            if (!plain(w))
                continue; // not normalised here: the tokenizer sends such words through sentencepiece first
            std::vector<int> expected, ids;
            sp.Encode(w, &expected).IgnoreError();
            const auto s = seg->segment("\xe2\x96\x81" + w, ids);
            ++checked;
            if (seg->contextLimit(s) < 0) { // a tie: which one wins is float rounding's choice, never cached
                ++ties;
                continue;
            }
            QCOMPARE(ids, expected);
            std::vector<std::vector<int>> best;
            QVERIFY(sp.NBestEncode(w, 2, &best).ok());
            if (!known(expected) || (best.size() == 2 && !known(best[1])))
                continue; // an unknown piece's score is not the one the lattice uses
            QVERIFY(std::abs(s.score - score(expected)) < 1e-3);
            if (best.size() == 2) {
                QVERIFY2(std::abs(s.margin - (score(best[0]) - score(best[1]))) < 1e-3, w.c_str());
                ++gaps;
            } else {
                QVERIFY(std::isinf(s.margin));
            }
        }
        QVERIFY(checked > 3000);
        QVERIFY(ties < checked / 100);
        QVERIFY(gaps > checked / 2);
        // A word has no safe context when its two best segmentations tie, any when it has a single one.
        lbk::UnigramSegmenter::Segmentation tie;
        tie.maxPieces = 4;
        QVERIFY(seg->contextLimit(tie) < 0);
        tie.margin = std::numeric_limits<double>::infinity();
        QVERIFY(std::isinf(seg->contextLimit(tie)));
        lbk::UnigramSegmenter::Segmentation clear;
        clear.maxPieces = 4;
        clear.margin = 0.5;
        QVERIFY(seg->contextLimit(clear) > 1e4);
    }

    void lazyAdamMatchesDenseAdamOnTouchedRows()
    {
        torch::manual_seed(3);
        lbk::OptimizerSpec o;
        o.weightDecay = 0.01;
        auto w = torch::randn({50, 4}).requires_grad_(true);
        auto ref = w.detach().clone().requires_grad_(true);
        lbk::SparseRowOptimizer lazy(w, o);
        lazy.setLr(0.01);
        torch::optim::AdamW dense({ref}, torch::optim::AdamWOptions(0.01).weight_decay(0.01));
        const auto before = w.detach().clone();
        // One step from zero moments: both must agree on the touched rows.
        stepBoth(w, lazy, ref, dense);
        for (int64_t r : {3, 7, 20})
            QVERIFY(torch::allclose(w.detach()[r], ref.detach()[r], 1e-6, 1e-6));
        // Untouched rows stay as they were (dense AdamW would decay them).
        QVERIFY(torch::equal(w.detach()[0], before[0]));
        QVERIFY(!torch::equal(ref.detach()[0], before[0]));
    }

    // A bag table's checkpoint holds only the rows that left their initial values, and loads back bit for bit into a
    // model built with another seed (whose own initial rows are different): the untouched rows are regenerated from
    // the checkpoint's seed. A checkpoint that lies about its rows is named, not loaded.
    void bagCheckpointWritesOnlyChangedRows()
    {
        lbk::ModelSpec spec;
        spec.type = lbk::ModelType::Bag;
        spec.embeddingDim = 16;
        spec.ngrams = 2;
        spec.ngramBuckets = 20000;
        torch::manual_seed(1);
        lbk::BagModel trained(spec, 1000, 5, true);
        torch::manual_seed(2);
        lbk::BagModel fresh(spec, 1000, 5, true);
        QVERIFY(trained->initSeed() != fresh->initSeed());
        {
            torch::NoGradGuard noGrad;
            auto w = trained->embeddingWeight();
            for (int64_t r : {0, 17, 999, 1000, 20999})
                w[r].add_(0.25);
        }
        const fs::path dir = fs::path(LABBOOK_TEST_TMP) / "compact-table";
        fs::create_directories(dir);
        const fs::path file = dir / "best.pt";
        lbk::saveCheckpoint(file, *trained, nullptr, {7, 0.5, 0});
        const auto fullTable = uintmax_t(21000) * 16 * sizeof(float);
        QVERIFY2(fs::file_size(file) < fullTable / 10, qPrintable(QString::number(fs::file_size(file))));
        lbk::CheckpointCounters counters;
        QVERIFY(lbk::loadCheckpoint(file, *fresh, torch::kCPU, nullptr, &counters));
        QCOMPARE(counters.step, int64_t(7));
        for (const auto &p : trained->named_parameters())
            QVERIFY2(torch::equal(p.value(), fresh->named_parameters()[p.key()]), p.key().c_str());
        QCOMPARE(fresh->initSeed(), trained->initSeed());

        // Its rows point past this model's table: named, and the model keeps its weights.
        spec.ngramBuckets = 10;
        lbk::BagModel small(spec, 1000, 5, true);
        const auto before = small->embeddingWeight().clone();
        bool named = false;
        try {
            lbk::loadCheckpoint(file, *small, torch::kCPU, nullptr, nullptr);
        } catch (const std::runtime_error &e) {
            named = std::string(e.what()).find(file.string()) != std::string::npos;
        }
        QVERIFY(named);
        QVERIFY(torch::equal(small->embeddingWeight(), before));
    }

    // optimizer.type sgd on the table: fastText's rule on the touched rows, with momentum as torch's SGD has it
    // (two steps, so the velocity carries), and no state without momentum.
    void lazySgdMatchesDenseSgdOnTouchedRows()
    {
        for (const double momentum : {0.0, 0.9}) {
            torch::manual_seed(5);
            lbk::OptimizerSpec o;
            o.type = lbk::OptimizerType::Sgd;
            o.weightDecay = 0;
            o.momentum = momentum;
            auto w = torch::randn({50, 4}).requires_grad_(true);
            auto ref = w.detach().clone().requires_grad_(true);
            lbk::SparseRowOptimizer lazy(w, o);
            lazy.setLr(0.5);
            torch::optim::SGD dense({ref}, torch::optim::SGDOptions(0.5).momentum(momentum));
            const auto before = w.detach().clone();
            for (int step = 0; step < 2; ++step) {
                lazy.zeroGrad();
                dense.zero_grad();
                stepBoth(w, lazy, ref, dense);
            }
            for (int64_t r : {3, 7, 20})
                QVERIFY(torch::allclose(w.detach()[r], ref.detach()[r], 1e-6, 1e-6));
            QVERIFY(torch::equal(w.detach()[0], before[0]));
            torch::serialize::OutputArchive a;
            lazy.save(a);
            std::stringstream bytes;
            a.save_to(bytes);
            torch::serialize::InputArchive in;
            in.load_from(bytes);
            const std::vector<std::string> keys = in.keys();
            QCOMPARE(std::find(keys.begin(), keys.end(), "momentum_buffer") != keys.end(), momentum > 0);
            QVERIFY(std::find(keys.begin(), keys.end(), "exp_avg_sq") == keys.end());
        }
    }

    // The bag's fused SGD step (engine/fusedbag.h) trains as autograd and torch's SGD do: three steps on batches
    // with an id twice in one text and in two texts, with label smoothing; and it is offered only where it does.
    void fusedBagStepMatchesAutogradSgd()
    {
        lbk::RunContext ctx;
        ctx.exp.optimizer.type = lbk::OptimizerType::Sgd;
        ctx.exp.optimizer.momentum = 0;
        ctx.exp.optimizer.weightDecay = 0;
        ctx.exp.optimizer.labelSmoothing = 0.1;
        lbk::ModelSpec spec;
        spec.type = lbk::ModelType::Bag;
        spec.embeddingDim = 24; // not a multiple of the vector width: the loops' tails count too
        spec.ngramBuckets = 0;
        spec.ngrams = 1;
        spec.dropout = 0;
        torch::manual_seed(3);
        auto fused = lbk::makeModel(spec, 40, 6, 12, true);
        auto reference = lbk::makeModel(spec, 40, 6, 12, true);
        {
            torch::NoGradGuard noGrad;
            for (size_t i = 0; i < fused->parameters().size(); ++i)
                reference->parameters()[i].copy_(fused->parameters()[i]);
        }
        std::string whyNot;
        auto step = lbk::FusedBagStep::forRun(*fused, ctx, true, false, whyNot);
        QVERIFY2(step, whyNot.c_str());
        const auto opt = lbk::makeOptimizer(*reference, {}, reference->bag()->embeddingWeight(), ctx.exp.optimizer, 0.7);
        const std::vector<std::vector<int64_t>> ids = {{3, 7, 7, 20, 5, 9}, {1, 2, 3}, {39, 38, 5, 5, 5}};
        for (int s = 0; s < 3; ++s) {
            lbk::Batch b;
            b.bagIds = torch::tensor(ids[size_t(s)]);
            b.bagOffsets = torch::tensor(std::vector<int64_t>{0, 2, s == 2 ? 4 : 3});
            b.targets = torch::tensor(std::vector<int64_t>{1, 4, int64_t(s)});
            opt->zero_grad();
            const auto loss = torch::nn::functional::cross_entropy(
                reference->forward(b), b.targets, torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(0.1));
            loss.backward();
            auto table = reference->bag()->embeddingWeight();
            table.mutable_grad() = table.grad().coalesce();
            opt->step();
            const double fusedLoss = step->loss(b);
            step->apply(0.7);
            QVERIFY2(std::abs(fusedLoss - loss.item<double>()) < 1e-6, qPrintable(QString::number(fusedLoss)));
        }
        for (size_t i = 0; i < fused->parameters().size(); ++i)
            QVERIFY(torch::allclose(fused->parameters()[i], reference->parameters()[i], 1e-5, 1e-6));
        QVERIFY(!torch::equal(fused->bag()->embeddingWeight()[7], torch::zeros({24}))); // trained rows moved

        // Split over threads (one contiguous part each), the step gives what one thread gives.
        std::vector<int64_t> bagIds, offsets, targets;
        for (int64_t i = 0; i < 100; ++i) {
            offsets.push_back(int64_t(bagIds.size()));
            for (int64_t k = 0; k < 1 + i % 7; ++k)
                bagIds.push_back((i * 7 + k * 13) % 40);
            targets.push_back(i % 6);
        }
        lbk::bag::Inputs in{bagIds.data(), offsets.data(), targets.data(), 100, int64_t(bagIds.size())};
        std::vector<std::vector<float>> after;
        std::vector<double> losses;
        for (const int threads : {1, 3}) {
            auto table = fused->bag()->embeddingWeight().detach().clone();
            auto weight = fused->bag()->outputLayer()->weight.detach().clone();
            auto bias = fused->bag()->outputLayer()->bias.detach().clone();
            lbk::bag::Parameters p{table.data_ptr<float>(), weight.data_ptr<float>(), bias.data_ptr<float>(), 24, 6};
            lbk::bag::SoftmaxSgdStep kernel;
            losses.push_back(kernel.loss(p, in, 0.1, threads));
            kernel.apply(p, 0.7);
            after.emplace_back(table.data_ptr<float>(), table.data_ptr<float>() + table.numel());
            after.back().insert(after.back().end(), weight.data_ptr<float>(), weight.data_ptr<float>() + weight.numel());
        }
        QVERIFY(std::abs(losses[0] - losses[1]) < 1e-9);
        for (size_t j = 0; j < after[0].size(); ++j)
            QVERIFY(std::abs(after[0][j] - after[1][j]) < 1e-6);

        // Where the step would train otherwise, the run keeps autograd, and says why.
        ctx.exp.optimizer.momentum = 0.9;
        QVERIFY(!lbk::FusedBagStep::forRun(*fused, ctx, true, false, whyNot));
        QVERIFY(whyNot.find("plain SGD") != std::string::npos);
        ctx.exp.optimizer.momentum = 0;
        QVERIFY(!lbk::FusedBagStep::forRun(*fused, ctx, true, true, whyNot));
        QVERIFY(!lbk::FusedBagStep::forRun(*fused, ctx, false, false, whyNot));
        spec.dropout = 0.1;
        QVERIFY(!lbk::FusedBagStep::forRun(*lbk::makeModel(spec, 40, 6, 12, true), ctx, true, false, whyNot));
        spec.type = lbk::ModelType::BagCnn;
        spec.dropout = 0;
        QVERIFY(!lbk::FusedBagStep::forRun(*lbk::makeModel(spec, 40, 6, 12, true), ctx, true, false, whyNot));
    }

    void bagInputsHashNgramsAsDocumented()
    {
        lbk::InputSpec spec;
        spec.bag = true;
        spec.vocab = 100;
        spec.ngrams = 3;
        spec.buckets = 1000;
        const std::vector<int> a = {5, 9, 2}, empty;
        const auto b = lbk::makeInputs({&a, &empty}, spec, torch::kCPU);
        // Unigrams, 2 bigrams, 1 trigram; then [1] for the empty text.
        QCOMPARE(b.bagIds.numel(), int64_t(3 + 2 + 1 + 1));
        QCOMPARE(b.bagOffsets[1].item<int64_t>(), int64_t(6));
        // The mixing hash of (5, 9) and (5, 9, 2), as reference/lbkmodels.py computes them.
        QCOMPARE(lbk::ngramHash(a.data(), 2), uint64_t(11644116441887095655ULL));
        QCOMPARE(b.bagIds[3].item<int64_t>(), int64_t(100 + 655));
        QCOMPARE(b.bagIds[5].item<int64_t>(), int64_t(100 + 660));
        QCOMPARE(b.bagIds[6].item<int64_t>(), int64_t(1));

        // Runs recorded before the mixing hash keep the multiplicative one.
        spec.mixHash = false;
        const auto old = lbk::makeInputs({&a}, spec, torch::kCPU);
        const uint64_t h = (uint64_t(5) + 1) * 1000003ULL + (uint64_t(9) + 1);
        QCOMPARE(old.bagIds[3].item<int64_t>(), int64_t(100 + h % 1000));
        QCOMPARE(uint64_t(old.bagIds[3].item<int64_t>() - 100), lbk::ngramHash(a.data(), 2, false) % 1000);
    }

    void mixingHashSpreadsBigramsOverBuckets()
    {
        // 90,000 distinct bigrams of 300 tokens in 4M buckets: a random assignment leaves about 89,000 rows
        // distinct. The multiplicative hash put them in 4,752 rows (h mod 4M is nearly linear in the tokens).
        std::set<uint64_t> mixed, multiplicative;
        for (int x = 1; x <= 300; ++x)
            for (int y = 1; y <= 300; ++y) {
                const int t[2] = {x, y};
                mixed.insert(lbk::ngramHash(t, 2) % 4000000);
                multiplicative.insert(lbk::ngramHash(t, 2, false) % 4000000);
            }
        QVERIFY2(mixed.size() > 88500, std::to_string(mixed.size()).c_str());
        QVERIFY(multiplicative.size() < 10000);
    }

    void characterNgramsAsDocumented()
    {
        // The same rows as reference/lbkmodels.py's char_ngram_rows: " graph " at lengths 2 and 3, and a
        // two-byte character counted as one.
        const std::vector<int64_t> graph = {1055, 192, 349, 989, 1025, 1087, 729, 169, 1041, 1012, 359};
        QVERIFY(lbk::charNgramRows("\xE2\x96\x81graph", 2, 3, 100, 1000) == graph);
        QVERIFY(lbk::charNgramRows("\xC3\xB6", 1, 2, 100, 1000) == std::vector<int64_t>({905, 313, 986}));
        QVERIFY(lbk::charNgramRows("", 1, 2, 100, 1000).empty());

        // In a batch they follow the token and n-gram ids of each text; control pieces (id 0 here) add none.
        lbk::ModelSpec model;
        model.type = lbk::ModelType::Bag;
        model.ngrams = 2;
        model.ngramBuckets = 1000;
        model.charNgrams = 3;
        model.charNgramsMin = 2;
        const auto spec = lbk::inputSpecFor(model, 100, -1, {"", "\xE2\x96\x81graph"});
        const std::vector<int> text = {1, 0};
        const auto b = lbk::makeInputs({&text}, spec, torch::kCPU);
        QCOMPARE(b.bagIds.numel(), int64_t(2 + 1 + 11));
        QCOMPARE(b.bagIds[3].item<int64_t>(), int64_t(1055));
        QCOMPARE(b.bagIds[13].item<int64_t>(), int64_t(359));
    }

    void fastDropoutKeepsAndScalesAsDropout()
    {
        torch::manual_seed(11);
        const auto x = torch::ones({1000, 1000}, torch::requires_grad());
        const auto y = lbk::fastDropout(x, 0.3, true);
        const auto kept = y.ne(0);
        const double share = kept.to(torch::kDouble).mean().item<double>();
        QVERIFY2(std::abs(share - 0.7) < 0.002, std::to_string(share).c_str()); // 1M draws: sd 0.00046
        QVERIFY(torch::allclose(y.masked_select(kept), torch::full({1}, 1 / 0.7)));
        // Neighbouring elements (the two halves of one draw) are independent.
        const auto a = kept.flatten().slice(0, 0, 1000000, 2).to(torch::kDouble);
        const auto b = kept.flatten().slice(0, 1, 1000000, 2).to(torch::kDouble);
        QVERIFY(std::abs((a * b).mean().item<double>() - 0.49) < 0.003);
        // The gradient is the same mask.
        y.sum().backward();
        QVERIFY(torch::equal(x.grad(), y.detach()));
        // Repeatable under manual_seed; identity when not training or p = 0.
        torch::manual_seed(11);
        QVERIFY(torch::equal(lbk::fastDropout(x, 0.3, true), y));
        QVERIFY(lbk::fastDropout(x, 0.3, false).is_same(x));
        QVERIFY(lbk::fastDropout(x, 0.0, true).is_same(x));
    }

    void transformerScoringPathMatchesTraining()
    {
        // Without autograd the encoder blocks run ATen's fused layer; it must give the module path's outputs.
        torch::manual_seed(3);
        lbk::ModelSpec spec;
        spec.type = lbk::ModelType::Transformer;
        spec.embeddingDim = 32;
        spec.hidden = 64;
        spec.layers = 2;
        spec.heads = 4;
        spec.dropout = 0.1;
        auto model = lbk::makeModel(spec, 50, 5, 16);
        model->eval();
        const std::vector<int> a = {5, 9, 2, 7, 7, 3, 11}, b = {4}, c = {8, 8, 1, 30};
        const auto in = lbk::makeInputs({&a, &b, &c}, lbk::inputSpecFor(spec, 50, -1), torch::kCPU);
        const auto modulePath = model->forward(in).detach();
        torch::NoGradGuard noGrad;
        const auto fused = model->forward(in);
        const double diff = (fused - modulePath).abs().max().item<double>();
        qInfo("fused encoder against the module path: max difference %g", diff);
        QVERIFY2(diff < 1e-5, std::to_string(diff).c_str());
    }

    void gruFusedPathMatchesModule_data()
    {
        QTest::addColumn<int>("layers");
        QTest::addColumn<QString>("pooling");
        QTest::addColumn<int>("threads"); // 2: the directions run side by side on LibTorch's threads
        QTest::newRow("1 layer, mean, 1 thread") << 1 << "mean" << 1;
        QTest::newRow("1 layer, mean, 2 threads") << 1 << "mean" << 2;
        QTest::newRow("2 layers, meanmax, 1 thread") << 2 << "meanmax" << 1;
        QTest::newRow("2 layers, meanmax, 2 threads") << 2 << "meanmax" << 2;
    }

    void gruFusedPathMatchesModule()
    {
        // The fused bidirectional GRU (engine/fusedgru.h) must give torch::nn::GRU's outputs and gradients, on
        // texts of different lengths (one token, full length, padded) in no particular order.
        QFETCH(int, layers);
        QFETCH(QString, pooling);
        QFETCH(int, threads);
        const int before = at::get_num_threads();
        lbk::setComputeThreads(threads);
        const auto restore = qScopeGuard([before] { lbk::setComputeThreads(before); });
        torch::manual_seed(11);
        lbk::ModelSpec spec;
        spec.type = lbk::ModelType::Gru;
        spec.embeddingDim = 24;
        spec.hidden = 20;
        spec.layers = layers;
        spec.pooling = lbk::fromWord<lbk::Pooling>(pooling.toStdString()).value();
        spec.dropout = 0.0; // training mode below: the two paths draw different dropout masks
        auto model = lbk::makeModel(spec, 60, 4, 16);
        auto *gru = dynamic_cast<lbk::GruModelImpl *>(model.get());
        QVERIFY(gru);
        const std::vector<int> a = {5, 9, 2, 7, 7, 3, 11}, b = {4}, c = {8, 8, 1, 30}, d = {12, 13, 14, 15, 16, 17, 18, 19,
                                                                                       20, 21, 22, 23, 24, 25, 26, 27};
        const auto in = lbk::makeInputs({&a, &b, &c, &d, &c}, lbk::inputSpecFor(spec, 60, -1), torch::kCPU);
        const auto run = [&](bool fused) {
            gru->setFused(fused);
            model->zero_grad();
            auto out = model->forward(in);
            (out * torch::arange(1, out.numel() + 1, out.options()).view_as(out)).sum().backward();
            std::vector<torch::Tensor> grads;
            for (const auto &p : model->parameters())
                grads.push_back(p.grad().clone());
            return std::make_pair(out.detach(), grads);
        };
        model->train();
        QVERIFY(!gru->foldsFirstLayer()); // training computes the input gates (dropout, gradients)
        const auto [moduleOut, moduleGrads] = run(false);
        const auto [fusedOut, fusedGrads] = run(true);
        const double outDiff = (fusedOut - moduleOut).abs().max().item<double>();
        QVERIFY2(outDiff < 1e-5, std::to_string(outDiff).c_str());
        // Each parameter's gradient (embedding, both directions of every layer, output layer) against its own size.
        const auto names = model->named_parameters().keys();
        double worst = 0;
        for (size_t i = 0; i < moduleGrads.size(); ++i) {
            const double diff = (fusedGrads[i] - moduleGrads[i]).abs().max().item<double>();
            const double scale = moduleGrads[i].abs().max().item<double>();
            QVERIFY2(scale > 0, names[i].c_str());
            worst = std::max(worst, diff / scale);
            QVERIFY2(diff <= 1e-5 * scale, (names[i] + ": " + std::to_string(diff) + " of " + std::to_string(scale)).c_str());
        }
        qInfo("fused GRU against torch::nn::GRU: outputs %g apart, gradients %g of their size", outDiff, worst);
        // Scoring (no autograd, eval mode) takes the path without saved gates; the same numbers.
        model->eval();
        torch::NoGradGuard noGrad;
        gru->setFused(false);
        const auto moduleScores = model->forward(in);
        QVERIFY(!gru->foldsFirstLayer());
        gru->setFused(true);
        QVERIFY(gru->foldsFirstLayer());
        const double scoreDiff = (model->forward(in) - moduleScores).abs().max().item<double>();
        QVERIFY2(scoreDiff < 1e-5, std::to_string(scoreDiff).c_str());
        // Scoring keeps the first layer's input gates per token; a weight changed in place (an optimizer step, a
        // loaded checkpoint) must not leave it stale.
        for (const std::string name : {"embedding.weight", "gru.weight_ih_l0_reverse", "gru.bias_ih_l0"}) {
            model->named_parameters()[name].mul_(1.5);
            gru->setFused(false);
            const auto changed = model->forward(in);
            gru->setFused(true);
            QVERIFY(!torch::allclose(changed, moduleScores));
            const double changedDiff = (model->forward(in) - changed).abs().max().item<double>();
            QVERIFY2(changedDiff < 1e-5, (name + ": " + std::to_string(changedDiff)).c_str());
        }
        // The table replaces the embedding lookup, and must refuse an id outside the vocabulary as it does,
        // without leaving a row it had not computed yet (59, new here) marked as computed.
        const auto scoreOf = [&](std::vector<int64_t> ids, bool fused) {
            lbk::Batch b;
            b.tokens = torch::tensor(ids, torch::kLong).view({1, int64_t(ids.size())});
            b.lengths = torch::tensor({int64_t(ids.size())}, torch::kLong);
            gru->setFused(fused);
            return model->forward(b);
        };
        bool refused = false;
        try {
            scoreOf({59, 60}, true);
        } catch (const c10::Error &) {
            refused = true;
        }
        QVERIFY(refused);
        const double afterRefusal = (scoreOf({59, 4}, true) - scoreOf({59, 4}, false)).abs().max().item<double>();
        QVERIFY2(afterRefusal < 1e-5, std::to_string(afterRefusal).c_str());
    }

    void recordedConfigsWithoutTheHashKeepTheOldOne()
    {
        auto cfg = lbk::withDefaults({{"name", "x"}, {"data", {{"path", "d.jsonl"}}}, {"model", {{"type", "bag"}}}});
        auto fresh = lbk::experimentFromRecorded(cfg);
        QVERIFY2(fresh, fresh ? "" : fresh.message().c_str());
        QVERIFY(fresh->model.ngramHash == lbk::NgramHash::Mix);
        cfg["model"].erase("ngram_hash");
        auto old = lbk::experimentFromRecorded(cfg);
        QVERIFY(old && old->model.ngramHash == lbk::NgramHash::Multiplicative);
        QVERIFY(lbk::inputSpecFor(old->model, 100, -1).mixHash == false);
        QVERIFY(lbk::experimentFromJson(cfg)->model.ngramHash == lbk::NgramHash::Mix);
    }
};

QTEST_GUILESS_MAIN(TestInference)
#include "tst_inference.moc"
