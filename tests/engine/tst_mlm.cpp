// Masked-language-model pre-training's parts: the masking's statistics on a large batch (the share chosen, 80/10/10,
// specials never chosen, labels), its repeatability from a seed, and the MLM head's parameters as transformers
// names them, its decoder tied to the word embeddings.
#include <QtTest>

#include <set>

#include <torch/torch.h>

#include "engine/encoder.h"
#include "engine/mlm.h"

class TestMlm : public QObject {
    Q_OBJECT

    // [rows, cols] ids in [10, vocab); every 8th position padding (0) and the first of each row special (1).
    static std::pair<torch::Tensor, torch::Tensor> batch(int64_t rows, int64_t cols, int64_t vocab)
    {
        auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
        auto ids = torch::randint(10, vocab, {rows, cols}, gen, torch::TensorOptions(torch::kLong));
        ids.index_put_({torch::indexing::Slice(), torch::indexing::Slice(torch::indexing::None, torch::indexing::None, 8)},
                       0);
        ids.index_put_({torch::indexing::Slice(), 0}, 1);
        return {ids, ids.ge(10)};
    }

private Q_SLOTS:
    void maskingStatistics()
    {
        const int64_t vocab = 5000;
        const auto [ids, maskable] = batch(256, 512, vocab);
        auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
        const lbk::MaskingOptions o{0.15, 3, vocab};
        const auto m = lbk::maskTokens(ids, maskable, o, gen);
        const auto chosen = m.labels.ne(-100);
        const double nMaskable = maskable.sum().item<double>(), nChosen = chosen.sum().item<double>();
        qInfo("%.0f maskable tokens, %.0f chosen (%.4f)", nMaskable, nChosen, nChosen / nMaskable);
        QVERIFY(std::abs(nChosen / nMaskable - 0.15) < 0.005);
        // Never a special or padded position; the label is the original id.
        QCOMPARE(chosen.logical_and(maskable.logical_not()).sum().item<int64_t>(), int64_t(0));
        QVERIFY(torch::equal(m.labels.index({chosen}), ids.index({chosen})));
        // Outside the chosen positions the input is unchanged.
        QVERIFY(torch::equal(m.inputs.index({chosen.logical_not()}), ids.index({chosen.logical_not()})));
        // Of the chosen: 80% the mask id, 10% another token, 10% unchanged (a random draw may repeat the id:
        // 1 in 5,000 here).
        const auto in = m.inputs.index({chosen}), orig = ids.index({chosen});
        const double masked = in.eq(3).sum().item<double>() / nChosen;
        const double same = in.eq(orig).sum().item<double>() / nChosen;
        const double other = 1.0 - masked - same;
        qInfo("of the chosen: mask %.4f, random %.4f, unchanged %.4f", masked, other, same);
        QVERIFY(std::abs(masked - 0.8) < 0.01);
        QVERIFY(std::abs(same - 0.1) < 0.01);
        QVERIFY(std::abs(other - 0.1) < 0.01);
        QVERIFY(in.lt(vocab).all().item<bool>() && in.ge(0).all().item<bool>());
    }

    // The same generator state gives the same masks; another seed other ones.
    void maskingRepeatsFromItsSeed()
    {
        const auto [ids, maskable] = batch(16, 64, 1000);
        const lbk::MaskingOptions o{0.15, 3, 1000};
        auto g1 = at::make_generator<at::CPUGeneratorImpl>(5), g2 = at::make_generator<at::CPUGeneratorImpl>(5),
             g3 = at::make_generator<at::CPUGeneratorImpl>(6);
        const auto a = lbk::maskTokens(ids, maskable, o, g1), b = lbk::maskTokens(ids, maskable, o, g2),
                   c = lbk::maskTokens(ids, maskable, o, g3);
        QVERIFY(torch::equal(a.inputs, b.inputs) && torch::equal(a.labels, b.labels));
        QVERIFY(!torch::equal(a.labels, c.labels));
    }

    // BertForMaskedLM's names; the decoder is the word embedding matrix, not a parameter of its own.
    void headNamedAsTransformers()
    {
        lbk::hf::EncoderConfig c;
        c.vocabSize = 50;
        c.hiddenSize = 16;
        c.layers = 1;
        c.heads = 2;
        c.intermediateSize = 32;
        c.maxPositions = 20;
        lbk::EncoderMaskedLM model(c);
        std::set<std::string> names;
        for (const auto &p : model->named_parameters())
            names.insert(p.key());
        for (const char *n : {"bert.embeddings.word_embeddings.weight", "cls.predictions.transform.dense.weight",
                              "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias",
                              "cls.predictions.bias"})
            QVERIFY2(names.count(n), n);
        QVERIFY(!names.count("cls.predictions.decoder.weight"));
        QVERIFY(!names.count("bert.pooler.dense.weight"));
        auto ids = torch::randint(4, 50, {2, 7}, torch::kLong);
        auto labels = torch::full({2, 7}, int64_t(-100));
        labels.index_put_({0, 2}, 9);
        labels.index_put_({1, 5}, 11);
        const auto [logits, kept] = model->maskedLogits(ids, torch::tensor({7, 6}), labels);
        QCOMPARE(logits.sizes().vec(), (std::vector<int64_t>{2, 50}));
        QCOMPARE(kept.sizes().vec(), (std::vector<int64_t>{2}));
        QCOMPARE(kept[0].item<int64_t>(), int64_t(9));
        // Tied: a step on the loss moves the word embeddings through the decoder too.
        torch::nn::functional::cross_entropy(logits, kept).backward();
        QVERIFY(model->named_parameters()["bert.embeddings.word_embeddings.weight"].grad().abs().sum().item<double>() > 0);
        lbk::hf::EncoderConfig r = c;
        r.family = lbk::hf::EncoderFamily::Roberta;
        lbk::EncoderMaskedLM roberta(r);
        const auto rn = roberta->named_parameters();
        QVERIFY(rn.contains("lm_head.dense.weight") && rn.contains("lm_head.layer_norm.weight") && rn.contains("lm_head.bias"));
        QCOMPARE(rn["lm_head.layer_norm.weight"].min().item<double>(), 1.0);
    }
};

QTEST_GUILESS_MAIN(TestMlm)
#include "tst_mlm.moc"
