#include "filedialogs.h"

#include <QAbstractFileIconProvider>
#include <QApplication>
#include <QFileInfo>
#include <QStyle>

namespace labbook::filedialogs {

namespace {

// Icons and type names from what a directory listing says (folder or file, the suffix), never from the content.
class NameOnlyIcons : public QAbstractFileIconProvider {
public:
    QIcon icon(IconType type) const override
    {
        return QApplication::style()->standardIcon(type == File ? QStyle::SP_FileIcon : QStyle::SP_DirIcon);
    }
    QIcon icon(const QFileInfo &info) const override
    {
        return QApplication::style()->standardIcon(info.isDir() ? QStyle::SP_DirIcon : QStyle::SP_FileIcon);
    }
    QString type(const QFileInfo &info) const override
    {
        if (info.isDir())
            return QApplication::translate("labbook::filedialogs", "Folder");
        const QString suffix = info.suffix();
        return suffix.isEmpty() ? QApplication::translate("labbook::filedialogs", "File")
                                : QApplication::translate("labbook::filedialogs", "%1 file").arg(suffix.toUpper());
    }
};

NameOnlyIcons &icons()
{
    static NameOnlyIcons provider; // outlives every dialog, which does not own it
    return provider;
}

QString run(QFileDialog *dialog, QString *selectedFilter = nullptr)
{
    const bool accepted = dialog->exec() == QDialog::Accepted && !dialog->selectedFiles().isEmpty();
    const QString chosen = accepted ? dialog->selectedFiles().constFirst() : QString();
    if (selectedFilter && accepted)
        *selectedFilter = dialog->selectedNameFilter();
    delete dialog;
    return chosen;
}

} // namespace

QFileDialog *create(QWidget *parent, const QString &caption, const QString &dir, const QString &filter)
{
    auto *dialog = new QFileDialog(parent, caption, dir, filter);
    dialog->setOption(QFileDialog::DontUseNativeDialog);
    dialog->setIconProvider(&icons());
    return dialog;
}

QString openFile(QWidget *parent, const QString &caption, const QString &dir, const QString &filter)
{
    auto *dialog = create(parent, caption, dir, filter);
    dialog->setFileMode(QFileDialog::ExistingFile);
    return run(dialog);
}

QString saveFile(QWidget *parent, const QString &caption, const QString &dir, const QString &filter,
                 QString *selectedFilter, QFileDialog::Options options)
{
    auto *dialog = create(parent, caption, dir, filter);
    dialog->setAcceptMode(QFileDialog::AcceptSave);
    dialog->setFileMode(QFileDialog::AnyFile);
    dialog->setOptions(dialog->options() | options);
    return run(dialog, selectedFilter);
}

QString existingFolder(QWidget *parent, const QString &caption, const QString &dir)
{
    auto *dialog = create(parent, caption, dir, QString());
    dialog->setFileMode(QFileDialog::Directory);
    dialog->setOption(QFileDialog::ShowDirsOnly);
    return run(dialog);
}

} // namespace labbook::filedialogs
