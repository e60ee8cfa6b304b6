// labbook: the desktop workbench. Composition only; everything lives in ui/ (labbook_ui).
#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>
#include <QSettings>

#include "mainwindow.h"
#include "theme.h"
#include "views/experimentform.h"

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("labbook"));
    QApplication::setApplicationDisplayName(QStringLiteral("Labbook"));
    QApplication::setOrganizationName(QStringLiteral("labbook"));
    QApplication::setApplicationVersion(QStringLiteral(LABBOOK_VERSION));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/labbook/labbook.svg")));
    QApplication::setDesktopFileName(QStringLiteral("labbook"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Experiment workbench for text classification"));
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption store(QStringLiteral("store"), QStringLiteral("The run store to open (default: the last one)."),
                             QStringLiteral("path"));
    QCommandLineOption scheme(QStringLiteral("color-scheme"), QStringLiteral("system, light or dark."),
                              QStringLiteral("scheme"));
    parser.addOptions({store, scheme});
    parser.addPositionalArgument(QStringLiteral("experiment"), QStringLiteral("An experiment file to open."),
                                 QStringLiteral("[experiment.json]"));
    parser.process(app);

    labbook::applyColorScheme(parser.isSet(scheme)
                                  ? parser.value(scheme)
                                  : QSettings().value(QStringLiteral("ui/colorScheme"), QStringLiteral("system")).toString());
    labbook::MainWindow window(parser.value(store));
    if (!parser.positionalArguments().isEmpty())
        window.form()->openFile(parser.positionalArguments().constFirst());
    window.show();
    return app.exec();
}
