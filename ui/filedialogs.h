#pragma once
// Every file dialog of the GUI. They never read a file's bytes: Qt's own dialogs (and a desktop's native ones,
// which run inside this process) open each listed file to guess its type for the icon, and closing any descriptor
// of a SQLite file drops every lock this process holds on it (POSIX locks belong to the process). Browsing the
// store's folder then let the next `lbk` think it was the store's last user and delete the write-ahead log the
// GUI was still reading: a healthy store read as "damaged", runs vanished from the list. So these dialogs are
// Qt's widget dialogs with icons and types taken from the names alone.
#include <QFileDialog>
#include <QString>

namespace labbook::filedialogs {

QString openFile(QWidget *parent, const QString &caption, const QString &dir, const QString &filter);
// selectedFilter: the filter the user picked, when asked for; options: e.g. QFileDialog::DontConfirmOverwrite.
QString saveFile(QWidget *parent, const QString &caption, const QString &dir, const QString &filter,
                 QString *selectedFilter = nullptr, QFileDialog::Options options = {});
QString existingFolder(QWidget *parent, const QString &caption, const QString &dir);

// The dialog the functions above show, not yet shown (tests browse a store's folder with it).
QFileDialog *create(QWidget *parent, const QString &caption, const QString &dir, const QString &filter);

} // namespace labbook::filedialogs
