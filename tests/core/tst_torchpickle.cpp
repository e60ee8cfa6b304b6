// pytorch_model.bin's state dict read without LibTorch (hf/torchpickle): the files tests/fixtures/torch/make.py
// wrote with PyTorch 1.13, against what Python saw in them, as the pickle alone and as whole files of both layouts
// (hf/pytorchbin, the zip one through minizip); a training checkpoint refused by name; every truncation and many
// corruptions of both layouts give an error or a state dict, never a crash.
#include <QtTest>

#include <cstring>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "hf/pytorchbin.h"
#include "hf/safetensors.h"
#include "hf/torchpickle.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kFixtures = fs::path(LABBOOK_SOURCE_DIR) / "tests" / "fixtures" / "torch";

std::string readAll(const fs::path &p)
{
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Element i of a storage's bytes as a double, by its type.
double element(const lbk::hf::PickledStorage &s, std::string_view bytes, int64_t i)
{
    const char *p = bytes.data() + size_t(i) * s.elementSize;
    if (s.type == "FloatStorage") {
        float f;
        std::memcpy(&f, p, 4);
        return f;
    }
    if (s.type == "LongStorage") {
        int64_t v;
        std::memcpy(&v, p, 8);
        return double(v);
    }
    uint16_t h;
    std::memcpy(&h, p, 2);
    return s.type == "HalfStorage" ? lbk::hf::f16ToFloat(h) : lbk::hf::bf16ToFloat(h);
}

// The tensor's values in row-major order, read through its offset and strides.
std::vector<double> values(const lbk::hf::PickledTensor &t, const lbk::hf::PickledStorage &s, std::string_view bytes)
{
    int64_t count = 1;
    for (auto n : t.shape)
        count *= n;
    std::vector<double> out;
    for (int64_t flat = 0; flat < count; ++flat) {
        int64_t rest = flat, at = t.offset;
        for (size_t k = t.shape.size(); k-- > 0;) {
            at += (rest % t.shape[k]) * t.stride[k];
            rest /= t.shape[k];
        }
        out.push_back(element(s, bytes, at));
    }
    return out;
}

void compareLayout(const lbk::hf::PickledStateDict &dict)
{
    const json expected = json::parse(readAll(kFixtures / "expected.json"));
    QCOMPARE(dict.tensors.size(), expected.size());
    for (const auto &t : dict.tensors) {
        const json &e = expected.at(t.name);
        QCOMPARE(t.offset, e["offset"].get<int64_t>());
        QCOMPARE(t.shape, e["shape"].get<std::vector<int64_t>>());
        QCOMPARE(t.stride, e["stride"].get<std::vector<int64_t>>());
    }
}

} // namespace

class TestTorchPickle : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void legacyFile()
    {
        const std::string file = readAll(kFixtures / "legacy.bin");
        const auto c = lbk::hf::readLegacyCheckpoint(file, "legacy.bin");
        QVERIFY2(c.ok(), c.ok() ? "" : c.message().c_str());
        compareLayout(c->dict);
        const json expected = json::parse(readAll(kFixtures / "expected.json"));
        for (const auto &t : c->dict.tensors) {
            const auto &s = c->dict.storages.at(t.storage);
            QCOMPARE(values(t, s, c->storageBytes.at(t.storage)),
                     expected[t.name]["values"].get<std::vector<double>>());
        }
        // The tied decoder and the views share the encoder's storage.
        std::map<std::string, std::string> storageOf;
        for (const auto &t : c->dict.tensors)
            storageOf[t.name] = t.storage;
        QCOMPARE(storageOf["decoder.weight"], storageOf["encoder.weight"]);
        QCOMPARE(storageOf["encoder.rows"], storageOf["encoder.weight"]);
        QCOMPARE(c->dict.storages.at(storageOf["half"]).type, std::string("HalfStorage"));
    }

    void zipArchivePickle()
    {
        const auto d = lbk::hf::readStateDictPickle(readAll(kFixtures / "zip-data.pkl"), "data.pkl");
        QVERIFY2(d.ok(), d.ok() ? "" : d.message().c_str());
        compareLayout(*d);
        // The float matrix (its views and its tie share it), half, bf16, the ids and the scalar.
        QCOMPARE(d->storages.size(), size_t(5));
        QCOMPARE(d->storages.at(d->tensors.front().storage).elements, int64_t(12));
    }

    void trainingCheckpointIsRefusedByName()
    {
        const auto d = lbk::hf::readStateDictPickle(readAll(kFixtures / "nested.pkl"), "ckpt/data.pkl");
        QVERIFY(!d.ok());
        QVERIFY2(d.message().find("ckpt/data.pkl: 'state_dict' holds a dict, not a tensor") != std::string::npos,
                 d.message().c_str());
        QVERIFY2(d.message().find("its 'state_dict' holds a dict: save that alone") != std::string::npos,
                 d.message().c_str());
        QVERIFY(d.error().badInput);
        // torch.save(model) pickles the module itself: named, with what to save instead.
        const std::string module = std::string("\x80\x02" "ctorch.nn.modules.linear\nLinear\nq") + '\0' + ")\x81q\x01.";
        const auto m = lbk::hf::readStateDictPickle(module, "model.pkl");
        QVERIFY(!m.ok());
        QVERIFY2(m.message().find("it holds a torch.nn.modules.linear.Linear object (torch.save(model) saves the "
                                  "whole model; save model.state_dict() instead)") != std::string::npos,
                 m.message().c_str());
        // A model of another library's class, or the user's own, pickles the same way: the same advice.
        const std::string own = std::string("\x80\x02" "c__main__\nSequenceClassifier\nq") + '\0' + ")\x81q\x01.";
        const auto o = lbk::hf::readStateDictPickle(own, "model.pkl");
        QVERIFY(!o.ok());
        QVERIFY2(o.message().find("it holds a __main__.SequenceClassifier object, which is not part of a state dict "
                                  "of tensors (if it is the model, torch.save(model) saved the whole of it; save "
                                  "model.state_dict() instead)") != std::string::npos,
                 o.message().c_str());
    }

    void notAPickle()
    {
        const auto d = lbk::hf::readLegacyCheckpoint("<html>404 Not Found</html>", "pytorch_model.bin");
        QVERIFY(!d.ok());
        QVERIFY2(d.message().find("pytorch_model.bin: neither a zip archive nor a legacy torch.save file") !=
                     std::string::npos, d.message().c_str());
    }

    // Hostile pickles cost bounded memory and no deep recursion: a rebuild nested 50,000 deep (200 KB), two
    // million empty tuples; and the byte a message names counts from the file's start in the legacy layout.
    void hostilePicklesAreRefused()
    {
        std::string deep = "\x80\x02" "ctorch._tensor\n_rebuild_from_type_v2\nq\x00";
        const int n = 50000;
        for (int k = 0; k < n; ++k)
            deep += "h\x00N";
        deep += ")" + std::string(n, '\x87') + "R.";
        auto d = lbk::hf::readStateDictPickle(deep, "deep.pkl");
        QVERIFY(!d.ok());
        QVERIFY2(d.message().find("deep.pkl: not a PyTorch state dict") != std::string::npos, d.message().c_str());

        const std::string many = "\x80\x02" + std::string(size_t(2) << 20, ')') + ".";
        d = lbk::hf::readStateDictPickle(many, "many.pkl");
        QVERIFY(!d.ok());
        QVERIFY2(d.message().find("more than 1048576 objects") != std::string::npos, d.message().c_str());

        const std::string legacy = readAll(kFixtures / "legacy.bin");
        const auto cut = lbk::hf::readLegacyCheckpoint(legacy.substr(0, 400), "legacy.bin");
        QVERIFY(!cut.ok());
        QVERIFY2(cut.message().find("(byte 400)") != std::string::npos, cut.message().c_str());
    }

    // A file cut at any byte is an error, and one with any byte changed is an error or still a state dict whose
    // views fit their storages: never a crash or a read out of bounds.
    void damagedFilesNeverCrash_data()
    {
        QTest::addColumn<QString>("fixture");
        QTest::newRow("legacy.bin") << "legacy.bin";
        QTest::newRow("zip-data.pkl") << "zip-data.pkl";
    }
    void damagedFilesNeverCrash()
    {
        QFETCH(QString, fixture);
        const std::string good = readAll(kFixtures / fixture.toStdString());
        const bool legacy = fixture == QStringLiteral("legacy.bin");
        // 1: read, with every view inside its storage; 0: refused; -1: read, but a view or a storage is wrong.
        const auto check = [&](const std::string &bytes) -> int {
            if (legacy) {
                const auto c = lbk::hf::readLegacyCheckpoint(bytes, "f");
                if (!c.ok())
                    return 0;
                for (const auto &t : c->dict.tensors) {
                    const auto &s = c->dict.storages.at(t.storage);
                    const size_t bytes = c->storageBytes.at(t.storage).size();
                    if (!lbk::hf::viewFits(t, s) || bytes != size_t(s.elements) * s.elementSize)
                        return -1;
                }
                return 1;
            }
            const auto d = lbk::hf::readStateDictPickle(bytes, "f");
            if (!d.ok())
                return 0;
            for (const auto &t : d->tensors)
                if (!lbk::hf::viewFits(t, d->storages.at(t.storage)))
                    return -1;
            return 1;
        };
        for (size_t cut = 0; cut < good.size(); ++cut)
            QVERIFY2(check(good.substr(0, cut)) == 0, qPrintable(QStringLiteral("cut at %1").arg(cut)));
        int readable = 0;
        for (size_t at = 0; at < good.size(); ++at)
            for (int v : {0x00, 0x01, 0x7f, 0x80, 0xff, (good[at] ^ 0x20) & 0xff}) {
                std::string bad = good;
                bad[at] = char(v);
                const int r = check(bad);
                QVERIFY2(r >= 0, qPrintable(QStringLiteral("byte %1 set to %2").arg(at).arg(v)));
                readable += r;
            }
        QVERIFY(readable > 0); // some bytes (values, unused text) change nothing the reader checks
    }

    // Whole files of both layouts: the same tensors and values, each storage's bytes read once.
    void pytorchBinInBothLayouts_data()
    {
        QTest::addColumn<QString>("fixture");
        QTest::newRow("legacy") << "legacy.bin";
        QTest::newRow("zip archive") << "zip.bin";
    }
    void pytorchBinInBothLayouts()
    {
        QFETCH(QString, fixture);
        const auto bin = lbk::hf::PytorchBin::open(kFixtures / fixture.toStdString());
        QVERIFY2(bin.ok(), bin.ok() ? "" : bin.message().c_str());
        const auto &dict = (*bin)->dict();
        compareLayout(dict);
        const json expected = json::parse(readAll(kFixtures / "expected.json"));
        for (const auto &t : dict.tensors) {
            const auto &s = dict.storages.at(t.storage);
            std::string bytes(size_t(s.elements) * s.elementSize, '\0');
            QVERIFY((*bin)->readStorage(t.storage, bytes.data()).ok());
            QCOMPARE(values(t, s, bytes), expected[t.name]["values"].get<std::vector<double>>());
        }
    }

    // A zip archive cut at any byte is refused naming the file (or, cut only in the directory's last record,
    // reads every storage whole: nothing of the tensors is lost); one with any byte changed opens and reads, or is
    // refused: never a crash (minizip reads the archive; the pickle machine its data.pkl).
    void damagedArchivesNeverCrash()
    {
        const std::string good = readAll(kFixtures / "zip.bin");
        const fs::path file = fs::path(LABBOOK_TEST_TMP) / "tst_torchpickle-damaged.bin";
        fs::create_directories(file.parent_path());
        std::map<std::string, std::string> read; // the storages' bytes of the last archive read
        const auto check = [&](const std::string &bytes) -> int {
            read.clear();
            std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
            const auto bin = lbk::hf::PytorchBin::open(file);
            if (!bin.ok())
                return bin.message().rfind(file.string() + ": ", 0) == 0 ? 0 : -1;
            for (const auto &[key, s] : (*bin)->dict().storages) {
                std::string out(size_t(s.elements) * s.elementSize, '\0');
                if (!(*bin)->readStorage(key, out.data()).ok())
                    return 0;
                read[key] = out;
            }
            for (const auto &t : (*bin)->dict().tensors)
                if (!lbk::hf::viewFits(t, (*bin)->dict().storages.at(t.storage)))
                    return -1;
            return 1;
        };
        QCOMPARE(check(good), 1);
        const auto whole = read;
        // torch.save writes zip64 records before the classic end record: without that (the last 22 bytes, and
        // the zip64 locator's last 2), minizip still finds the directory, whole.
        for (size_t cut = 0; cut < good.size(); ++cut) {
            const int r = check(good.substr(0, cut));
            QVERIFY2(r == 0 || (r == 1 && read == whole && cut >= good.size() - 24),
                     qPrintable(QStringLiteral("cut at %1").arg(cut)));
        }
        for (size_t at = 0; at < good.size(); ++at)
            for (int v : {0x00, 0xff, (good[at] ^ 0x20) & 0xff}) {
                std::string bad = good;
                bad[at] = char(v);
                QVERIFY2(check(bad) >= 0, qPrintable(QStringLiteral("byte %1 set to %2").arg(at).arg(v)));
            }
        fs::remove(file);
    }
};

QTEST_APPLESS_MAIN(TestTorchPickle)
#include "tst_torchpickle.moc"
