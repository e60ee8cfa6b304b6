// core/hf: safetensors files (round trips for every dtype, the reference writer's bytes, every hostile header a
// message naming the file and the tensor, truncation), config.json checks and export, checkpoint folders, and
// their weights files checked against config.json without their values (what lbk validate and the form do).
#include <QtTest>

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

#include "experiment/checkpointfit.h"
#include "experiment/schema.h"
#include "hf/encoderconfig.h"
#include "hf/headlabels.h"
#include "hf/safetensors.h"
#include "hf/storedtensors.h"

using namespace lbk;
using namespace lbk::hf;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

QString q(const std::string &s)
{
    return QString::fromStdString(s);
}

QStringList ql(std::initializer_list<const char *> texts)
{
    QStringList out;
    for (const char *t : texts)
        out << QString::fromUtf8(t);
    return out;
}

// A safetensors file's bytes: the 8-byte little-endian header length, the header, the data.
std::string stBytes(const std::string &header, const std::string &data = {})
{
    const uint64_t n = header.size();
    std::string out(8, '\0');
    std::memcpy(out.data(), &n, 8);
    return out + header + data;
}

// Why parsing the header over dataBytes bytes of data failed; empty when it did not.
QString headerError(const std::string &header, size_t dataBytes)
{
    const std::string file = stBytes(header, std::string(dataBytes, '\0'));
    const auto r = parseSafetensorsHeader(file, file.size(), "model.safetensors");
    if (r.ok())
        return {};
    return r.error().badInput ? q(r.message()) : q("(not a bad-input error) " + r.message());
}

std::string readAll(const fs::path &p)
{
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void writeAll(const fs::path &p, const std::string &bytes)
{
    std::ofstream(p, std::ios::binary) << bytes;
}

template <typename T> std::string rawBytes(const std::vector<T> &v)
{
    return std::string(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(T));
}

QString configError(const std::string &text)
{
    const auto r = encoderConfigFromJson(json::parse(text), "/ckpt/config.json");
    if (r.ok())
        return {};
    return r.error().badInput ? q(r.message()) : q("(not a bad-input error) " + r.message());
}

// bert-base's sizes, to which a case adds or overrides keys.
json bertConfig(const json &changes = json::object())
{
    json j = {{"model_type", "bert"},           {"vocab_size", 30522},       {"hidden_size", 768},
              {"num_hidden_layers", 12},        {"num_attention_heads", 12}, {"intermediate_size", 3072},
              {"max_position_embeddings", 512}, {"type_vocab_size", 2},      {"hidden_act", "gelu"}};
    for (auto it = changes.begin(); it != changes.end(); ++it) {
        if (it.value().is_null())
            j.erase(it.key());
        else
            j[it.key()] = it.value();
    }
    return j;
}

const fs::path kFixtures = fs::path(LABBOOK_SOURCE_DIR) / "tests" / "fixtures" / "hf" / "folders";

} // namespace

class TestHf : public QObject {
    Q_OBJECT
    std::unique_ptr<QTemporaryDir> m_tmp;

    fs::path tmp(const std::string &name) const { return fs::path(m_tmp->path().toStdString()) / name; }

    // A fresh folder with the fixture's config.json (when given) and empty files of the given names.
    fs::path folderWith(const std::string &name, const std::string &fixture, const std::vector<std::string> &files)
    {
        const fs::path dir = tmp(name);
        fs::remove_all(dir);
        fs::create_directories(dir);
        if (!fixture.empty())
            fs::copy_file(kFixtures / fixture / "config.json", dir / "config.json");
        for (const auto &f : files)
            writeAll(dir / f, "");
        return dir;
    }


    // A tiny BERT checkpoint folder (vocabulary 20, hidden 4, 2 layers, feed-forward 8, 16 positions): config.json,
    // vocab.txt and model.safetensors with the tensors checkpoints check, zeros. `edit` changes the tensors first.
    fs::path tinyBert(const std::string &name, const std::function<void(std::vector<TensorView> &)> &edit = {})
    {
        const fs::path dir = tmp(name);
        fs::remove_all(dir);
        fs::create_directories(dir);
        writeAll(dir / "config.json", bertConfig({{"vocab_size", 20}, {"hidden_size", 4}, {"num_hidden_layers", 2},
                                                  {"num_attention_heads", 2}, {"intermediate_size", 8},
                                                  {"max_position_embeddings", 16}})
                                          .dump());
        writeAll(dir / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\n");
        static const std::vector<float> zeros(128);
        static const std::vector<int64_t> ids(16);
        const auto f32 = [](std::string n, std::vector<int64_t> shape) {
            return TensorView{std::move(n), DType::F32, shape, zeros.data(), size_t(shape[0] * shape[1] * 4)};
        };
        std::vector<TensorView> t = {f32("bert.embeddings.word_embeddings.weight", {20, 4}),
                                     f32("bert.embeddings.position_embeddings.weight", {16, 4}),
                                     f32("bert.embeddings.token_type_embeddings.weight", {2, 4}),
                                     {"bert.embeddings.position_ids", DType::I64, {1, 16}, ids.data(), 16 * 8},
                                     f32("cls.predictions.transform.dense.weight", {4, 4})};
        for (const std::string layer : {"bert.encoder.layer.0.", "bert.encoder.layer.1."}) {
            t.push_back(f32(layer + "attention.self.query.weight", {4, 4}));
            t.push_back(f32(layer + "attention.output.dense.weight", {4, 4}));
            t.push_back(f32(layer + "intermediate.dense.weight", {8, 4}));
            t.push_back(f32(layer + "output.dense.weight", {4, 8}));
        }
        if (edit)
            edit(t);
        for (auto &v : t) // the bytes the (edited) shape holds; the zeros are long enough for every case
            v.bytes = size_t(v.shape[0] * v.shape[1]) * dtypeSize(v.dtype);
        const Status written = writeSafetensors(dir / "model.safetensors", t);
        [&] { QVERIFY2(written.ok(), written.ok() ? "" : written.message().c_str()); }();
        return dir;
    }

    // The message checkWeightsFiles gives the folder ("" when it fits).
    static std::string weightsProblem(const fs::path &dir, bool allowMissing = false)
    {
        auto f = inspectCheckpointFolder(dir);
        if (!f)
            return "inspect: " + f.message();
        const Status s = checkWeightsFiles(*f, allowMissing);
        return s.ok() ? std::string() : s.message();
    }

private Q_SLOTS:
    void initTestCase()
    {
        fs::create_directories(LABBOOK_TEST_TMP);
        m_tmp = std::make_unique<QTemporaryDir>(QStringLiteral(LABBOOK_TEST_TMP "/tst_hf-XXXXXX"));
        QVERIFY(m_tmp->isValid());
    }

    // ---- safetensors: writing and reading back ----

    void roundTrip_data()
    {
        QTest::addColumn<int>("dtype");
        QTest::addColumn<QList<float>>("values");   // what is written (narrowed for F16 and BF16, truncated for I64)
        QTest::addColumn<QList<float>>("expected"); // what toFloat gives back
        QTest::newRow("F32") << int(DType::F32) << QList<float>{1.5f, -2.25f, 3e-30f, 1e30f, 0.1f, -0.0f}
                             << QList<float>{1.5f, -2.25f, 3e-30f, 1e30f, 0.1f, -0.0f};
        // F16: 0.1 rounds to 0.0999755859375; 65504 is the largest; 1e-7 becomes a subnormal (2 * 2^-24).
        QTest::newRow("F16") << int(DType::F16) << QList<float>{1.5f, -2.25f, 0.1f, 65504.0f, 1e-7f, -0.0f}
                             << QList<float>{1.5f, -2.25f, 0.0999755859375f, 65504.0f, 1.1920928955078125e-07f, -0.0f};
        // BF16 (values as torch gives them): 0.1 -> 0.10009765625; 1 + 2^-8 is a tie and rounds to even (1);
        // 1 + 3 * 2^-8 rounds up.
        QTest::newRow("BF16") << int(DType::BF16) << QList<float>{0.1f, 1.00390625f, 1.01171875f, -3.0f, 1e30f, 0.0f}
                              << QList<float>{0.10009765625f, 1.0f, 1.015625f, -3.0f, 1.0002555517425873e30f, 0.0f};
        QTest::newRow("I64") << int(DType::I64) << QList<float>{0, -1, 42, 30521, 1e9f, -7}
                             << QList<float>{0, -1, 42, 30521, 1e9f, -7};
    }

    void roundTrip()
    {
        QFETCH(int, dtype);
        QFETCH(QList<float>, values);
        QFETCH(QList<float>, expected);
        const auto d = DType(dtype);
        std::string data;
        for (float v : values) {
            if (d == DType::F32)
                data += rawBytes(std::vector<float>{v});
            else if (d == DType::F16)
                data += rawBytes(std::vector<uint16_t>{floatToF16(v)});
            else if (d == DType::BF16)
                data += rawBytes(std::vector<uint16_t>{floatToBf16(v)});
            else
                data += rawBytes(std::vector<int64_t>{int64_t(v)});
        }
        const fs::path p = tmp("roundtrip-" + std::string(dtypeName(d)) + ".safetensors");
        const std::vector<TensorView> views = {
            {"encoder.weight", d, {2, 3}, data.data(), data.size()},
            {"empty", d, {0, 4}, nullptr, 0},
        };
        const Status written = writeSafetensors(p, views, {{"format", "pt"}});
        QVERIFY2(written.ok(), written.ok() ? "" : written.message().c_str());

        auto file = SafetensorsFile::open(p);
        QVERIFY2(file.ok(), file.ok() ? "" : file.message().c_str());
        const SafetensorsHeader &h = (*file)->header();
        QCOMPARE(h.tensors.size(), size_t(2));
        QCOMPARE(q(h.tensors[0].name), QStringLiteral("empty")); // sorted by name
        QCOMPARE(h.metadata, (std::map<std::string, std::string>{{"format", "pt"}}));
        QCOMPARE(h.dataOffset % 8, uint64_t(0));
        const TensorInfo *t = h.find("encoder.weight");
        QVERIFY(t);
        QVERIFY(!h.find("encoder"));
        QCOMPARE(t->dtype, d);
        QCOMPARE(t->shape, (std::vector<int64_t>{2, 3}));
        QCOMPARE(t->elements(), int64_t(6));
        QCOMPARE((*file)->bytes(*t), std::string_view(data));
        const std::vector<float> back = (*file)->toFloat(*t);
        QCOMPARE(QList<float>(back.begin(), back.end()), expected);
        QCOMPARE(std::signbit(back[5]), std::signbit(expected[5]));
        QVERIFY((*file)->toFloat(*h.find("empty")).empty());
    }

    // Checked once against torch 1.13 (20,000 random floats over a wide range of magnitudes and every half value
    // both ways: no difference); these are the edges of that check.
    void narrowing_data()
    {
        QTest::addColumn<float>("value");
        QTest::addColumn<uint>("bf16");
        QTest::addColumn<uint>("f16");
        QTest::newRow("one") << 1.0f << 0x3f80u << 0x3c00u;
        QTest::newRow("tie to even, down") << 1.00390625f << 0x3f80u << 0x3c04u;
        QTest::newRow("tie to even, up") << 1.01171875f << 0x3f82u << 0x3c0cu;
        QTest::newRow("largest half") << 65504.0f << 0x4780u << 0x7bffu;
        QTest::newRow("half overflows at 65520") << 65520.0f << 0x4780u << 0x7c00u;
        QTest::newRow("just below 65520") << 65519.99f << 0x4780u << 0x7bffu;
        QTest::newRow("smallest half subnormal") << 5.9604644775390625e-08f << 0x3380u << 0x0001u;
        QTest::newRow("half of it rounds to zero") << 2.98023223876953125e-08f << 0x3300u << 0x0000u;
        QTest::newRow("subnormal rounds to the smallest normal") << 6.1035156e-05f << 0x3880u << 0x0400u;
        QTest::newRow("bf16 overflow") << std::numeric_limits<float>::max() << 0x7f80u << 0x7c00u;
        QTest::newRow("minus infinity") << -std::numeric_limits<float>::infinity() << 0xff80u << 0xfc00u;
        QTest::newRow("minus zero") << -0.0f << 0x8000u << 0x8000u;
    }

    void narrowing()
    {
        QFETCH(float, value);
        QFETCH(uint, bf16);
        QFETCH(uint, f16);
        QCOMPARE(uint(floatToBf16(value)), bf16);
        QCOMPARE(uint(floatToF16(value)), f16);
        QVERIFY(std::isnan(bf16ToFloat(floatToBf16(std::numeric_limits<float>::quiet_NaN()))));
        QVERIFY(std::isnan(f16ToFloat(floatToF16(std::numeric_limits<float>::quiet_NaN()))));
    }

    void everyHalfWidensExactly()
    {
        for (uint32_t h = 0; h < 0x10000; ++h) {
            const float f = f16ToFloat(uint16_t(h)), b = bf16ToFloat(uint16_t(h));
            const bool nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
            QCOMPARE(std::isnan(f), nan);
            if (!nan)
                QCOMPARE(uint(floatToF16(f)), uint(h));
            if (!std::isnan(b))
                QCOMPARE(uint(floatToBf16(b)), uint(h));
        }
        QCOMPARE(f16ToFloat(0x0001), 5.9604644775390625e-08f);
        QCOMPARE(f16ToFloat(0x7bff), 65504.0f);
        QCOMPARE(f16ToFloat(0xc000), -2.0f);
    }

    // The reference writer's bytes, worked out by hand: header "__metadata__" first, padded with spaces to a
    // multiple of 8 (85 -> 88 bytes), then the data.
    void writesTheReferenceBytes()
    {
        const std::vector<float> a = {1.0f, 2.0f};
        const fs::path p = tmp("reference.safetensors");
        QVERIFY(writeSafetensors(p, {{"a", DType::F32, {2}, a.data(), 8}}, {{"format", "pt"}}).ok());
        const std::string expected =
            std::string("\x58\0\0\0\0\0\0\0", 8) +
            R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})" + "   " +
            std::string("\x00\x00\x80\x3f\x00\x00\x00\x40", 8);
        QCOMPARE(readAll(p), expected);
    }

    // Mixed dtypes: the data ordered as the reference writer orders it (I64, F32, BF16, F16; by name within one),
    // so every tensor sits aligned to its element size; the header's names sorted.
    void mixedDtypesAreAligned()
    {
        const std::vector<uint16_t> half = {floatToF16(1), floatToF16(2), floatToF16(3)};
        const std::vector<uint16_t> brain = {floatToBf16(4)};
        const std::vector<float> single = {5, 6, 7};
        const std::vector<int64_t> ids = {8, -9};
        const fs::path p = tmp("mixed.safetensors");
        const Status s = writeSafetensors(p, {{"z.half", DType::F16, {3}, half.data(), 6},
                                              {"b.brain", DType::BF16, {1, 1}, brain.data(), 2},
                                              {"m.single", DType::F32, {3}, single.data(), 12},
                                              {"a.single", DType::F32, {0}, nullptr, 0},
                                              {"y.ids", DType::I64, {2}, ids.data(), 16}});
        QVERIFY(s.ok());
        auto file = SafetensorsFile::open(p);
        QVERIFY2(file.ok(), file.ok() ? "" : file.message().c_str());
        const SafetensorsHeader &h = (*file)->header();
        QStringList names;
        for (const auto &t : h.tensors) {
            names << q(t.name);
            QCOMPARE((h.dataOffset + t.begin) % dtypeSize(t.dtype), uint64_t(0));
        }
        QCOMPARE(names, (ql({"a.single", "b.brain", "m.single", "y.ids", "z.half"})));
        QCOMPARE(h.find("y.ids")->begin, uint64_t(0));
        QCOMPARE(h.find("m.single")->begin, uint64_t(16));
        QCOMPARE(h.find("b.brain")->begin, uint64_t(28));
        QCOMPARE(h.find("z.half")->begin, uint64_t(30));
        QCOMPARE((*file)->toFloat(*h.find("z.half")), (std::vector<float>{1, 2, 3}));
        QCOMPARE((*file)->toFloat(*h.find("y.ids")), (std::vector<float>{8, -9}));
        QCOMPARE((*file)->toFloat(*h.find("b.brain")), (std::vector<float>{4}));
        QVERIFY(h.metadata.empty());
        // The file ends where the last tensor does: nothing for the reference reader to call incomplete.
        QCOMPARE(uint64_t(fs::file_size(p)), h.dataOffset + 36);
    }

    // A file as the reference writer lays out torch's save_file({"w": bf16 2x2, "ids": int64 [7, -1]}) (no
    // metadata): I64 first, the header in data order, padded from 115 to 120 bytes. Bytes worked out by hand.
    void readsAHandWrittenFile()
    {
        const std::string header =
            R"({"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"w":{"dtype":"BF16","shape":[2,2],"data_offsets":[16,24]}})"
            "     ";
        QCOMPARE(header.size(), size_t(120));
        const std::string data = std::string("\x07\0\0\0\0\0\0\0", 8) + std::string(8, '\xff') + // 7, -1
                                 std::string("\x80\x3f\x00\x40\x40\x40\x80\x40", 8);             // 1, 2, 3, 4
        const fs::path p = tmp("handwritten.safetensors");
        writeAll(p, stBytes(header, data));
        auto file = SafetensorsFile::open(p);
        QVERIFY2(file.ok(), file.ok() ? "" : file.message().c_str());
        const auto &h = (*file)->header();
        QCOMPARE(h.dataOffset, uint64_t(128));
        QCOMPARE((*file)->toFloat(*h.find("ids")), (std::vector<float>{7, -1}));
        QCOMPARE((*file)->toFloat(*h.find("w")), (std::vector<float>{1, 2, 3, 4}));
        QCOMPARE(h.find("w")->shape, (std::vector<int64_t>{2, 2}));
    }

    void overwritesAtomically()
    {
        const fs::path dir = tmp("atomic");
        fs::create_directories(dir);
        const std::vector<float> one = {1}, two = {2, 2};
        QVERIFY(writeSafetensors(dir / "m.safetensors", {{"x", DType::F32, {1}, one.data(), 4}}).ok());
        QVERIFY(writeSafetensors(dir / "m.safetensors", {{"x", DType::F32, {2}, two.data(), 8}}).ok());
        auto file = SafetensorsFile::open(dir / "m.safetensors");
        QVERIFY(file.ok());
        QCOMPARE((*file)->toFloat((*file)->header().tensors[0]), two);
        // A view that does not match its shape writes nothing and leaves the file as it was.
        const Status bad = writeSafetensors(dir / "m.safetensors", {{"x", DType::F32, {3}, two.data(), 8}});
        QVERIFY(!bad.ok());
        QVERIFY2(bad.message().find("tensor 'x'") != std::string::npos, bad.message().c_str());
        QCOMPARE(size_t(std::distance(fs::directory_iterator(dir), fs::directory_iterator())), size_t(1));
        QCOMPARE(uint64_t(fs::file_size(dir / "m.safetensors")), (*file)->header().dataOffset + 8);
    }

    void writeErrors_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("expected");
        QTest::newRow("shape and bytes disagree") << "size"
                                                  << "8 bytes given, but the shape holds 3 elements of F32";
        QTest::newRow("reserved name") << "__metadata__"
                                       << "reserved";
        QTest::newRow("twice") << "twice"
                               << "given twice";
        QTest::newRow("not UTF-8") << "notutf8"
                                   << "not UTF-8";
        QTest::newRow("no folder") << "nofolder"
                                   << "cannot write";
    }

    void writeErrors()
    {
        QFETCH(QString, name);
        QFETCH(QString, expected);
        const std::vector<float> v = {1, 2};
        std::vector<TensorView> views = {
            {name.toStdString(), DType::F32, {name == QLatin1String("size") ? 3 : 2}, v.data(), 8}};
        if (name == QLatin1String("twice"))
            views.push_back(views.front());
        if (name == QLatin1String("notutf8"))
            views.front().name = "bad\xff";
        const fs::path p =
            name == QLatin1String("nofolder") ? tmp("no/such/folder/m.safetensors") : tmp("errors.safetensors");
        const Status s = writeSafetensors(p, views);
        QVERIFY(!s.ok());
        QVERIFY2(q(s.message()).contains(expected), s.message().c_str());
        QVERIFY2(q(s.message()).contains(q(p.string())), s.message().c_str());
        QVERIFY(!fs::exists(p));
    }

    // ---- safetensors: hostile and broken headers ----

    void badHeader_data()
    {
        QTest::addColumn<QString>("header");
        QTest::addColumn<int>("dataBytes");
        QTest::addColumn<QStringList>("expected"); // each must appear in the message, besides the file's name

        const auto ones = [](int n) {
            std::string out = "1";
            for (int i = 1; i < n; ++i)
                out += ",1";
            return out;
        };
        const auto f32 = [](const char *name, int n, int begin, int end) {
            return "\"" + std::string(name) + "\":{\"dtype\":\"F32\",\"shape\":[" + std::to_string(n) +
                   "],\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(end) + "]}";
        };
        QTest::newRow("not JSON") << "{\"a\": " << 0 << ql({"not valid JSON"});
        QTest::newRow("a list") << "[1, 2]" << 0 << ql({"not a JSON object"});
        QTest::newRow("a number") << "5" << 0 << ql({"not a JSON object"});
        QTest::newRow("empty") << "" << 0 << ql({"not valid JSON"});
        QTest::newRow("entry not an object") << "{\"w\": 5}" << 0 << ql({"tensor 'w'", "not an object"});
        QTest::newRow("entry a list") << "{\"w\": [1]}" << 0 << ql({"tensor 'w'", "is a list"});
        QTest::newRow("no dtype") << "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}" << 4
                                  << ql({"tensor 'w'", "no 'dtype'"});
        QTest::newRow("unknown dtype") << "{\"w\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}" << 4
                                       << ql({"tensor 'w'", "unknown dtype 'Q4'", "supported: F32"});
        QTest::newRow("unsupported dtype") << "{\"w\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}" << 8
                                           << ql({"tensor 'w'", "dtype 'F64' is not supported"});
        QTest::newRow("no shape") << "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}" << 4
                                  << ql({"tensor 'w'", "no 'shape'"});
        QTest::newRow("negative dim") << "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,4]}}" << 4
                                      << ql({"tensor 'w'", "shape [2, -1] has a negative dimension"});
        QTest::newRow("fractional dim") << "{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,4]}}" << 4
                                        << ql({"tensor 'w'", "other than non-negative integers"});
        QTest::newRow("product overflows")
            << "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,2],\"data_offsets\":[0,4]}}" << 4
            << ql({"tensor 'w'", "more elements than 63 bits"});
        QTest::newRow("bytes overflow")
            << "{\"w\":{\"dtype\":\"I64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,8]}}" << 8
            << ql({"tensor 'w'", "more bytes than 64 bits"});
        QTest::newRow("dim beyond uint64")
            << "{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999999],\"data_offsets\":[0,4]}}" << 4
            << ql({"tensor 'w'", "other than non-negative integers"});
        QTest::newRow("no offsets") << "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}" << 4
                                    << ql({"tensor 'w'", "no 'data_offsets'"});
        QTest::newRow("one offset") << "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}" << 4
                                    << ql({"tensor 'w'", "not two non-negative integers"});
        QTest::newRow("negative offset") << "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}" << 4
                                         << ql({"tensor 'w'", "not two non-negative integers"});
        QTest::newRow("end before begin") << "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}" << 8
                                          << ql({"tensor 'w'", "[8, 4] end before they begin"});
        QTest::newRow("size disagrees") << q("{" + f32("w", 6, 0, 20) + "}") << 24
                                        << ql({"tensor 'w'", "[0, 20] hold 20 bytes, but shape [6] of F32 "
                                                             "needs 24"});
        QTest::newRow("overlap") << q("{" + f32("a", 2, 0, 8) + "," + f32("b", 2, 4, 12) + "}") << 12
                                 << ql({"tensor 'b'", "[4, 12] overlap those of tensor 'a' [0, 8]"});
        QTest::newRow("overlap inside") << q("{" + f32("a", 4, 0, 16) + "," + f32("b", 1, 4, 8) + "}") << 16
                                        << ql({"tensor 'b'", "overlap those of tensor 'a'"});
        QTest::newRow("duplicate name") << q("{" + f32("a", 1, 0, 4) + "," + f32("a", 1, 4, 8) + "}") << 8
                                        << ql({"tensor 'a'", "appears twice"});
        QTest::newRow("duplicate key") << "{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],"
                                          "\"data_offsets\":[0,4]}}"
                                       << 4 << ql({"tensor 'w'", "key 'dtype' appears twice"});
        QTest::newRow("nested too deep") << "{\"w\":{\"dtype\":\"F32\",\"shape\":[[1]],\"data_offsets\":[0,4]}}" << 4
                                         << ql({"tensor 'w'", "'shape' is nested deeper"});
        QTest::newRow("rank over 64") << q("{\"w\":{\"dtype\":\"F32\",\"shape\":[" + ones(70) +
                                           "],\"data_offsets\":[0,4]}}")
                                      << 4 << ql({"tensor 'w'", "'shape' has more than 64 items"});
        QTest::newRow("metadata of numbers") << "{\"__metadata__\":{\"format\":\"pt\",\"epoch\":3}}" << 0
                                             << ql({"__metadata__", "'epoch' is 3, not a string"});
        QTest::newRow("metadata a list") << "{\"__metadata__\":[\"pt\"]}" << 0
                                         << ql({"__metadata__", "not an object of strings"});
        QTest::newRow("metadata a string")
            << "{\"__metadata__\":\"pt\"}" << 0 << ql({"__metadata__", "not an object of strings"});
        QTest::newRow("metadata twice") << "{\"__metadata__\":{},\"__metadata__\":{}}" << 0
                                        << ql({"__metadata__", "appears twice"});
        QTest::newRow("runs past the end")
            << "{\"bert.embeddings\":{\"dtype\":\"F16\",\"shape\":[5],\"data_offsets\":[0,10]},"
               "\"bert.pooler.dense.weight\":{\"dtype\":\"F16\",\"shape\":[5],\"data_offsets\":[10,20]}}"
            << 16
            << ql({"model.safetensors: tensor 'bert.pooler.dense.weight': data_offsets [10, 20] run past the "
                   "end of the data (16 bytes)"});
        QTest::newRow("offsets far past the end")
            << "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[18446744073709551608,18446744073709551612]}}"
            << 4 << ql({"tensor 'w'", "run past the end of the data (4 bytes)"});
    }

    void badHeader()
    {
        QFETCH(QString, header);
        QFETCH(int, dataBytes);
        QFETCH(QStringList, expected);
        const QString message = headerError(header.toStdString(), size_t(dataBytes));
        QVERIFY2(message.startsWith(QStringLiteral("model.safetensors: ")), qPrintable(message));
        for (const QString &e : expected)
            QVERIFY2(message.contains(e), qPrintable(message));
    }

    void acceptedHeaders_data()
    {
        QTest::addColumn<QString>("header");
        QTest::addColumn<int>("dataBytes");
        QTest::addColumn<int>("tensors");
        QTest::newRow("no tensors") << "{}" << 0 << 0;
        QTest::newRow("only metadata, padded") << "{\"__metadata__\":{\"format\":\"pt\"}}      " << 0 << 0;
        QTest::newRow("null metadata") << "{\"__metadata__\":null}" << 0 << 0;
        QTest::newRow("any order of offsets") << "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                                 "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}"
                                              << 8 << 2;
        // Holes are accepted (the file comment of safetensors.cpp says why); overlaps are not.
        QTest::newRow("a hole between tensors") << "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                                   "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}"
                                                << 16 << 2;
        QTest::newRow("empty tensors share an offset")
            << "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2,0],\"data_offsets\":[4,4]},"
               "\"c\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"
            << 8 << 3;
        QTest::newRow("unknown keys ignored")
            << "{\"a\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8],\"note\":\"x\"}}" << 8 << 1;
    }

    void acceptedHeaders()
    {
        QFETCH(QString, header);
        QFETCH(int, dataBytes);
        QFETCH(int, tensors);
        const std::string file = stBytes(header.toStdString(), std::string(size_t(dataBytes), '\0'));
        const auto r = parseSafetensorsHeader(file, file.size(), "model.safetensors");
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
        QCOMPARE(int(r->tensors.size()), tensors);
        QCOMPARE(r->dataOffset, uint64_t(8 + header.toStdString().size()));
        for (size_t i = 1; i < r->tensors.size(); ++i)
            QVERIFY(r->tensors[i - 1].name < r->tensors[i].name);
    }

    // The 8-byte length itself: too short a file, a length over the limit or past the end. Nothing is allocated
    // from the claimed length (a length of 2^64 - 1 over 8 bytes must not try).
    void headerLength_data()
    {
        QTest::addColumn<QByteArray>("file");
        QTest::addColumn<qulonglong>("fileSize");
        QTest::addColumn<QString>("expected");
        const auto length = [](uint64_t n) { return QByteArray(reinterpret_cast<const char *>(&n), 8); };
        QTest::newRow("empty file") << QByteArray() << 0ull << "file is too short to be safetensors (0 bytes";
        QTest::newRow("five bytes") << QByteArray("\x02\0\0\0\0", 5) << 5ull << "too short";
        QTest::newRow("over 100 MB") << length(100'000'001) << 200'000'000ull << "over the format's limit of 100 MB";
        QTest::newRow("all ones") << length(~uint64_t(0)) << 8ull << "over the format's limit";
        QTest::newRow("past the end") << length(100) + "{}" << 10ull
                                      << "header length 100 runs past the end of the file (10 bytes)";
    }

    void headerLength()
    {
        QFETCH(QByteArray, file);
        QFETCH(qulonglong, fileSize);
        QFETCH(QString, expected);
        const auto r = parseSafetensorsHeader(std::string_view(file.constData(), size_t(file.size())), fileSize,
                                              "model.safetensors");
        QVERIFY(!r.ok());
        QVERIFY(r.error().badInput);
        QVERIFY2(q(r.message()).startsWith(QStringLiteral("model.safetensors: ")), r.message().c_str());
        QVERIFY2(q(r.message()).contains(expected), r.message().c_str());
    }

    void truncatedFile()
    {
        const std::vector<float> v(6, 1.0f);
        const fs::path p = tmp("truncated.safetensors");
        QVERIFY(writeSafetensors(p, {{"a", DType::F32, {2}, v.data(), 8}, {"b", DType::F32, {4}, v.data(), 16}}).ok());
        const uint64_t full = fs::file_size(p);
        fs::resize_file(p, full - 5);
        auto file = SafetensorsFile::open(p);
        QVERIFY(!file.ok());
        QVERIFY(file.error().badInput);
        QCOMPARE(q(file.message()), q(p.string() + ": file is truncated: header says 24 bytes of data, file has 19 "
                                                    "(a download that stopped early? fetch it again)"));

        fs::resize_file(p, 20); // cut inside the header
        file = SafetensorsFile::open(p);
        QVERIFY(!file.ok());
        QVERIFY2(q(file.message()).contains(QStringLiteral("runs past the end of the file (20 bytes)")),
                 file.message().c_str());
        QVERIFY(q(file.message()).startsWith(q(p.string())));
    }

    void openErrors()
    {
        auto missing = SafetensorsFile::open(tmp("missing.safetensors"));
        QVERIFY(!missing.ok());
        QVERIFY(missing.error().badInput);
        QVERIFY2(q(missing.message()).contains(QStringLiteral("missing.safetensors: cannot open")),
                 missing.message().c_str());
        auto folder = SafetensorsFile::open(tmp(""));
        QVERIFY(!folder.ok());
        QVERIFY2(q(folder.message()).contains(QStringLiteral("not a regular file")), folder.message().c_str());
        writeAll(tmp("empty.safetensors"), "");
        auto empty = SafetensorsFile::open(tmp("empty.safetensors"));
        QVERIFY(!empty.ok());
        QVERIFY2(q(empty.message()).contains(QStringLiteral("too short")), empty.message().c_str());
        writeAll(tmp("garbage.safetensors"),
                 stBytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", "abcd"));
        auto garbage = SafetensorsFile::open(tmp("garbage.safetensors"));
        QVERIFY(!garbage.ok());
        QVERIFY2(q(garbage.message()).contains(QStringLiteral("garbage.safetensors: the header is not valid JSON")),
                 garbage.message().c_str());
    }

    // ---- config.json ----

    void bertFixture()
    {
        auto c = readEncoderConfig(kFixtures / "bert");
        QVERIFY2(c.ok(), c.ok() ? "" : c.message().c_str());
        QCOMPARE(c->family, EncoderFamily::Bert);
        QCOMPARE(c->vocabSize, 31090);
        QCOMPARE(c->hiddenSize, 768);
        QCOMPARE(c->layers, 12);
        QCOMPARE(c->heads, 12);
        QCOMPARE(c->intermediateSize, 3072);
        QCOMPARE(c->typeVocabSize, 2);
        QCOMPARE(c->padTokenId, 0);
        QCOMPARE(c->layerNormEps, 1e-12);
        QCOMPARE(c->activation, Activation::GeluErf);
        QCOMPARE(c->positionOffset(), 0);
        QCOMPARE(c->maxTokens(), 512);
        QVERIFY(c->id2label.empty());
        QCOMPARE(c->raw["initializer_range"].get<double>(), 0.02);
    }

    // An experiment that asks for more tokens than the checkpoint has positions, or other sizes: each named, with
    // the fix that applies to it (lowering max_tokens; the sizes follow the checkpoint once removed).
    void contradictionsSayWhatToChange()
    {
        auto c = readEncoderConfig(kFixtures / "bert");
        QVERIFY(c.ok());
        auto e = experimentFromJson({{"data", {{"path", "a"}}}, {"model", {{"type", "encoder"}}},
                                     {"tokenizer", {{"max_tokens", 1024}}}});
        QVERIFY(e.ok());
        auto said = checkpointContradictions(*e, *c, "bert/config.json");
        QVERIFY(said);
        QVERIFY2(said->find("lower tokenizer.max_tokens to 512 or less") != std::string::npos, said->c_str());
        QVERIFY2(said->find("remove the model fields") == std::string::npos, said->c_str());
        e = experimentFromJson({{"data", {{"path", "a"}}}, {"model", {{"type", "encoder"}, {"layers", 4}}}});
        said = checkpointContradictions(*e, *c, "bert/config.json");
        QVERIFY(said);
        QVERIFY2(said->find("model.layers is 4 but bert/config.json has num_hidden_layers 12 (remove the model fields") !=
                     std::string::npos,
                 said->c_str());
    }

    void robertaFixture()
    {
        auto c = readEncoderConfig(kFixtures / "roberta");
        QVERIFY2(c.ok(), c.ok() ? "" : c.message().c_str());
        QCOMPARE(c->family, EncoderFamily::Roberta);
        QCOMPARE(c->vocabSize, 50265);
        QCOMPARE(c->maxPositions, 514);
        QCOMPARE(c->padTokenId, 1);
        QCOMPARE(c->typeVocabSize, 1);
        QCOMPARE(c->layerNormEps, 1e-5);
        QCOMPARE(c->positionOffset(), 2);
        QCOMPARE(c->maxTokens(), 512);
        // Without pad_token_id, transformers' RobertaConfig default (1).
        json j = c->raw;
        j.erase("pad_token_id");
        auto d = encoderConfigFromJson(j, "x");
        QVERIFY(d.ok());
        QCOMPARE(d->padTokenId, 1);
        QCOMPARE(d->positionOffset(), 2);
    }

    void activations_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("activation");
        QTest::newRow("gelu") << "gelu" << int(Activation::GeluErf);
        QTest::newRow("gelu_new") << "gelu_new" << int(Activation::GeluTanh);
        QTest::newRow("gelu_pytorch_tanh") << "gelu_pytorch_tanh" << int(Activation::GeluTanh);
        QTest::newRow("relu") << "relu" << int(Activation::Relu);
    }

    void activations()
    {
        QFETCH(QString, name);
        QFETCH(int, activation);
        auto c = encoderConfigFromJson(bertConfig({{"hidden_act", name.toStdString()}}), "x");
        QVERIFY(c.ok());
        QCOMPARE(int(c->activation), activation);
        QCOMPARE(q(c->hiddenAct), name);
    }

    void configErrors_data()
    {
        QTest::addColumn<QString>("changes"); // JSON merged into bert-base's config; null removes a key
        QTest::addColumn<QString>("expected");
        QTest::newRow("gpt2") << R"({"model_type": "gpt2"})"
                              << "/ckpt/config.json: model_type 'gpt2' is not supported (supported: bert, roberta)";
        QTest::newRow("no model_type") << R"({"model_type": null})"
                                       << "/ckpt/config.json: model_type is missing (supported: bert, roberta)";
        QTest::newRow("no hidden_size") << R"({"hidden_size": null})"
                                        << "/ckpt/config.json: hidden_size is missing";
        QTest::newRow("no vocab_size") << R"({"vocab_size": null})"
                                       << "/ckpt/config.json: vocab_size is missing";
        QTest::newRow("no layers") << R"({"num_hidden_layers": null})"
                                   << "num_hidden_layers is missing";
        QTest::newRow("hidden_size a string") << R"({"hidden_size": "768"})"
                                              << "hidden_size must be a positive integer, not \"768\"";
        QTest::newRow("hidden_size fractional") << R"({"hidden_size": 76.8})"
                                                << "hidden_size must be a positive";
        QTest::newRow("zero heads") << R"({"num_attention_heads": 0})"
                                    << "num_attention_heads must be a positive integer, not 0";
        QTest::newRow("negative layers") << R"({"num_hidden_layers": -2})"
                                         << "num_hidden_layers must be a positive";
        QTest::newRow("too large") << R"({"intermediate_size": 99999999999})"
                                   << "intermediate_size must be a positive";
        QTest::newRow("not divisible")
            << R"({"hidden_size": 100})"
            << "/ckpt/config.json: hidden_size 100 is not divisible by num_attention_heads 12";
        QTest::newRow("unknown hidden_act") << R"({"hidden_act": "swish"})"
                                            << "/ckpt/config.json: hidden_act 'swish' is not supported (supported: "
                                               "gelu, gelu_python, gelu_new";
        QTest::newRow("hidden_act not a string") << R"({"hidden_act": 1})"
                                                 << "hidden_act must be a string";
        QTest::newRow("pad beyond vocabulary") << R"({"pad_token_id": 30522})"
                                               << "pad_token_id 30522 is not below vocab_size 30522";
        QTest::newRow("negative pad") << R"({"pad_token_id": -1})"
                                      << "pad_token_id must be a non-negative integer";
        QTest::newRow("roberta without positions")
            << R"({"model_type": "roberta", "pad_token_id": 1, "max_position_embeddings": 2})"
            << "max_position_embeddings 2 leaves no positions: RoBERTa's start at pad_token_id + 1 = 2";
        QTest::newRow("relative positions") << R"({"position_embedding_type": "relative_key"})"
                                            << "position_embedding_type 'relative_key' is not supported";
        QTest::newRow("eps zero") << R"({"layer_norm_eps": 0})"
                                  << "layer_norm_eps must be a positive number";
        QTest::newRow("dropout one") << R"({"hidden_dropout_prob": 1.0})"
                                     << "hidden_dropout_prob must be a number";
        QTest::newRow("id2label a list") << R"({"id2label": ["a"]})"
                                         << "id2label must be an object";
        QTest::newRow("id2label key") << R"({"id2label": {"zero": "a"}})"
                                      << "id2label key 'zero' is not a label id";
        QTest::newRow("id2label gap") << R"({"id2label": {"0": "a", "2": "c"}})"
                                      << "id2label has no label for id 1 (ids must run 0..1)";
        QTest::newRow("id2label value") << R"({"id2label": {"0": 5}})"
                                        << "id2label '0' must be a label name";
    }

    void configErrors()
    {
        QFETCH(QString, changes);
        QFETCH(QString, expected);
        const QString message = configError(bertConfig(json::parse(changes.toStdString())).dump());
        QVERIFY2(message.startsWith(QStringLiteral("/ckpt/config.json: ")), qPrintable(message));
        QVERIFY2(message.contains(expected), qPrintable(message));
    }

    void configNotAnObject()
    {
        QVERIFY(configError("[1]").contains(QStringLiteral("/ckpt/config.json: is not a JSON object")));
    }

    void id2labelInIdOrder()
    {
        json labels = json::object();
        for (int i = 0; i < 12; ++i)
            labels[std::to_string(i)] = "label" + std::to_string(i); // stored "0", "1", "10", "11", "2", ...
        auto c = encoderConfigFromJson(bertConfig({{"id2label", labels}}), "x");
        QVERIFY(c.ok());
        QCOMPARE(c->id2label.size(), size_t(12));
        QCOMPARE(q(c->id2label[2]), QStringLiteral("label2"));
        QCOMPARE(q(c->id2label[10]), QStringLiteral("label10"));
        QCOMPARE(q(c->id2label[11]), QStringLiteral("label11"));
    }

    void readErrors()
    {
        const fs::path none = folderWith("no-config", "", {"model.safetensors"});
        auto r = readEncoderConfig(none);
        QVERIFY(!r.ok());
        QVERIFY(r.error().badInput);
        QVERIFY2(q(r.message()).startsWith(q((none / "config.json").string() + ": not found")), r.message().c_str());

        const fs::path broken = folderWith("broken-config", "", {});
        writeAll(broken / "config.json", "{\"model_type\": \"bert\",");
        r = readEncoderConfig(broken);
        QVERIFY(!r.ok());
        QVERIFY2(q(r.message()).startsWith(q((broken / "config.json").string() + ": not valid JSON")),
                 r.message().c_str());

        const fs::path gpt2 = folderWith("gpt2", "", {});
        writeAll(gpt2 / "config.json", bertConfig({{"model_type", "gpt2"}}).dump());
        r = readEncoderConfig(gpt2);
        QVERIFY(!r.ok());
        QCOMPARE(r.message(),
                 (gpt2 / "config.json").string() + ": model_type 'gpt2' is not supported (supported: bert, roberta)");
    }

    // ---- config.json for an export ----

    void exportConfig()
    {
        auto c = readEncoderConfig(kFixtures / "roberta");
        QVERIFY(c.ok());
        c->layers = 6; // a distilled encoder
        const json j = encoderConfigJson(*c, {"negative", "positive", "neutral"}, "single_label_classification");
        QCOMPARE(j["num_hidden_layers"].get<int>(), 6);
        QCOMPARE(j["model_type"].get<std::string>(), std::string("roberta"));
        QCOMPARE(j["architectures"], json::array({"RobertaForSequenceClassification"}));
        QCOMPARE(j["id2label"], json({{"0", "negative"}, {"1", "positive"}, {"2", "neutral"}}));
        QCOMPARE(j["label2id"], json({{"negative", 0}, {"positive", 1}, {"neutral", 2}}));
        QCOMPARE(j["problem_type"].get<std::string>(), std::string("single_label_classification"));
        QCOMPARE(j["bos_token_id"].get<int>(), 0); // raw keys kept
        QCOMPARE(j["initializer_range"].get<double>(), 0.02);

        // What was exported reads back as the same encoder with the same labels.
        auto back = encoderConfigFromJson(j, "export/config.json");
        QVERIFY2(back.ok(), back.ok() ? "" : back.message().c_str());
        QCOMPARE(back->layers, 6);
        QCOMPARE(back->maxTokens(), 512);
        QCOMPARE(back->layerNormEps, 1e-5);
        QCOMPARE(back->id2label, (std::vector<std::string>{"negative", "positive", "neutral"}));

        // Multi-label, then no labels: the encoder alone, and no stale problem_type.
        json multi = encoderConfigJson(*back, {"a", "b"}, "multi_label_classification");
        QCOMPARE(multi["problem_type"].get<std::string>(), std::string("multi_label_classification"));
        back->raw = multi;
        const json noType = encoderConfigJson(*back, {"a", "b"}, "");
        QVERIFY(!noType.contains("problem_type"));
        auto bert = readEncoderConfig(kFixtures / "bert");
        QVERIFY(bert.ok());
        const json plain = encoderConfigJson(*bert, {}, "");
        QCOMPARE(plain["architectures"], json::array({"BertModel"}));
        QCOMPARE(plain["vocab_size"].get<int>(), 31090);
        QCOMPARE(plain["model_type"].get<std::string>(), std::string("bert"));
    }

    // ---- a fine-tuned head meets a run's labels ----

    void planHead()
    {
        using lbk::hf::HeadPlan;
        const std::vector<std::string> ours = {"cs.CV", "cs.LG", "hep-ph"};
        auto p = lbk::hf::planHead(ours, ours);
        QCOMPARE(int(p.action), int(HeadPlan::Action::Reuse));
        QVERIFY(!p.warn);
        p = lbk::hf::planHead({"hep-ph", "cs.CV", "cs.LG"}, ours);
        QCOMPARE(int(p.action), int(HeadPlan::Action::Reorder));
        QCOMPARE(p.rows, (std::vector<int64_t>{1, 2, 0}));
        p = lbk::hf::planHead({"hep-ph", "cs.CV", "math.AG"}, ours);
        QCOMPARE(int(p.action), int(HeadPlan::Action::Fresh));
        QCOMPARE(q(p.message), QStringLiteral("the checkpoint's classification head was trained for other labels "
                                              "(hep-ph, cs.CV, math.AG; this run's cs.LG are not among them): it "
                                              "starts anew"));
        p = lbk::hf::planHead({"cs.CV", "cs.CV", "cs.LG"}, ours); // a name twice cannot be mapped row for row
        QCOMPARE(int(p.action), int(HeadPlan::Action::Fresh));
        p = lbk::hf::planHead({"LABEL_0", "LABEL_1", "LABEL_2"}, ours); // transformers' unnamed labels: reused, said
        QCOMPARE(int(p.action), int(HeadPlan::Action::Reuse));
        QVERIFY(p.warn);
        QVERIFY2(q(p.message).contains(QStringLiteral("without label names")), p.message.c_str());
        p = lbk::hf::planHead({}, ours);
        QVERIFY(p.warn);
        p = lbk::hf::planHead({"a", "b"}, ours); // another size is never loaded: nothing to plan or say
        QCOMPARE(int(p.action), int(HeadPlan::Action::Reuse));
        QVERIFY(p.message.empty());
    }

    // ---- checkpoint folders ----

    void inspectFolder_data()
    {
        QTest::addColumn<QString>("fixture");
        QTest::addColumn<QStringList>("files");
        QTest::addColumn<int>("weights"); // -1: none
        QTest::addColumn<int>("tokenizer");
        QTest::addColumn<QString>("describe");
        QTest::newRow("bert, safetensors, WordPiece")
            << "bert" << ql({"model.safetensors", "vocab.txt", "tokenizer_config.json"})
            << int(WeightsFormat::Safetensors) << int(TokenizerFiles::WordPiece)
            << "bert, 12 layers, hidden size 768, 12 heads, vocabulary 31,090 (WordPiece), model.safetensors";
        QTest::newRow("safetensors preferred")
            << "bert" << ql({"pytorch_model.bin", "model.safetensors", "vocab.txt", "tokenizer.json"})
            << int(WeightsFormat::Safetensors) << int(TokenizerFiles::WordPiece)
            << "bert, 12 layers, hidden size 768, 12 heads, vocabulary 31,090 (WordPiece), model.safetensors";
        QTest::newRow("roberta, bin, BPE")
            << "roberta" << ql({"pytorch_model.bin", "vocab.json", "merges.txt"}) << int(WeightsFormat::PytorchBin)
            << int(TokenizerFiles::ByteBpe)
            << "roberta, 12 layers, hidden size 768, 12 heads, vocabulary 50,265 (byte-level BPE), pytorch_model.bin";
        QTest::newRow("tokenizer.json only")
            << "roberta" << ql({"model.safetensors", "tokenizer.json", "vocab.json"}) << int(WeightsFormat::Safetensors)
            << int(TokenizerFiles::TokenizerJson)
            << "roberta, 12 layers, hidden size 768, 12 heads, vocabulary 50,265 (tokenizer.json), model.safetensors";
    }

    void inspectFolder()
    {
        QFETCH(QString, fixture);
        QFETCH(QStringList, files);
        QFETCH(int, weights);
        QFETCH(int, tokenizer);
        QFETCH(QString, describe);
        std::vector<std::string> names;
        for (const QString &f : files)
            names.push_back(f.toStdString());
        const fs::path dir =
            folderWith("inspect-" + std::string(QTest::currentDataTag()), fixture.toStdString(), names);
        auto r = inspectCheckpointFolder(dir);
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
        QCOMPARE(r->folder, dir);
        QVERIFY(r->weights.has_value());
        QCOMPARE(int(*r->weights), weights);
        QCOMPARE(r->weightsPath,
                 dir / (weights == int(WeightsFormat::Safetensors) ? "model.safetensors" : "pytorch_model.bin"));
        QCOMPARE(int(r->tokenizer), tokenizer);
        QCOMPARE(q(r->describe()), describe);
    }

    // tokenizer.json alone: the folder line says which kind of tokenizer it holds.
    void tokenizerJsonKindIsSaid()
    {
        for (const auto &[type, said] : {std::pair{"WordPiece", "(WordPiece, tokenizer.json)"},
                                         std::pair{"BPE", "(byte-level BPE, tokenizer.json)"},
                                         std::pair{"Unigram", "(tokenizer.json)"}}) {
            const fs::path dir = folderWith(std::string("tokenizer-json-") + type, "bert", {"model.safetensors"});
            writeAll(dir / "tokenizer.json", json{{"model", {{"type", type}, {"vocab", json::object()}}}}.dump());
            const auto f = inspectCheckpointFolder(dir);
            QVERIFY(f.ok());
            QVERIFY2(f->describe().find(said) != std::string::npos, f->describe().c_str());
        }
    }

    void inspectErrors()
    {
        const fs::path noWeights = folderWith("no-weights", "bert", {"vocab.txt", "tf_model.h5"});
        auto r = inspectCheckpointFolder(noWeights);
        QVERIFY(!r.ok());
        QVERIFY(r.error().badInput);
        QCOMPARE(r.message(), noWeights.string() + ": no model.safetensors or pytorch_model.bin (or their "
                                                   "*.index.json with shards); the folder holds config.json, "
                                                   "tf_model.h5, vocab.txt");

        // A sharded checkpoint: its shards in the index's order; an index that is not one, or names a shard that
        // is not there (a download stopped early) or one outside the folder, refused by name.
        const fs::path sharded = folderWith("sharded", "bert", {"vocab.txt", "model-00002-of-00002.safetensors",
                                                                "model-00001-of-00002.safetensors"});
        writeAll(sharded / "model.safetensors.index.json",
                 R"({"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors",
                     "b": "model-00002-of-00002.safetensors", "c": "model-00001-of-00002.safetensors"}})");
        r = inspectCheckpointFolder(sharded);
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
        QCOMPARE(r->weightsPath, sharded / "model.safetensors.index.json");
        QCOMPARE(r->weightFiles(), (std::vector<fs::path>{sharded / "model-00001-of-00002.safetensors",
                                                          sharded / "model-00002-of-00002.safetensors"}));
        QVERIFY2(q(r->describe()).endsWith(QStringLiteral("model.safetensors in 2 shards")), r->describe().c_str());
        for (const auto &[index, said] :
             std::vector<std::pair<std::string, std::string>>{
                 {R"({"weight_map": {"a": "model-00003-of-00003.safetensors"}})",
                  "names the shard model-00003-of-00003.safetensors, which is not in the folder"},
                 {R"({"weight_map": {"a": "../elsewhere.safetensors"}})", "the shard of 'a' is not a file name"},
                 {R"({"metadata": {}})", "not a checkpoint index"},
                 {"not json", "not a checkpoint index"}}) {
            writeAll(sharded / "model.safetensors.index.json", index);
            r = inspectCheckpointFolder(sharded);
            QVERIFY(!r.ok());
            QVERIFY2(r.message().rfind((sharded / "model.safetensors.index.json").string() + ": " + said, 0) == 0,
                     r.message().c_str());
        }

        r = inspectCheckpointFolder(tmp("nowhere"));
        QVERIFY(!r.ok());
        QCOMPARE(q(r.message()), q(tmp("nowhere").string() + ": no such folder"));

        writeAll(tmp("a-file"), "x");
        r = inspectCheckpointFolder(tmp("a-file"));
        QVERIFY(!r.ok());
        QVERIFY2(q(r.message()).contains(QStringLiteral("is not a folder")), r.message().c_str());

        const fs::path noConfig = folderWith("inspect-no-config", "", {"model.safetensors", "vocab.txt"});
        r = inspectCheckpointFolder(noConfig);
        QVERIFY(!r.ok());
        QVERIFY2(q(r.message()).contains(q((noConfig / "config.json").string() + ": not found")), r.message().c_str());

        // No tokenizer: refused here, so validate and the form say it before a run starts (it failed in the worker).
        const fs::path noTokenizer = folderWith("no-tokenizer", "bert", {"model.safetensors", "vocab.json"});
        r = inspectCheckpointFolder(noTokenizer);
        QVERIFY(!r.ok());
        QVERIFY(r.error().badInput);
        QCOMPARE(r.message(), noTokenizer.string() + ": no tokenizer: expected vocab.txt (WordPiece), vocab.json + "
                                                     "merges.txt (byte-level BPE) or tokenizer.json; the folder holds "
                                                     "config.json, model.safetensors, vocab.json");
        // Labbook's export of a pre-training run (tokenizer.model): the message says what to use instead.
        const fs::path scratch = folderWith("scratch-export", "bert", {"model.safetensors", "tokenizer.model"});
        r = inspectCheckpointFolder(scratch);
        QVERIFY(!r.ok());
        QVERIFY2(q(r.message()).contains(QStringLiteral("model.init_from \"run:ID\"")), r.message().c_str());

        CheckpointFolder empty;
        QCOMPARE(q(empty.describe()), QStringLiteral("bert, 12 layers, hidden size 768, 12 heads, vocabulary 30,522 (no "
                                                     "tokenizer files), no weights"));
    }

    // What lbk validate and the form find in the weights before a run: sizes of another model, missing layers,
    // integers where a weight belongs, another family's names, a file cut short; each naming the file and tensor.
    void weightsCheckedAgainstTheConfig()
    {
        QCOMPARE(q(weightsProblem(tinyBert("fits"))), QString());
        QCOMPARE(q(weightsProblem(tinyBert("bare-names", [](auto &t) {
                     for (auto &v : t)
                         if (v.name.starts_with("bert."))
                             v.name = v.name.substr(5);
                 }))),
                 QString());

        fs::path dir = tinyBert("other-vocabulary", [](auto &t) { t[0].shape = {19, 4}; });
        QCOMPARE(q(weightsProblem(dir)),
                 q((dir / "model.safetensors").string() + ": 'bert.embeddings.word_embeddings.weight' has shape "
                   "[19, 4] but " + (dir / "config.json").string() + " needs [20, 4] (vocab_size 20, hidden_size 4, "
                   "intermediate_size 8, max_position_embeddings 16): the weights are another model's, or "
                   "config.json is"));
        dir = tinyBert("other-feed-forward", [](auto &t) { t.back().shape = {4, 4}; });
        QVERIFY2(weightsProblem(dir).find("'bert.encoder.layer.1.output.dense.weight' has shape [4, 4] but") !=
                     std::string::npos, weightsProblem(dir).c_str());

        dir = tinyBert("one-layer", [](auto &t) { t.resize(t.size() - 4); });
        QCOMPARE(q(weightsProblem(dir)),
                 q((dir / "model.safetensors").string() + ": holds no weights of encoder layer 1 where config.json "
                   "has num_hidden_layers 2 (the file has 1 layer; set model.allow_missing_weights to start the "
                   "missing ones at random)"));
        QCOMPARE(q(weightsProblem(dir, true)), QString());

        dir = tinyBert("integers", [](auto &t) {
            static const std::vector<int64_t> ints(32);
            t[7] = {t[7].name, DType::I64, {8, 4}, ints.data(), 0};
        });
        QVERIFY2(weightsProblem(dir).find("'bert.encoder.layer.0.intermediate.dense.weight' holds integers (I64), "
                                          "not a weight") != std::string::npos, weightsProblem(dir).c_str());

        dir = tinyBert("family");
        json config = json::parse(readAll(dir / "config.json"));
        config["model_type"] = "roberta";
        writeAll(dir / "config.json", config.dump());
        // Not one tensor to load: refused even with model.allow_missing_weights (it would train a random encoder).
        for (const bool allowMissing : {false, true})
            QCOMPARE(q(weightsProblem(dir, allowMissing)),
                     q((dir / "model.safetensors").string() + ": none of its tensors is a weight of a roberta encoder "
                       "(config.json's model_type); it holds bert.*, cls.* tensors: config.json is another model's, "
                       "or the weights are"));

        dir = tinyBert("cut-short");
        fs::resize_file(dir / "model.safetensors", fs::file_size(dir / "model.safetensors") - 1);
        QVERIFY2(weightsProblem(dir).rfind((dir / "model.safetensors").string() + ": ", 0) == 0,
                 weightsProblem(dir).c_str());

        // checkInitFrom (lbk validate) asks the same, allowing what model.allow_missing_weights allows.
        Experiment e;
        e.model.type = ModelType::Encoder;
        e.tokenizer.maxTokens = 16;
        auto issue = checkInitFrom(e, tinyBert("validate-one-layer", [](auto &t) { t.resize(t.size() - 4); }));
        QVERIFY(issue.has_value());
        QCOMPARE(q(issue->path), QStringLiteral("model.init_from"));
        QVERIFY2(issue->message.find("model.init_from: ") == 0 &&
                     issue->message.find("holds no weights of encoder layer 1") != std::string::npos,
                 issue->message.c_str());
        // Every problem at once: fixing one does not reveal the next.
        e.tokenizer.maxTokens = 64;
        issue = checkInitFrom(e, tmp("validate-one-layer"));
        QVERIFY(issue.has_value());
        QVERIFY2(issue->message.find("tokenizer.max_tokens is 64") != std::string::npos &&
                     issue->message.find("; " + (tmp("validate-one-layer") / "model.safetensors").string() +
                                         ": holds no weights of encoder layer 1") != std::string::npos,
                 issue->message.c_str());
        e.tokenizer.maxTokens = 16;
        e.model.allowMissingWeights = true;
        QVERIFY(!checkInitFrom(e, tmp("validate-one-layer")).has_value());
        // ... and says what starts at random (lbk validate's note, the form's folder line).
        auto folder = hf::inspectCheckpointFolder(tmp("validate-one-layer"));
        QVERIFY2(folder.ok(), folder.ok() ? "" : folder.message().c_str());
        QCOMPARE(q(leftAtRandomNote(e, *folder).value_or("none")),
                 q("model.allow_missing_weights: the run starts encoder layer 1 at random (not in " +
                   (tmp("validate-one-layer") / "model.safetensors").string() + ")"));
        e.model.allowMissingWeights = false;
        QVERIFY(!leftAtRandomNote(e, *folder).has_value()); // without the flag the run refuses it: no note
        e.model.allowMissingWeights = true;
        auto whole = hf::inspectCheckpointFolder(tinyBert("validate-whole"));
        QVERIFY(!leftAtRandomNote(e, *whole).has_value());
        auto bare = hf::inspectCheckpointFolder(tinyBert("validate-bare", [](auto &t) {
            t.erase(t.begin()); // the word embeddings, and every layer
            t.resize(2);
        }));
        const auto leftOut = hf::weightsLeftOut(*bare);
        QVERIFY2(leftOut.ok(), leftOut.ok() ? "" : leftOut.message().c_str());
        QCOMPARE(q(*leftOut), QStringLiteral("the word embeddings and encoder layers 0, 1"));
        QCOMPARE(q(leftAtRandomNote(e, *bare).value_or("none")),
                 q("model.allow_missing_weights: the run starts the word embeddings and encoder layers 0, 1 at "
                   "random (not in " + (tmp("validate-bare") / "model.safetensors").string() + ")"));
        // A tokenizer with more pieces than the embedding table has rows: the run would refuse it, so does validate.
        std::string pieces = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
        for (int i = 0; i < 20; ++i)
            pieces += "w" + std::to_string(i) + "\n";
        writeAll(tmp("validate-one-layer") / "vocab.txt", pieces);
        issue = checkInitFrom(e, tmp("validate-one-layer"));
        QVERIFY(issue.has_value());
        QVERIFY2(issue->message.find("config.json: vocab_size 20 is smaller than the tokenizer's 25 pieces") !=
                     std::string::npos, issue->message.c_str());
    }

    // A sharded checkpoint: every shard listed, and a problem named by its shard. pytorch_model.bin in either of
    // torch.save's layouts lists the same tensors (tests/fixtures/torch).
    void storedTensorsOfShardsAndPytorchBins()
    {
        fs::path dir = tinyBert("shards");
        auto whole = SafetensorsFile::open(dir / "model.safetensors");
        QVERIFY(whole.ok());
        std::vector<TensorView> first, second;
        json map;
        for (const auto &t : (*whole)->header().tensors) {
            const auto bytes = (*whole)->bytes(t);
            auto &shard = t.name.find("layer.1.") == std::string::npos ? first : second;
            shard.push_back({t.name, t.dtype, t.shape, bytes.data(), bytes.size()});
            if (t.name == "bert.encoder.layer.1.intermediate.dense.weight")
                shard.back().shape = {4, 8};
            map[t.name] = &shard == &first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
        }
        QVERIFY(writeSafetensors(dir / "model-00001-of-00002.safetensors", first).ok());
        QVERIFY(writeSafetensors(dir / "model-00002-of-00002.safetensors", second).ok());
        whole.value().reset();
        fs::remove(dir / "model.safetensors");
        writeAll(dir / "model.safetensors.index.json", json{{"weight_map", map}}.dump());
        auto f = inspectCheckpointFolder(dir);
        QVERIFY2(f.ok(), f.ok() ? "" : f.message().c_str());
        auto listed = readStoredTensors(*f);
        QVERIFY(listed.ok());
        QCOMPARE(listed->size(), first.size() + second.size());
        QCOMPARE(listed->back().file, dir / "model-00002-of-00002.safetensors");
        const std::string shard2 = (dir / "model-00002-of-00002.safetensors").string();
        QVERIFY2(weightsProblem(dir).rfind(shard2 + ": 'bert.encoder.layer.1.intermediate.dense.weight' has shape "
                                                    "[4, 8]", 0) == 0,
                 weightsProblem(dir).c_str());

        const fs::path torchFixtures = fs::path(LABBOOK_SOURCE_DIR) / "tests" / "fixtures" / "torch";
        for (const std::string layout : {"legacy.bin", "zip.bin"}) {
            dir = folderWith("bin-" + layout, "bert", {"vocab.txt"});
            fs::copy_file(torchFixtures / layout, dir / "pytorch_model.bin");
            f = inspectCheckpointFolder(dir);
            QVERIFY(f.ok());
            listed = readStoredTensors(*f);
            QVERIFY2(listed.ok(), listed.ok() ? "" : listed.message().c_str());
            QCOMPARE(listed->size(), size_t(8));
            const auto &ids = *std::find_if(listed->begin(), listed->end(),
                                            [](const StoredTensor &t) { return t.name == "position_ids"; });
            QCOMPARE(ids.dtype, std::string("LongStorage"));
            QVERIFY(!ids.floating);
            QCOMPARE(ids.shape, (std::vector<int64_t>{1, 5}));
            // Not an encoder's weights: said at once, not after a cluster's queue.
            QVERIFY2(weightsProblem(dir).find("no bert.embeddings.word_embeddings.weight") != std::string::npos,
                     weightsProblem(dir).c_str());
            fs::resize_file(dir / "pytorch_model.bin", fs::file_size(dir / "pytorch_model.bin") - 10);
            QVERIFY2(weightsProblem(dir).rfind((dir / "pytorch_model.bin").string() + ": ", 0) == 0,
                     weightsProblem(dir).c_str());
        }
    }
};

QTEST_GUILESS_MAIN(TestHf)
#include "tst_hf.moc"
