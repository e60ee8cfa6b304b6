// How lbk words a run (cli/runtext.h): the first line of `lbk show` and the end of `lbk run`; table cells; text cut
// for messages and files written whole (util/).
#include <QtTest>

#include <filesystem>
#include <fstream>

#include "cli/runtext.h"
#include "cli/table.h"
#include "util/filebytes.h"
#include "util/text.h"

using namespace lbk;

class TestCli : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void outcome_data()
    {
        QTest::addColumn<int>("status");
        QTest::addColumn<double>("startedAt");
        QTest::addColumn<double>("endedAt");
        QTest::addColumn<QString>("expected");
        QTest::newRow("finished") << int(RunStatus::Finished) << 1000.0 << 1184.0 << QStringLiteral("finished after 3m04s");
        QTest::newRow("failed mid-run") << int(RunStatus::Failed) << 1000.0 << 1012.5 << QStringLiteral("failed after 12.5s");
        // These read "failed after -" and "queued after -" before.
        QTest::newRow("failed before the first step")
            << int(RunStatus::Failed) << 0.0 << 1012.5 << QStringLiteral("failed before training began");
        QTest::newRow("cancelled while queued")
            << int(RunStatus::Cancelled) << 0.0 << 0.0 << QStringLiteral("cancelled before training began");
        QTest::newRow("queued") << int(RunStatus::Queued) << 0.0 << 0.0 << QStringLiteral("queued");
    }

    void outcome()
    {
        QFETCH(int, status);
        QFETCH(double, startedAt);
        QFETCH(double, endedAt);
        QFETCH(QString, expected);
        RunSummary r;
        r.status = RunStatus(status);
        r.startedAt = startedAt;
        r.endedAt = endedAt;
        QCOMPARE(QString::fromStdString(cli::runOutcome(r)), expected);
    }

    void headline()
    {
        RunSummary r;
        r.id = 7;
        r.uid = "1f3a";
        r.name = "debug";
        r.status = RunStatus::Failed;
        QCOMPARE(cli::runHeadline(r), std::string("Run 7 (1f3a) failed before training began: debug"));
        r.task = "multiclass";
        r.startedAt = 1000;
        r.endedAt = 4000;
        QCOMPARE(cli::runHeadline(r), std::string("Run 7 (1f3a) failed after 50m00s: debug, multiclass"));
    }

    void duration()
    {
        // The TIME column of `lbk runs`: "-" for a run that never started, as the GUI shows.
        QCOMPARE(cli::fmtDuration(RunSummary{}.duration()), std::string("-"));
        QCOMPARE(cli::fmtDuration(-1.0), std::string("-"));
        QCOMPARE(cli::fmtDuration(7322.0), std::string("2h02m"));
    }

    // A name or tag cannot break a table row, turn the line's direction or widen a column without bound.
    void tableCells()
    {
        QCOMPARE(cli::cellText("line1\nline2\ta"), std::string("line1\\nline2\\ta"));
        QCOMPARE(cli::cellText("\x1b[31mred"), std::string("?[31mred"));
        QCOMPARE(cli::cellText("abc\u202Eevil"), std::string("abc?evil"));
        const std::string longName(200, 'x');
        QCOMPARE(cli::displayWidth(cli::cellText(longName)), cli::Table::kMaxCellWidth);
        std::string greek; // two bytes a character: the cut keeps whole characters
        for (int i = 0; i < 100; ++i)
            greek += "\u03b1";
        const std::string cut = cli::cellText(greek);
        QCOMPARE(cli::displayWidth(cut), cli::Table::kMaxCellWidth);
        QVERIFY(cut.ends_with("\u03b1..."));
        cli::Table t({"NAME", "TAGS"});
        t.add({"a\nb", "x"});
        QCOMPARE(t.render(), std::string("NAME  TAGS\na\\nb  x\n"));

        // A masked piece far into its context stays in the cell: the start gives way, whole characters.
        const std::string context = greek + " the \u27e6quantum\u27e7 state";
        const size_t open = context.find("\u27e6"), close = context.find("\u27e7") + 3;
        const std::string kept = cli::cellText(cli::keepInCell(context, open, close));
        QVERIFY2(kept.starts_with("...\u03b1") && kept.find("\u27e6quantum\u27e7") != std::string::npos, kept.c_str());
        // Left as it is: a context that fits, a piece inside the cell already, no piece at all.
        const std::string fits = "a short \u27e6x\u27e7 context";
        QCOMPARE(cli::keepInCell(fits, fits.find("\u27e6"), fits.find("\u27e7") + 3), fits);
        std::string early(40, 'w'); // (built in steps: GCC 12 warns falsely of an overflow for one expression)
        early += " \u27e6x\u27e7 ";
        early.append(100, 'z');
        QCOMPARE(cli::keepInCell(early, early.find("\u27e6"), early.find("\u27e7") + 3), early);
        QCOMPARE(cli::keepInCell(greek, std::string::npos, std::string::npos), greek);
    }

    // A file replaced keeps its permissions, a link stays a link to the file it names, a device is written through,
    // and a write that cannot be made leaves the file as it was (found by a review of the first version: it forced
    // 0644, replaced links, and would have renamed over /dev/stdout).
    void filesReplacedWhole()
    {
        QTemporaryDir dir;
        const std::filesystem::path file = dir.filePath(QStringLiteral("a.json")).toStdString();
        std::ofstream(file) << "old";
        std::filesystem::permissions(file, std::filesystem::perms(0640));
        QVERIFY(lbk::writeFileReplacing(file, "new").ok());
        QCOMPARE(lbk::readFileBytes(file).value(), std::string("new"));
        QCOMPARE(std::filesystem::status(file).permissions(), std::filesystem::perms(0640));
        const std::filesystem::path link = dir.filePath(QStringLiteral("link.json")).toStdString();
        std::filesystem::create_symlink(file, link);
        QVERIFY(lbk::writeFileReplacing(link, "through the link").ok());
        QVERIFY(std::filesystem::is_symlink(link));
        QCOMPARE(lbk::readFileBytes(file).value(), std::string("through the link"));
        QVERIFY(lbk::writeFileReplacing("/dev/null", "gone").ok());
        const auto full = lbk::writeFileReplacing("/dev/full", "no room");
        QVERIFY2(!full.ok() && full.message().find("No space left") != std::string::npos, full.message().c_str());
        const auto nowhere = lbk::writeFileReplacing(dir.filePath(QStringLiteral("no/such/b.json")).toStdString(), "x");
        QVERIFY(!nowhere.ok());
        QCOMPARE(std::distance(std::filesystem::directory_iterator(dir.path().toStdString()),
                               std::filesystem::directory_iterator()),
                 std::ptrdiff_t(2)); // no temporary file left beside them
    }

    // Text cut for a message keeps whole characters, so the message stays valid UTF-8 (JSON cannot hold it else).
    void clippedText()
    {
        QCOMPARE(lbk::clipped("short", 10), std::string("short"));
        QCOMPARE(lbk::clipped("abcdefghij", 8), std::string("abcde..."));
        const std::string greek = "\u03b1\u03b2\u03b3\u03b4"; // two bytes each
        QCOMPARE(lbk::clipped(greek, 6), std::string("\u03b1..."));  // 3 bytes left for text: one whole character
        QCOMPARE(lbk::toValidUtf8(lbk::clipped(greek, 7)), lbk::clipped(greek, 7));
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
