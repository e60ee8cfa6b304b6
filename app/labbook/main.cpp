// labbook: the desktop workbench. Composition only; everything lives in ui/ (labbook_ui).
#include <cstdio>

#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>
#include <QMessageBox>
#include <QSettings>
#include <QTimer>

#include "mainwindow.h"
#include "theme.h"
#include "views/experimentform.h"

namespace {

struct Options {
    QCommandLineOption store{QStringLiteral("store"), QStringLiteral("The run store to open (default: the last one)."),
                             QStringLiteral("path")};
    QCommandLineOption scheme{QStringLiteral("color-scheme"), QStringLiteral("system, light or dark."),
                              QStringLiteral("scheme")};
};

void describe(QCommandLineParser &parser, const Options &o)
{
    parser.setApplicationDescription(QStringLiteral("Experiment workbench for text classification"));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addOptions({o.store, o.scheme});
    parser.addPositionalArgument(QStringLiteral("experiment"), QStringLiteral("An experiment file to open."),
                                 QStringLiteral("[experiment.json]"));
}

void nameApplication()
{
    QCoreApplication::setApplicationName(QStringLiteral("labbook"));
    QCoreApplication::setOrganizationName(QStringLiteral("labbook"));
    QCoreApplication::setApplicationVersion(QStringLiteral(LABBOOK_VERSION));
}

// --help and --version answer without a display (a QApplication aborts without one, before it parses anything).
void answerWithoutDisplay(int argc, char **argv, const Options &o)
{
    for (int i = 1; i < argc; ++i) {
        const QString a = QString::fromLocal8Bit(argv[i]);
        if (a == QLatin1String("-h") || a == QLatin1String("--help") || a == QLatin1String("--help-all") ||
            a == QLatin1String("-v") || a == QLatin1String("--version")) {
            QCoreApplication core(argc, argv);
            nameApplication();
            QCommandLineParser parser;
            describe(parser, o);
            parser.process(core); // prints and exits
        }
    }
}

// The experiment file named on the command line; one that cannot be opened is said, on stderr and in a dialog
// once the window shows (found by an audit: a file with a syntax error opened an empty form without a word).
void openGivenFile(labbook::MainWindow &window, const QString &file)
{
    QString error;
    if (window.form()->openFile(file, &error))
        return;
    std::fprintf(stderr, "labbook: %s\n", qPrintable(error));
    QTimer::singleShot(0, &window, [&window, error] {
        QMessageBox::warning(&window, QCoreApplication::translate("main", "Open experiment"), error);
    });
}

} // namespace

int main(int argc, char **argv)
{
    const Options options;
    answerWithoutDisplay(argc, argv, options);
    QApplication app(argc, argv);
    nameApplication();
    QApplication::setApplicationDisplayName(QStringLiteral("Labbook"));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/labbook/labbook.svg")));
    QApplication::setDesktopFileName(QStringLiteral("labbook"));

    QCommandLineParser parser;
    describe(parser, options);
    parser.process(app);

    labbook::applyColorScheme(parser.isSet(options.scheme)
                                  ? parser.value(options.scheme)
                                  : QSettings().value(QStringLiteral("ui/colorScheme"), QStringLiteral("system")).toString());
    labbook::MainWindow window(parser.value(options.store));
    window.show();
    if (!parser.positionalArguments().isEmpty())
        openGivenFile(window, parser.positionalArguments().constFirst());
    return app.exec();
}
