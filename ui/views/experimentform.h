#pragma once
// The experiment form, generated from the schema's field table (lbk::experimentFields()), so the GUI and
// `lbk validate` accept the same files and say the same things. Fields are grouped, show their defaults and
// help, hide when they do not apply (CNN fields for a bag model...), and validate as the user types with the
// exact messages of validateField()/validateExperimentJson(). Choosing the data file shows its row count and
// label distribution (read off the GUI thread).
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include <QFuture>
#include <QPointer>
#include <QTimer>
#include <QWidget>

#include <nlohmann/json.hpp>

#include "experiment/schema.h"
#include "hf/encoderconfig.h"

class QComboBox;
class QLabel;
class QPushButton;
class QScrollArea;

namespace labbook {

class ElidedLabel;

class ExperimentForm : public QWidget {
    Q_OBJECT
public:
    explicit ExperimentForm(QWidget *parent = nullptr);
    ~ExperimentForm() override;

    // Fills the form from an experiment JSON (missing fields show their defaults).
    // unsaved: the experiment is not any file's (a run's config duplicated), so New and Open ask before dropping it.
    void setExperiment(const nlohmann::json &experiment, const QString &sourceFile = {}, bool unsaved = false);
    // The experiment as the form holds it: fields that differ from the default, plus those the loaded file
    // set (and any unknown key it had). Values that do not parse are kept as typed (strings), so validation
    // reports them.
    nlohmann::json experiment() const;
    QString sourceFile() const { return m_file; }
    bool isModified() const { return m_modified; }
    // Before the form's experiment is replaced (New, Open, a run's config, a sweep's best, quitting): with unsaved
    // changes, asks to save, discard or cancel; true when the caller may go on. Off in tests (setAskToSave).
    bool mayReplace(const QString &what);
    void setAskToSave(bool on) { m_askToSave = on; }

    // One field's editor text/state from a JSON value, as if typed (tests, "use this rate").
    void setFieldValue(const QString &path, const nlohmann::json &value);
    void showField(const QString &path); // scrolled into view, its editor focused
    nlohmann::json fieldValue(const QString &path) const;
    // The inline message under a field ("" when valid) and every current issue.
    QString fieldError(const QString &path) const;
    std::vector<lbk::ValidationIssue> issues() const { return m_issues; }
    // No schema problem, and the model.init_from folder does not contradict the form (the engine would refuse).
    // While the folder is being read, not yet valid either.
    bool isValid() const
    {
        return m_issues.empty() && m_dataProblem.isEmpty() && m_folderProblem.isEmpty() && !m_folderPending;
    }
    QString dataSummary() const;
    QString folderSummary() const; // what the model.init_from folder holds, as the form shows it

    // Experiment files: default folder experiments/ of the checkout (or the working directory).
    static QString experimentsFolder();
    bool openFile(const QString &path, QString *error = nullptr);
    bool saveFile(const QString &path, QString *error = nullptr);
    // How model.init_from "run:REF" is checked against the store (the main window's StoreService): the problem,
    // or an empty text when the run fits, handed to `done` on the GUI thread. Unset: not checked.
    // done(problem, found): what is wrong with model.init_from "run:REF", or (no problem) the run it names, in words.
    using InitRunCheck =
        std::function<void(const lbk::Experiment &, std::function<void(QString problem, QString found)> done)>;
    void setInitRunCheck(InitRunCheck check) { m_initRunCheck = std::move(check); }
    void setDataRoot(const QString &dataRoot);
    QString dataRoot() const { return m_dataRoot; }

    // Where Launch and Find LR start the run: `local` first, then the targets file's entries. The choice is
    // kept by name across reloads of the file; problem (the file's, if any) goes into the combo's tooltip.
    struct TargetChoice {
        QString name;
        QString description; // Target::describe(): the item's tooltip
    };
    void setTargets(const std::vector<TargetChoice> &targets, const QString &targetsFile, const QString &problem = {});
    QString currentTarget() const;
    QStringList targetNames() const; // every target the launch bar lists, this machine first
    bool setCurrentTarget(const QString &name); // false when no such target is listed
    QComboBox *targetCombo() const { return m_target; }

public Q_SLOTS:
    void openInteractively();
    bool save();          // to the current file, else asks
    bool saveAs();
    void newExperiment(); // defaults and the debug data sample

Q_SIGNALS:
    void launchRequested(const nlohmann::json &experiment, bool lrFind, const QString &target);
    void sweepRequested(const nlohmann::json &experiment, const QString &target);
    void modifiedChanged(bool modified);
    void fileChanged(const QString &file);
    void validated(bool ok);

protected:
    // Back in the window after copying the missing data file in elsewhere: the disk is asked again.
    void changeEvent(QEvent *event) override;

private:
    struct FieldRow {
        const lbk::FieldSpec *spec = nullptr;
        QWidget *editor = nullptr;
        QWidget *row = nullptr;
        QLabel *label = nullptr;
        QLabel *error = nullptr;
        QWidget *line = nullptr; // label and cell: shown while the field applies
    };
    void buildForm();
    FieldRow makeRow(const lbk::FieldSpec &f, QWidget *parent);
    QWidget *makeEditor(FieldRow &row);
    nlohmann::json editorValue(const FieldRow &row) const;
    void setEditorValue(FieldRow &row, const nlohmann::json &value);
    void fieldEdited();
    void revalidate();
    void updateApplicability();
    void setModified(bool modified);
    // The file the form edits in the bar above it: a long path cut in the middle to the bar's width (the window
    // fits 1024 px), whole in the tooltip.
    void showFile();
    void scheduleDataPreview();
    void startDataPreview();
    // model.init_from: what the checkpoint folder holds (model type, sizes, vocabulary), or why it is not one.
    void startFolderPreview();
    // A pretrained encoder's sizes come from its checkpoint: their fields say so (with the checkpoint's values once
    // read) instead of showing the scratch defaults; a size typed in stays, checked against the checkpoint.
    void showCheckpointSizes(bool pretrained, const std::optional<lbk::hf::EncoderConfig> &config);
    // The problems line and Launch from the schema's issues and the folder's contradiction.
    void showProblems();
    QString dataProblemHere(const nlohmann::json &experiment) const;
    std::vector<std::string> unknownKeys() const; // keys the file holds that the schema has not: no row shows them
    void removeUnknownKeys();

    std::vector<FieldRow> m_rows;
    std::map<std::string, size_t> m_byPath;
    nlohmann::json m_loaded = nlohmann::json::object();
    std::vector<lbk::ValidationIssue> m_issues;
    QString m_dataProblem;   // data.path's files not on this machine, for a local launch; empty when they are
    mutable std::pair<std::string, QString> m_dataCheck; // the paths and root last asked of the disk, and its answer
    QString m_folderProblem; // model.init_from's config.json against the form's sizes; empty when they agree
    bool m_folderPending = false; // the folder is being read
    bool m_parses = true;         // no schema issue at the last revalidate()
    QString m_file;
    QString m_dataRoot;
    InitRunCheck m_initRunCheck;
    bool m_modified = false;
    bool m_askToSave = true;
    bool m_loading = false;
    ElidedLabel *m_fileLabel = nullptr;
    QLabel *m_problems = nullptr;
    QLabel *m_dataInfo = nullptr;
    QLabel *m_folderInfo = nullptr;
    QComboBox *m_target = nullptr;
    QPushButton *m_launch = nullptr;
    QPushButton *m_findLr = nullptr;
    QScrollArea *m_scroll = nullptr;
    QTimer m_previewTimer;
    QFuture<void> m_preview; // the latest preview's job, waited for on destruction
    std::string m_previewKey; // the inputs of the preview being shown or computed
    QFuture<void> m_folderPreview;
    std::string m_folderKey;
};

} // namespace labbook
