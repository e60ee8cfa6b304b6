// The journal writer: sequence numbers continue across reopenings, a torn last line (a worker killed
// mid-write) never swallows the next event, and a second writer on the same journal is refused.
#include <QtTest>

#include <fstream>

#include "protocol/journal.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
std::vector<std::string> readLines(const fs::path &p)
{
    std::ifstream in(p);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);)
        lines.push_back(l);
    return lines;
}
} // namespace

class TestJournal : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir{QStringLiteral(LABBOOK_TEST_TMP "/journal-XXXXXX")};

private Q_SLOTS:
    void initTestCase()
    {
        fs::create_directories(LABBOOK_TEST_TMP);
        QVERIFY(m_dir.isValid());
    }

    void sequenceContinuesAfterReopen()
    {
        const fs::path p = m_dir.filePath(QStringLiteral("a.jsonl")).toStdString();
        {
            auto w = lbk::JournalWriter::open(p);
            QVERIFY(w.ok());
            QVERIFY((*w)->emit("log", {{"level", "info"}, {"message", "one"}}));
            QVERIFY((*w)->emit("metrics", {{"step", 1}, {"values", {{"loss", NAN}}}}));
        }
        QCOMPARE(lbk::lastJournalSeq(p), int64_t(2));
        auto w = lbk::JournalWriter::open(p);
        QVERIFY(w.ok());
        QVERIFY((*w)->emit("finished", {{"step", 1}}));
        const auto lines = readLines(p);
        QCOMPARE(lines.size(), size_t(3));
        QCOMPARE(json::parse(lines[2])["seq"].get<int>(), 3);
        QVERIFY(json::parse(lines[1])["values"]["loss"].is_null()); // NaN has no JSON form
    }

    void tornLineStaysOnItsOwn()
    {
        const fs::path p = m_dir.filePath(QStringLiteral("torn.jsonl")).toStdString();
        {
            auto w = lbk::JournalWriter::open(p);
            QVERIFY((*w)->emit("log", {{"message", "kept"}}));
        }
        std::ofstream(p, std::ios::app) << R"({"seq": 2, "t": 1, "type": "predictions", "rows": [{"id": "a")";
        auto w = lbk::JournalWriter::open(p);
        QVERIFY(w.ok());
        QCOMPARE((*w)->lastSeq(), int64_t(1)); // the torn line does not count
        QVERIFY((*w)->emit("run_started", {{"kind", "train"}}));
        const auto lines = readLines(p);
        QCOMPARE(lines.size(), size_t(3));
        const auto started = json::parse(lines[2], nullptr, false);
        QVERIFY(started.is_object());
        QCOMPARE(started["type"].get<std::string>(), std::string("run_started"));
        QCOMPARE(started["seq"].get<int>(), 2);
    }

    void secondWriterIsRefused()
    {
        const fs::path p = m_dir.filePath(QStringLiteral("busy.jsonl")).toStdString();
        auto first = lbk::JournalWriter::open(p);
        QVERIFY(first.ok());
        auto second = lbk::JournalWriter::open(p);
        QVERIFY(!second.ok());
        QVERIFY(QString::fromStdString(second.message()).contains(QStringLiteral("another worker")));
    }
};

QTEST_GUILESS_MAIN(TestJournal)
#include "tst_journal.moc"
