#pragma once
// Settings > Targets: the targets file (docs/LAUNCH.md) as a list of entries, each edited in a form for the
// common keys of its type (ssh, slurm, command) or as raw JSON, the two kept in step. Every edit is checked with
// lbk::validateTargetsJson, its messages shown under the field they concern (and all of them below the form);
// Save stays disabled while there is a problem and writes the file atomically, mode 0600. Check runs
// lbk::checkTarget (what `lbk targets check NAME` runs) on the entry as edited, off the GUI thread.
#include <map>
#include <vector>

#include <QDialog>
#include <QFuture>

#include <nlohmann/json.hpp>

#include "launch/remote.h"

class QComboBox;
class QDialogButtonBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QListWidget;
class QPlainTextEdit;
class QPushButton;
class QTabWidget;
class QVBoxLayout;

namespace labbook {

class TargetsDialog : public QDialog {
    Q_OBJECT
public:
    explicit TargetsDialog(const QString &path, QWidget *parent = nullptr);
    ~TargetsDialog() override;

    QString path() const { return m_path; }
    nlohmann::json document() const { return m_doc; } // the whole file as edited
    QStringList targetNames() const;
    QString currentTarget() const { return m_current; }
    void selectTarget(const QString &name);
    // A new entry of type ("ssh", "slurm" or "command"), named after it ("ssh-1"...), selected; returns its name.
    QString addTarget(const QString &type);
    void removeCurrent();
    // One field of the form by its key ("host", "ssh.host", "port"...), and its inline message ("" when fine).
    QWidget *field(const QString &key) const;
    QString fieldError(const QString &key) const;
    QStringList problems() const { return m_problems; } // every message shown: syntax, name, validation
    bool canSave() const;
    bool isModified() const { return m_modified; }

public Q_SLOTS:
    bool save(); // false, and the reason shown, when it cannot
    void checkCurrent();

Q_SIGNALS:
    void saved(const QString &path);
    void checkFinished(const QString &report, bool ready);

protected:
    void reject() override; // asks before dropping unsaved changes

private:
    enum class Kind { Text, Int, Lines };
    struct Field {
        QString key; // "host", "ssh.host", "command"...
        Kind kind = Kind::Text;
        QStringList types; // the target types showing it
        QWidget *editor = nullptr;
        QLabel *label = nullptr;
        QLabel *error = nullptr;
        QWidget *cell = nullptr;
    };
    void load();
    void buildUi();
    QVBoxLayout *buildTargetList();
    QFormLayout *buildEntryHead();
    QTabWidget *buildEntryTabs();
    void addSettingsFields();
    void buildCheckArea(QVBoxLayout *right);
    QDialogButtonBox *buildButtons();
    void connectEditors();
    void addField(const QString &key, const QString &label, Kind kind, const QStringList &types,
                  const QString &placeholder, const QString &help);
    nlohmann::json &entry();
    void fieldEdited(Field &f);
    void rawEdited();
    void nameEdited(const QString &name);
    void typeChosen(const QString &type);
    void showEntry(); // form and raw JSON from the current entry
    void showRaw();
    void fillList();
    void revalidate();
    void setModified(bool on);
    std::optional<lbk::Target> currentParsed() const;
    void showCheck(const lbk::TargetCheck &check); // a check that ended: its report, and Check enabled again

    QString m_path;
    nlohmann::json m_doc;
    QString m_current;
    QString m_loadError, m_jsonError, m_nameError;
    QStringList m_problems;
    bool m_modified = false;
    bool m_updating = false; // filling editors from the document: their change signals are not edits
    std::vector<Field> m_fields;

    QLabel *m_fileLabel = nullptr;
    QListWidget *m_list = nullptr;
    QPushButton *m_remove = nullptr;
    QLineEdit *m_name = nullptr;
    QLabel *m_nameErrorLabel = nullptr;
    QComboBox *m_type = nullptr;
    QTabWidget *m_tabs = nullptr;
    QFormLayout *m_form = nullptr;
    QPlainTextEdit *m_raw = nullptr;
    QLabel *m_problemsLabel = nullptr;
    QPushButton *m_check = nullptr;
    QLabel *m_checkStatus = nullptr;
    QPlainTextEdit *m_checkResult = nullptr;
    QPushButton *m_save = nullptr;
    QWidget *m_editor = nullptr; // everything about the selected entry (disabled when there is none)
    QFuture<void> m_checkJob; // the running check, if any
};

} // namespace labbook
