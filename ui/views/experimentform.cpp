#include "experimentform.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <QCheckBox>
#include <QCoreApplication>
#include <QFile>
#include <QComboBox>
#include <QDir>
#include <QEvent>
#include <QFileInfo>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QToolButton>
#include <QVBoxLayout>

#include "async.h"
#include "filedialogs.h"
#include "data/dataset.h"
#include "experiment/checkpointfit.h"
#include "hf/encoderconfig.h"
#include "util/filebytes.h"
#include "elidedlabel.h"
#include "format.h"
#include "wheelguard.h"

namespace labbook {

using nlohmann::json;

struct DataPreview {
    std::string key;
    QString text;
    bool ok = false;
};

namespace {

QString groupTitle(const std::string &group)
{
    static const std::map<std::string, const char *> titles = {
        {"experiment", "Experiment"}, {"data", "Data"},          {"labels", "Labels"},
        {"split", "Split"},           {"tokenizer", "Tokenizer"}, {"model", "Model"},
        {"optimizer", "Optimization"}, {"schedule", "Learning-rate schedule"}, {"training", "Training"},
        {"evaluation", "Evaluation"}, {"lr_finder", "LR finder"}, {"mlm", "Masked-language-model pre-training"}};
    auto it = titles.find(group);
    return it != titles.end() ? QString::fromLatin1(it->second) : qs(group);
}

// What a user types, as the JSON value a file would hold: numbers and booleans parse; anything else stays
// the string that was typed, so validation reports it exactly as `lbk validate` would for that file.
json parseTyped(const QString &text)
{
    const std::string s = ss(text.trimmed());
    if (s.empty())
        return json(s);
    try {
        json v = json::parse(s);
        if (v.is_number() || v.is_boolean())
            return v;
    } catch (const json::exception &) {
    }
    // What JSON does not write but people type: ".7", "-.5", "7." (the C locale: a point, never a comma).
    bool ok = false;
    const double d = QLocale::c().toDouble(text.trimmed(), &ok);
    if (ok && std::isfinite(d))
        return json(d);
    return json(s);
}

QString displayValue(const json &v)
{
    if (v.is_null())
        return QString();
    if (v.is_string())
        return qs(v.get<std::string>());
    if (v.is_number_float()) {
        const double d = v.get<double>();
        return QString::number(d, 'g', QLocale::FloatingPointShortest); // round-trips exactly
    }
    if (v.is_array()) {
        QStringList parts;
        for (const auto &e : v)
            parts << (e.is_string() ? qs(e.get<std::string>()) : qs(e.dump()));
        return parts.join(QStringLiteral(", "));
    }
    return qs(v.dump());
}

// data.path as the paths it names (a string or a list of strings; empty ones left out).
std::vector<std::string> dataPaths(const json &experiment)
{
    const json given = lbk::valueAt(experiment, "data.path");
    std::vector<std::string> paths;
    if (given.is_string() && !given.get<std::string>().empty())
        paths = {given.get<std::string>()};
    else if (given.is_array())
        for (const auto &p : given)
            if (p.is_string() && !p.get<std::string>().empty())
                paths.push_back(p.get<std::string>());
    return paths;
}

QString fieldTooltip(const lbk::FieldSpec &f)
{
    QString tip = QStringLiteral("<b>%1</b> (%2)<br>%3<br>Default: <code>%4</code>")
                      .arg(qs(f.path), qs(lbk::fieldTypeName(f.type)), qs(f.help).toHtmlEscaped(),
                           qs(f.defaultValue.dump()).toHtmlEscaped());
    if (f.min || f.max)
        tip += QStringLiteral("<br>Range: %1%2 .. %3%4")
                   .arg(f.minExclusive ? QStringLiteral("(") : QStringLiteral("["))
                   .arg(f.min ? QString::number(*f.min) : QStringLiteral("-inf"))
                   .arg(f.max ? QString::number(*f.max) : QStringLiteral("inf"))
                   .arg(f.maxExclusive ? QStringLiteral(")") : QStringLiteral("]"));
    if (QString when = qs(lbk::fieldConditionText(f)); !when.isEmpty()) { // "Applies when ...", "Not when ..."
        when = when.startsWith(QLatin1String("when")) ? QStringLiteral("Applies ") + when
                                                       : when.replace(0, 1, when[0].toUpper());
        tip += QStringLiteral("<br>%1").arg(when.toHtmlEscaped());
    }
    return tip;
}

} // namespace

ExperimentForm::ExperimentForm(QWidget *parent)
    : QWidget(parent)
{
    auto *outer = new QVBoxLayout(this);
    auto *bar = new QHBoxLayout;
    m_fileLabel = new ElidedLabel(this);
    m_fileLabel->setObjectName(QStringLiteral("experimentFile"));
    m_fileLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto *newButton = new QPushButton(tr("New"), this);
    auto *openButton = new QPushButton(tr("Open..."), this);
    auto *saveButton = new QPushButton(tr("Save"), this);
    auto *saveAsButton = new QPushButton(tr("Save as..."), this);
    connect(newButton, &QPushButton::clicked, this, &ExperimentForm::newExperiment);
    connect(openButton, &QPushButton::clicked, this, &ExperimentForm::openInteractively);
    connect(saveButton, &QPushButton::clicked, this, &ExperimentForm::save);
    connect(saveAsButton, &QPushButton::clicked, this, &ExperimentForm::saveAs);
    bar->addWidget(m_fileLabel, 1);
    bar->addWidget(newButton);
    bar->addWidget(openButton);
    bar->addWidget(saveButton);
    bar->addWidget(saveAsButton);
    outer->addLayout(bar);

    m_scroll = new QScrollArea(this);
    m_scroll->setWidgetResizable(true);
    m_scroll->setFrameShape(QFrame::NoFrame);
    outer->addWidget(m_scroll, 1);

    m_problems = new QLabel(this);
    m_problems->setObjectName(QStringLiteral("problems"));
    m_problems->setWordWrap(true);
    m_problems->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::LinksAccessibleByMouse);
    connect(m_problems, &QLabel::linkActivated, this, [this](const QString &link) {
        if (link == QLatin1String("remove-unknown"))
            removeUnknownKeys();
    });
    outer->addWidget(m_problems);

    auto *launchBar = new QHBoxLayout;
    launchBar->addWidget(new QLabel(tr("Target:"), this));
    m_target = new QComboBox(this);
    m_target->setObjectName(QStringLiteral("target"));
    m_target->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    setTargets({{QLatin1String(lbk::kLocalTarget), tr("this machine")}}, QString());
    launchBar->addWidget(m_target, 1);
    connect(m_target, &QComboBox::currentIndexChanged, this, [this] { // the data must be here, asked again
        m_dataCheck = {};
        revalidate();
    });
    m_findLr = new QPushButton(tr("Find LR"), this);
    m_findLr->setObjectName(QStringLiteral("findLr"));
    m_findLr->setToolTip(tr("Run the LR range test with this experiment (Ctrl+Shift+L)"));
    auto *sweepButton = new QPushButton(tr("Sweep..."), this);
    sweepButton->setObjectName(QStringLiteral("sweep"));
    sweepButton->setToolTip(tr("Run many trials of this experiment with some keys varied (docs/SWEEPS.md)"));
    connect(sweepButton, &QPushButton::clicked, this, [this] { Q_EMIT sweepRequested(experiment(), currentTarget()); });
    launchBar->addWidget(sweepButton);
    m_launch = new QPushButton(tr("Launch"), this);
    m_launch->setObjectName(QStringLiteral("launch"));
    m_launch->setDefault(true);
    m_launch->setToolTip(tr("Start a training run of this experiment (Ctrl+R)"));
    connect(m_launch, &QPushButton::clicked, this,
            [this] { Q_EMIT launchRequested(experiment(), false, currentTarget()); });
    connect(m_findLr, &QPushButton::clicked, this,
            [this] { Q_EMIT launchRequested(experiment(), true, currentTarget()); });
    launchBar->addWidget(m_findLr);
    launchBar->addWidget(m_launch);
    outer->addLayout(launchBar);

    m_previewTimer.setSingleShot(true);
    m_previewTimer.setInterval(400);
    connect(&m_previewTimer, &QTimer::timeout, this, [this] {
        startDataPreview();
        startFolderPreview();
    });

    buildForm();
    newExperiment();
}

ExperimentForm::~ExperimentForm()
{
    m_preview.waitForFinished();
    m_folderPreview.waitForFinished();
}

void ExperimentForm::setTargets(const std::vector<TargetChoice> &targets, const QString &targetsFile,
                                const QString &problem)
{
    const QString current = m_target->count() > 0 ? currentTarget() : QLatin1String(lbk::kLocalTarget);
    const QSignalBlocker block(m_target);
    m_target->clear();
    for (const auto &t : targets) {
        const bool local = t.name == QLatin1String(lbk::kLocalTarget);
        m_target->addItem(local ? tr("This machine (local worker process)")
                                : QStringLiteral("%1 \u2014 %2").arg(t.name, t.description),
                          t.name);
        m_target->setItemData(m_target->count() - 1, t.description, Qt::ToolTipRole);
    }
    QString tip = tr("Where the run's worker process runs: this machine, or a target of the targets file "
                     "(Settings > Targets edits it).");
    if (!targetsFile.isEmpty())
        tip += QStringLiteral("<br>") + tr("Targets file: %1").arg(targetsFile.toHtmlEscaped());
    if (!problem.isEmpty())
        tip += QStringLiteral("<br>") + toned(problem, Tone::Problem).replace(QLatin1Char('\n'), QStringLiteral("<br>"));
    m_target->setToolTip(tip);
    if (!setCurrentTarget(current))
        m_target->setCurrentIndex(0);
}

QStringList ExperimentForm::targetNames() const
{
    QStringList names;
    for (int i = 0; i < m_target->count(); ++i)
        names << (m_target->itemData(i).toString().isEmpty() ? QString(QLatin1String(lbk::kLocalTarget))
                                                              : m_target->itemData(i).toString());
    if (names.isEmpty())
        names << QString(QLatin1String(lbk::kLocalTarget));
    return names;
}

QString ExperimentForm::currentTarget() const
{
    const QString name = m_target->currentData().toString();
    return name.isEmpty() ? QString(QLatin1String(lbk::kLocalTarget)) : name;
}

bool ExperimentForm::setCurrentTarget(const QString &name)
{
    const int i = m_target->findData(name);
    if (i < 0)
        return false;
    m_target->setCurrentIndex(i);
    return true;
}

void ExperimentForm::buildForm()
{
    auto *content = new QWidget;
    auto *layout = new QVBoxLayout(content);
    const auto &fields = lbk::experimentFields();
    m_rows.reserve(fields.size());
    for (const auto &group : lbk::experimentGroups()) {
        auto *box = new QGroupBox(groupTitle(group), content);
        box->setObjectName(QStringLiteral("group:") + qs(group));
        auto *lines = new QVBoxLayout(box);
        for (const auto &f : fields) {
            if (f.group != group)
                continue;
            m_byPath[f.path] = m_rows.size();
            m_rows.push_back(makeRow(f, box));
            lines->addWidget(m_rows.back().line);
        }
        layout->addWidget(box);
    }
    // One label width for every group, so the editors of all groups start at the same x.
    int labelWidth = 0;
    for (const auto &row : m_rows)
        labelWidth = std::max(labelWidth, row.label->sizeHint().width());
    for (const auto &row : m_rows)
        row.label->setMinimumWidth(labelWidth);
    layout->addStretch(1);
    m_scroll->setWidget(content);
}

// A field's line: its label beside its editor, and under the editor its error and (data.path, model.init_from)
// what the file or folder holds. A box layout per line, shown and hidden whole as the field starts and stops
// applying: Qt 6.4's QFormLayout wrote past its arrays when its rows were (setRowVisible; heap corruption).
ExperimentForm::FieldRow ExperimentForm::makeRow(const lbk::FieldSpec &f, QWidget *parent)
{
    FieldRow row;
    row.spec = &f;
    row.line = new QWidget(parent);
    row.line->setObjectName(QStringLiteral("line:") + qs(f.path));
    auto *h = new QHBoxLayout(row.line);
    h->setContentsMargins(0, 0, 0, 0);
    auto *cell = new QWidget(row.line);
    auto *v = new QVBoxLayout(cell);
    v->setContentsMargins(0, 0, 0, 0);
    v->setSpacing(2);
    row.row = cell;
    row.editor = makeEditor(row);
    row.editor->setParent(cell);
    v->addWidget(row.editor);
    row.error = new QLabel(cell);
    row.error->setObjectName(QStringLiteral("error:") + qs(f.path));
    row.error->setWordWrap(true);
    row.error->setStyleSheet(toneStyle(Tone::Problem));
    row.error->setVisible(false);
    v->addWidget(row.error);
    if (f.path == "data.path" || f.path == "model.init_from") {
        auto *info = new QLabel(cell);
        info->setObjectName(f.path == "data.path" ? QStringLiteral("dataInfo") : QStringLiteral("folderInfo"));
        info->setWordWrap(true);
        info->setTextInteractionFlags(Qt::TextSelectableByMouse);
        if (f.path == "data.path") // room for its two-line summary from the start: the rows below stay put
            info->setMinimumHeight(2 * info->fontMetrics().lineSpacing());
        v->addWidget(info);
        (f.path == "data.path" ? m_dataInfo : m_folderInfo) = info;
    }
    const std::string key = f.path.substr(f.path.find('.') == std::string::npos ? 0 : f.path.find('.') + 1);
    row.label = new QLabel(qs(key) + (f.required ? QStringLiteral(" *") : QString()), row.line);
    row.label->setToolTip(fieldTooltip(f));
    // Level with the editor's text, also when an error or a note under the editor makes the line taller.
    row.label->setMinimumHeight(row.editor->sizeHint().height());
    row.label->setAlignment(Qt::AlignLeft | Qt::AlignVCenter);
    cell->setToolTip(fieldTooltip(f));
    h->addWidget(row.label, 0, Qt::AlignTop);
    h->addWidget(cell, 1);
    return row;
}

QWidget *ExperimentForm::makeEditor(FieldRow &row)
{
    const lbk::FieldSpec &f = *row.spec;
    const QString name = QStringLiteral("field:") + qs(f.path);
    switch (f.type) {
    case lbk::FieldType::Bool: {
        auto *c = new QCheckBox;
        c->setObjectName(name);
        connect(c, &QCheckBox::toggled, this, &ExperimentForm::fieldEdited);
        return c;
    }
    case lbk::FieldType::Enum: {
        auto *c = new QComboBox;
        c->setObjectName(name);
        WheelGuard::install(c); // scrolling the form past it must not change it
        for (const auto &choice : f.choices)
            c->addItem(qs(choice));
        connect(c, &QComboBox::currentTextChanged, this, &ExperimentForm::fieldEdited);
        return c;
    }
    default: break;
    }
    auto *edit = new QLineEdit;
    edit->setObjectName(name);
    edit->setPlaceholderText(tr("default: %1").arg(displayValue(f.defaultValue).isEmpty()
                                                       ? QStringLiteral("(empty)")
                                                       : displayValue(f.defaultValue)));
    edit->setClearButtonEnabled(f.type == lbk::FieldType::String || f.type == lbk::FieldType::StringList ||
                                f.type == lbk::FieldType::Paths);
    connect(edit, &QLineEdit::textChanged, this, &ExperimentForm::fieldEdited);
    if (f.path != "data.path" && f.path != "model.init_from" && !f.logScale)
        return edit;
    auto *box = new QWidget;
    auto *h = new QHBoxLayout(box);
    h->setContentsMargins(0, 0, 0, 0);
    h->addWidget(edit, 1);
    if (f.path == "data.path") {
        auto *browse = new QToolButton(box);
        browse->setText(tr("Browse..."));
        connect(browse, &QToolButton::clicked, this, [this, edit] {
            QString start = m_dataRoot.isEmpty() ? qs(lbk::defaultDataRoot().string()) : m_dataRoot;
            const QString file = filedialogs::openFile(
                this, tr("Choose the data file"), start,
                tr("Papers (*.jsonl *.jsonl.zst *.json *.csv *.tsv *.zst);;All files (*)"));
            if (file.isEmpty())
                return;
            // Keep the path relative to the data root when it lies inside, so the experiment stays portable.
            const QString root = QDir(start).absolutePath();
            const QString rel = QDir(root).relativeFilePath(file);
            edit->setText(rel.startsWith(QLatin1String("..")) ? file : rel);
        });
        h->addWidget(browse);
    } else if (f.path == "model.init_from") {
        auto *browse = new QToolButton(box);
        browse->setText(tr("Folder..."));
        browse->setToolTip(tr("A Hugging Face checkpoint folder (config.json, model.safetensors, the tokenizer's files)"));
        connect(browse, &QToolButton::clicked, this, [this, edit] {
            const QString folder = filedialogs::existingFolder(this, tr("Choose a checkpoint folder"),
                                                                     edit->text().isEmpty() ? QDir::homePath() : edit->text());
            if (!folder.isEmpty())
                edit->setText(folder);
        });
        h->addWidget(browse);
    } else {
        // Learning rates move by factors of ten.
        for (const auto &[text, factor] : {std::pair{QStringLiteral("\u00f710"), 0.1}, std::pair{QStringLiteral("\u00d710"), 10.0}}) {
            auto *b = new QToolButton(box);
            b->setText(text);
            b->setToolTip(tr("Multiply by %1").arg(factor));
            connect(b, &QToolButton::clicked, this, [edit, factor = factor] {
                bool ok = false;
                double v = edit->text().toDouble(&ok);
                if (!edit->text().trimmed().isEmpty() && !(ok && v > 0))
                    return; // a typo stays for its error to be read and fixed, not replaced by the default's multiple
                if (!ok)
                    v = edit->placeholderText().section(QLatin1Char(' '), 1).toDouble(&ok);
                if (ok && v > 0)
                    edit->setText(QString::number(v * factor, 'g', 6));
            });
            h->addWidget(b);
        }
    }
    box->setObjectName(name + QStringLiteral(":box"));
    return box;
}

namespace {
QLineEdit *lineEditOf(QWidget *editor)
{
    if (auto *e = qobject_cast<QLineEdit *>(editor))
        return e;
    return editor->findChild<QLineEdit *>();
}
} // namespace

json ExperimentForm::editorValue(const FieldRow &row) const
{
    const lbk::FieldSpec &f = *row.spec;
    switch (f.type) {
    case lbk::FieldType::Bool: return qobject_cast<QCheckBox *>(row.editor)->isChecked();
    case lbk::FieldType::Enum: return ss(qobject_cast<QComboBox *>(row.editor)->currentText());
    default: break;
    }
    const QString text = lineEditOf(row.editor)->text();
    switch (f.type) {
    case lbk::FieldType::String: return ss(text);
    case lbk::FieldType::Paths: { // one path as a string; several, separated by commas, as a list
        QStringList parts;
        for (const auto &part : text.split(QLatin1Char(','), Qt::SkipEmptyParts))
            if (!part.trimmed().isEmpty())
                parts << part.trimmed();
        if (parts.size() <= 1)
            return ss(parts.isEmpty() ? QString() : parts.front());
        return fromStringList(parts);
    }
    case lbk::FieldType::Int:
    case lbk::FieldType::Float:
        if (text.trimmed().isEmpty())
            return f.defaultValue; // an empty number field means "the default", as its placeholder says
        return parseTyped(text);
    case lbk::FieldType::StringList:
    case lbk::FieldType::IntList: {
        json arr = json::array();
        for (const auto &part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            if (part.trimmed().isEmpty())
                continue;
            arr.push_back(f.type == lbk::FieldType::IntList ? parseTyped(part) : json(ss(part.trimmed())));
        }
        return arr;
    }
    default: return {};
    }
}

void ExperimentForm::setEditorValue(FieldRow &row, const json &value)
{
    const lbk::FieldSpec &f = *row.spec;
    switch (f.type) {
    case lbk::FieldType::Bool:
        qobject_cast<QCheckBox *>(row.editor)->setChecked(value.is_boolean() ? value.get<bool>() : false);
        return;
    case lbk::FieldType::Enum: {
        auto *c = qobject_cast<QComboBox *>(row.editor);
        const QString text = value.is_string() ? qs(value.get<std::string>()) : qs(value.dump());
        if (c->findText(text) < 0)
            c->addItem(text); // an invalid value from a file stays visible, with its error
        c->setCurrentText(text);
        return;
    }
    default: break;
    }
    QLineEdit *edit = lineEditOf(row.editor);
    edit->setText(displayValue(value));
    edit->setCursorPosition(0); // a long value (a description, a path) shows its beginning
}

void ExperimentForm::setExperiment(const json &experiment, const QString &sourceFile, bool unsaved)
{
    m_loading = true;
    m_loaded = experiment.is_object() ? experiment : json::object();
    for (auto &row : m_rows) {
        const json v = lbk::valueAt(m_loaded, row.spec->path);
        setEditorValue(row, v.is_null() ? row.spec->defaultValue : v);
    }
    m_loading = false;
    m_file = sourceFile;
    m_folderKey.clear(); // the sizes were set to the file's: the folder's are shown again, even for the same folder
    m_dataCheck = {};    // and its data asked of the disk again
    showFile();
    revalidate();
    setModified(unsaved);
    Q_EMIT fileChanged(m_file);
    scheduleDataPreview();
}

json ExperimentForm::experiment() const
{
    // Keys the form has no field for (a typo in a hand-written file) stay, so validation reports them as
    // `lbk validate` would.
    json out = m_loaded;
    for (const auto &row : m_rows) {
        const json v = editorValue(row);
        const bool inFile = !lbk::valueAt(m_loaded, row.spec->path).is_null();
        if (inFile || v != row.spec->defaultValue)
            lbk::setValueAt(out, row.spec->path, v);
    }
    return out;
}

void ExperimentForm::showFile()
{
    QFont font = m_fileLabel->font();
    font.setBold(!m_file.isEmpty());
    font.setItalic(m_file.isEmpty());
    m_fileLabel->setFont(font);
    m_fileLabel->setFullText(m_file.isEmpty() ? tr("Unsaved experiment") : QDir::toNativeSeparators(m_file));
}

void ExperimentForm::showField(const QString &path)
{
    auto it = m_byPath.find(ss(path));
    if (it == m_byPath.end())
        return;
    m_scroll->ensureWidgetVisible(m_rows[it->second].line, 0, 80);
    m_rows[it->second].editor->setFocus();
}

void ExperimentForm::setFieldValue(const QString &path, const json &value)
{
    auto it = m_byPath.find(ss(path));
    if (it == m_byPath.end())
        return;
    setEditorValue(m_rows[it->second], value);
}

json ExperimentForm::fieldValue(const QString &path) const
{
    auto it = m_byPath.find(ss(path));
    return it == m_byPath.end() ? json() : editorValue(m_rows[it->second]);
}

QString ExperimentForm::fieldError(const QString &path) const
{
    auto it = m_byPath.find(ss(path));
    if (it == m_byPath.end())
        return {};
    const QLabel *l = m_rows[it->second].error;
    return l->isVisibleTo(l->parentWidget()) ? l->text() : QString();
}

QString ExperimentForm::dataSummary() const
{
    return m_dataInfo ? m_dataInfo->text() : QString();
}

QString ExperimentForm::folderSummary() const
{
    return m_folderInfo ? m_folderInfo->text() : QString();
}

void ExperimentForm::startFolderPreview()
{
    const json resolved = lbk::withDefaults(experiment());
    const json v = lbk::valueAt(resolved, "model.init_from");
    const std::string folder = v.is_string() ? v.get<std::string>() : std::string();
    const std::string root = ss(m_dataRoot);
    auto parsed = lbk::experimentFromJson(resolved); // a form with errors elsewhere shows the folder alone
    // The folder, the fields its config.json is checked against, and whether the check can be made at all (an
    // error elsewhere fixed makes it possible: the folder is read again).
    const std::string key = folder + '\n' + root + '\n' + resolved.value("model", json()).dump() +
                            resolved.value("tokenizer", json()).dump() + (parsed ? "\nchecked" : "\nunchecked");
    if (!m_folderInfo || key == m_folderKey)
        return;
    const bool sameFolder = m_folderKey.rfind(folder + '\n' + root + '\n', 0) == 0;
    m_folderKey = key;
    if (!m_folderProblem.isEmpty() || m_folderPending) { // until the folder is read again, if it is
        m_folderProblem.clear();
        m_folderPending = false;
        showProblems();
    }
    showCheckpointSizes(!folder.empty() && lbk::valueAt(resolved, "model.type") == json("encoder"), std::nullopt);
    if (folder.empty()) {
        m_folderInfo->setText(tr("Empty: the encoder trains from scratch with the sizes above. Choose a Hugging Face "
                                 "checkpoint folder to fine-tune it (docs/ENCODERS.md)."));
        return;
    }
    if (const auto run = lbk::parseInitRun(folder)) {
        const QString at = run->step >= 0 ? tr(", as it was at step %L1").arg(run->step)
                           : run->step == -1 ? QString()
                                             : QStringLiteral(" (%1)").arg(toned(tr("after @ comes a step number"),
                                                                                  Tone::Problem));
        const QString text = tr("The encoder of MLM pre-training run %1 of this store%2, with its tokenizer and "
                                "sizes (docs/PRETRAINING.md).")
                                 .arg(qs(run->ref).toHtmlEscaped(), at);
        m_folderInfo->setText(text);
        if (!m_initRunCheck || !parsed)
            return;
        m_folderPending = true; // Launch waits for the store's answer, as lbk validate asks it
        showProblems();
        m_initRunCheck(*parsed, [this, key, at](QString problem, QString found) {
            if (key != m_folderKey)
                return;
            if (problem.isEmpty() && !found.isEmpty()) // found by an audit: the line only repeated what was typed
                m_folderInfo->setText(tr("The encoder of MLM pre-training %1%2, with its tokenizer and sizes "
                                         "(docs/PRETRAINING.md).")
                                          .arg(found.toHtmlEscaped(), at));
            const QString field = QStringLiteral("model.init_from: "); // the problems line names the field itself
            if (problem.startsWith(field))
                problem.remove(0, int(field.size()));
            m_folderProblem = problem;
            m_folderPending = false;
            if (!problem.isEmpty()) // instead of the line that calls it a pre-training run
                m_folderInfo->setText(toned(problem, Tone::Problem));
            showProblems();
        });
        return;
    }
    if (!sameFolder)
        m_folderInfo->setText(tr("Reading %1...").arg(qs(folder)));
    m_folderPending = true; // Launch waits for the answer
    showProblems();
    std::optional<lbk::Experiment> e;
    if (parsed)
        e = std::move(parsed.value());
    struct Inspected {
        std::string key;
        QString text, problem;
        std::optional<lbk::hf::EncoderConfig> config;
    };
    auto inspect = [key, folder, root, e = std::move(e)] {
        const auto path = lbk::resolveDataPath(folder, root);
        const bool relative = lbk::startsAtDataRoot(folder);
        auto f = lbk::hf::inspectCheckpointFolder(path);
        if (!f) { // not a checkpoint folder: a problem, as lbk validate says (Launch waits)
            const QString why =
                qs(f.message()) + (relative ? tr(" (a relative path starts at the data root)") : QString());
            return Inspected{key, toned(why, Tone::Problem), why, std::nullopt};
        }
        Inspected r{key, QStringLiteral("<b>%1</b>").arg(qs(f->describe()).toHtmlEscaped()), {}, f->config};
        if (relative) // say where it was found
            r.text += QStringLiteral("<br>%1").arg(tr("in %1 (a relative path starts at the data root)")
                                                       .arg(qs(path.string()).toHtmlEscaped()));
        if (auto bad = lbk::checkpointProblem(e ? &*e : nullptr, *f, "its config.json")) {
            r.problem = qs(*bad);
            r.text += QStringLiteral("<br>") + toned(r.problem, Tone::Problem);
        } else if (auto random = e ? lbk::leftAtRandomNote(*e, *f) : std::nullopt) {
            r.text += QStringLiteral("<br>") + toned(qs(*random), Tone::Note);
        }
        return r;
    };
    m_folderPreview = async::run(QThreadPool::globalInstance(), this, std::move(inspect), [this](Inspected r) {
        if (r.key != m_folderKey)
            return;
        m_folderInfo->setText(r.text);
        m_folderProblem = r.problem;
        m_folderPending = false;
        if (r.config)
            showCheckpointSizes(true, r.config);
        showProblems();
    });
}

void ExperimentForm::showCheckpointSizes(bool pretrained, const std::optional<lbk::hf::EncoderConfig> &config)
{
    for (const auto &size : lbk::checkpointSizes(config.value_or(lbk::hf::EncoderConfig{}))) {
        const auto it = m_byPath.find(size.field);
        if (it == m_byPath.end())
            continue;
        QLineEdit *edit = lineEditOf(m_rows[it->second].editor);
        const QString defaultText = displayValue(m_rows[it->second].spec->defaultValue);
        // Not while it is being typed in; the value stays the same (an empty number field is its default).
        if (!edit->hasFocus() && edit->text() == (pretrained ? defaultText : QString())) {
            const QSignalBlocker quiet(edit);
            edit->setText(pretrained ? QString() : defaultText);
        }
        // With config.json's own name: model.hidden is its intermediate_size, not its hidden_size.
        const QString fromConfig = config ? tr("from the checkpoint: %1 (its %2)").arg(size.value).arg(QLatin1String(size.key))
                                          : tr("from the checkpoint");
        edit->setPlaceholderText(pretrained ? fromConfig : tr("default: %1").arg(defaultText));
    }
}

void ExperimentForm::fieldEdited()
{
    if (m_loading)
        return;
    revalidate();
    setModified(true);
    QObject *s = sender();
    const QString name = s ? s->objectName() : QString();
    if (name.startsWith(QLatin1String("field:data.")) || name.startsWith(QLatin1String("field:labels.")) ||
        name.startsWith(QLatin1String("field:model.")) || name == QLatin1String("field:tokenizer.max_tokens"))
        scheduleDataPreview();
}

void ExperimentForm::revalidate()
{
    const json j = experiment();
    m_issues = lbk::validateExperimentJson(j);
    std::map<std::string, QString> byField;
    std::set<std::string> flagged; // fields outlined in red: those with an issue, or in a section that has one
    for (const auto &issue : m_issues) {
        std::string path = issue.path;
        if (auto b = path.find('['); b != std::string::npos)
            path = path.substr(0, b); // model.kernel_sizes[1] belongs to model.kernel_sizes
        if (!m_byPath.count(path)) {
            // A section's issue ("split": the shares must add up to 1): its fields outlined, said under the first.
            std::string first;
            for (const auto &row : m_rows)
                if (!path.empty() && row.spec->path.rfind(path + ".", 0) == 0) {
                    flagged.insert(row.spec->path);
                    if (first.empty())
                        first = row.spec->path;
                }
            path = first;
        }
        if (!path.empty()) {
            flagged.insert(path);
            QString &msg = byField[path];
            msg += (msg.isEmpty() ? QString() : QStringLiteral("\n")) + qs(issue.message);
        }
    }
    for (auto &row : m_rows) {
        auto it = byField.find(row.spec->path);
        const bool said = it != byField.end();
        row.error->setText(said ? it->second : QString());
        row.error->setVisible(said);
        if (auto *e = lineEditOf(row.editor); e && row.spec->type != lbk::FieldType::Bool &&
                                               row.spec->type != lbk::FieldType::Enum)
            e->setStyleSheet(flagged.count(row.spec->path) ? QStringLiteral("QLineEdit { border: 1px solid %1; }").arg(toneColor(Tone::Problem))
                                                           : QString());
    }
    m_dataProblem = dataProblemHere(j);
    updateApplicability();
    showProblems();
    // The init_from folder is checked only against an experiment that parses: when the form starts or stops
    // parsing, that check is made again at once (not after the preview's pause), so Launch never sees a stale one.
    if (m_issues.empty() != m_parses) {
        m_parses = m_issues.empty();
        startFolderPreview();
    }
}

std::vector<std::string> ExperimentForm::unknownKeys() const
{
    std::vector<std::string> keys;
    for (const auto &i : m_issues)
        if (!m_byPath.count(i.path) && i.message.rfind(i.path + ": unknown key", 0) == 0)
            keys.push_back(i.path);
    return keys;
}

void ExperimentForm::removeUnknownKeys()
{
    for (const auto &path : unknownKeys())
        lbk::eraseValueAt(m_loaded, path);
    revalidate();
    setModified(true);
}

void ExperimentForm::changeEvent(QEvent *event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::ActivationChange && isActiveWindow() && !m_dataCheck.second.isEmpty()) {
        m_dataCheck = {};
        revalidate();
    }
}

QString ExperimentForm::dataProblemHere(const json &experiment) const
{
    if (currentTarget() != QLatin1String(lbk::kLocalTarget))
        return {}; // a target reads its own data root
    for (const auto &i : m_issues)
        if (i.path.rfind("data.path", 0) == 0)
            return {}; // said already
    const auto paths = dataPaths(lbk::withDefaults(experiment));
    if (paths.empty())
        return {};
    // Asked of the disk when the paths, the root or the target change or a file is opened, not at every keystroke.
    const std::string key = json(paths).dump() + '\n' + ss(m_dataRoot);
    if (key != m_dataCheck.first)
        m_dataCheck = {key, qs(lbk::dataNotHere(paths, ss(m_dataRoot)))};
    return m_dataCheck.second;
}

void ExperimentForm::showProblems()
{
    QStringList all;
    for (const auto &i : m_issues)
        all << qs(i.message).toHtmlEscaped();
    if (!m_dataProblem.isEmpty())
        all << tr("%1 on this machine (a run here reads it; a target reads its own data root)")
                   .arg(m_dataProblem.toHtmlEscaped());
    if (!m_folderProblem.isEmpty())
        all << tr("model.init_from: %1 (the engine would refuse it)").arg(m_folderProblem.toHtmlEscaped());
    if (all.isEmpty() && m_folderPending) {
        m_problems->setText(tr("Reading the model.init_from folder to check it against the form..."));
        m_problems->setStyleSheet(QString());
    } else if (all.isEmpty()) {
        // What lbk validate notes besides: fields the file sets that do nothing with the rest of it (the form hides
        // their rows, so only this line says they are there), in amber under the green line.
        QString text = tr("No problems: `lbk validate` would accept this experiment.").toHtmlEscaped();
        for (const auto &note : lbk::unusedFieldNotes(experiment()))
            text += QStringLiteral("<br>") + toned(tr("Note: %1").arg(qs(note)), Tone::Note);
        m_problems->setText(text);
        m_problems->setStyleSheet(toneStyle(Tone::Fine));
    } else {
        QString fix; // a key the form has no row for can only be removed here (or in a text editor)
        if (const auto unknown = unknownKeys(); !unknown.empty())
            fix = QStringLiteral("<br><a href=\"remove-unknown\">%1</a>")
                      .arg(unknown.size() == 1 ? tr("Remove %1 from the experiment").arg(qs(unknown.front()))
                                               : tr("Remove the %1 unknown keys from the experiment").arg(unknown.size()));
        m_problems->setText(QStringLiteral("<b>%1</b>:<br>").arg(counted(all.size(), tr("problem"), tr("problems"))) +
                            all.join(QStringLiteral("<br>")) + fix);
        m_problems->setStyleSheet(toneStyle(Tone::Problem));
    }
    const bool ok = isValid();
    m_launch->setEnabled(ok);
    m_findLr->setEnabled(ok);
    Q_EMIT validated(ok);
}

void ExperimentForm::updateApplicability()
{
    const json resolved = lbk::withDefaults(experiment());
    for (auto &row : m_rows) {
        // A field that does not apply but holds an error stays visible, or the error could not be fixed.
        const bool applies = lbk::fieldApplies(*row.spec, resolved);
        row.line->setVisible(applies || row.error->isVisibleTo(row.row));
    }
}

void ExperimentForm::setModified(bool modified)
{
    if (m_modified == modified)
        return;
    m_modified = modified;
    Q_EMIT modifiedChanged(modified);
}

void ExperimentForm::setDataRoot(const QString &dataRoot)
{
    m_dataRoot = dataRoot;
    revalidate();
    scheduleDataPreview();
}

void ExperimentForm::scheduleDataPreview()
{
    m_previewTimer.start();
}

namespace {
// "; multiclass task, 20 labels, 92,571 examples" and the twelve largest labels with their shares.
QString labelSummaryHtml(const lbk::LabeledData &labels)
{
    std::vector<std::pair<int64_t, std::string>> dist;
    int64_t total = 0;
    for (size_t i = 0; i < labels.labelNames.size(); ++i) {
        dist.emplace_back(labels.labelCounts[i], labels.labelNames[i]);
        total += labels.labelCounts[i];
    }
    std::sort(dist.rbegin(), dist.rend());
    // A share of the examples: of all labels given out, a multi-label paper's two labels would count it twice (found
    // by an audit: cs.CV's 37% of papers read 22.8%). Binary and multi-class examples carry one label each.
    total = int64_t(labels.paper.size());
    QString text = QStringLiteral("; %1 task, <b>%2 labels</b>, %L3 examples").arg(QLatin1String(lbk::toString(labels.kind)))
                       .arg(dist.size()).arg(labels.paper.size());
    if (labels.dropped > 0)
        text += QStringLiteral(" (%L1 papers left out)").arg(labels.dropped);
    QStringList parts;
    for (size_t i = 0; i < dist.size() && i < 12; ++i)
        parts << QStringLiteral("%1&nbsp;%L2&nbsp;(%3%)")
                     .arg(qs(dist[i].second).toHtmlEscaped())
                     .arg(dist[i].first)
                     .arg(total ? 100.0 * double(dist[i].first) / double(total) : 0.0, 0, 'f', 1);
    if (dist.size() > 12)
        parts << QStringLiteral("... %1 more").arg(dist.size() - 12);
    return text + QStringLiteral("<br>") + parts.join(QStringLiteral(", "));
}

// Reads the data an experiment names (on a worker thread) and says what is in it: rows, bad lines, labels.
std::shared_ptr<DataPreview> readDataPreview(const std::string &key, const std::string &root, const lbk::Experiment &e,
                                             bool labelsParse)
{
    auto p = std::make_shared<DataPreview>();
    p->key = key;
    const auto file = lbk::dataSourcePath(e.data, root);
    lbk::ReadReport report;
    auto files = lbk::resolveDataFiles(e.data.paths, root);
    auto papers = files ? lbk::readPaperFiles(*files, e.data, &report) : lbk::Result<std::vector<lbk::Paper>>(files.error());
    if (!papers) {
        p->text = toned(qs(papers.message()), Tone::Problem);
        return p;
    }
    QString text = QStringLiteral("<b>%L1 rows</b> in %2").arg(report.rows).arg(qs(file.filename().string()).toHtmlEscaped());
    if (files->size() > 1)
        text += QStringLiteral(" (%L1 files)").arg(files->size());
    if (report.bad > 0)
        text += QStringLiteral(" (%L1 bad lines skipped)").arg(report.bad);
    if (report.duplicates > 0)
        text += QStringLiteral(" (%L1 papers listed again, read once)").arg(report.duplicates);
    if (!labelsParse) {
        p->text = text + QStringLiteral("<br>") +
                  toned(QObject::tr("The labels it yields show once the data and labels sections have no problem."),
                        Tone::Note);
        return p;
    }
    auto labels = lbk::buildLabels(*papers, e.labels, file.filename().string());
    if (!labels) {
        p->text = text + QStringLiteral("<br>") + toned(qs(labels.message()), Tone::Problem);
        return p;
    }
    p->text = text + labelSummaryHtml(*labels);
    p->ok = true;
    return p;
}
} // namespace

void ExperimentForm::startDataPreview()
{
    json j = lbk::withDefaults(experiment());
    const std::vector<std::string> paths = dataPaths(j);
    if (paths.empty()) {
        m_dataInfo->setText(tr("Choose a data file to see its rows and labels."));
        m_previewKey.clear();
        return;
    }
    json inputs = {{"data", j["data"]}, {"labels", j["labels"]}, {"root", ss(m_dataRoot)}};
    const std::string key = inputs.dump();
    if (key == m_previewKey)
        return;
    m_previewKey = key;
    m_dataInfo->setText(tr("Reading %1...").arg(qs(lbk::DataSpec{.paths = paths}.pathText())));
    const std::string root = ss(m_dataRoot);
    // Validation is the form's job; the preview parses only what it reads (data and labels), so a bad value in
    // another field (a rate being typed) does not make it show the default labels, a preview the key then kept.
    auto parsed = lbk::experimentFromJson({{"name", "preview"}, {"data", j["data"]}, {"labels", j["labels"]}});
    lbk::Experiment e;
    if (parsed)
        e = parsed.value();
    else
        e.data.paths = paths;
    // Labels that do not parse yield no distribution: the rows alone, never the default labels' (a binary task
    // without its positive class read as "multiclass, 10 labels").
    const bool labelsParse = parsed.ok();
    auto read = [key, root, e, labelsParse] { return readDataPreview(key, root, e, labelsParse); };
    m_preview = async::run(QThreadPool::globalInstance(), this, std::move(read), [this](std::shared_ptr<DataPreview> p) {
        if (!p || p->key != m_previewKey)
            return; // an older preview; a newer one is on its way
        m_dataInfo->setText(p->text);
        m_dataInfo->setProperty("ok", p->ok);
    });
}

QString ExperimentForm::experimentsFolder()
{
    // The checkout's experiments/ when running from a build tree (bin/ beside the sources), the installed ones
    // (PREFIX/share/labbook/experiments beside PREFIX/bin), else the working directory's experiments/, else the
    // working directory.
    const QDir installed(QCoreApplication::applicationDirPath() + QStringLiteral("/../share/labbook/experiments"));
    if (installed.exists())
        return installed.absolutePath();
    for (QDir dir(QCoreApplication::applicationDirPath()); !dir.isRoot(); dir.cdUp()) {
        if (dir.exists(QStringLiteral("experiments")) && dir.exists(QStringLiteral("core")))
            return dir.filePath(QStringLiteral("experiments"));
        if (dir.exists(QStringLiteral("CMakeCache.txt"))) {
            QDir up = dir;
            if (up.cdUp() && up.exists(QStringLiteral("experiments")))
                return up.filePath(QStringLiteral("experiments"));
        }
    }
    QDir cwd = QDir::current();
    return cwd.exists(QStringLiteral("experiments")) ? cwd.filePath(QStringLiteral("experiments")) : cwd.path();
}

bool ExperimentForm::openFile(const QString &path, QString *error)
{
    auto j = lbk::readJsonFile(ss(path));
    if (!j) {
        if (error)
            *error = qs(j.message());
        return false;
    }
    setExperiment(*j, QFileInfo(path).absoluteFilePath());
    return true;
}

bool ExperimentForm::saveFile(const QString &path, QString *error)
{
    json j = experiment();
    if (!j.contains("name") || j["name"] == "")
        j["name"] = ss(QFileInfo(path).completeBaseName());
    // Replaced only once written whole (found by an audit: on a full disk the file was left empty, and no error said
    // so).
    if (const auto written = lbk::writeFileReplacing(ss(path), j.dump(2) + "\n"); !written) {
        if (error)
            *error = qs(written.message());
        return false;
    }
    m_loaded = j;
    m_file = QFileInfo(path).absoluteFilePath();
    setFieldValue(QStringLiteral("name"), j["name"]);
    showFile();
    setModified(false);
    Q_EMIT fileChanged(m_file);
    return true;
}

void ExperimentForm::openInteractively()
{
    if (!mayReplace(tr("Open experiment")))
        return;
    const QString file = filedialogs::openFile(this, tr("Open experiment"),
                                                      m_file.isEmpty() ? experimentsFolder() : QFileInfo(m_file).path(),
                                                      tr("Experiments (*.json);;All files (*)"));
    if (file.isEmpty())
        return;
    QString error;
    if (!openFile(file, &error))
        QMessageBox::warning(this, tr("Open experiment"), error);
}

bool ExperimentForm::save()
{
    if (m_file.isEmpty())
        return saveAs();
    QString error;
    if (!saveFile(m_file, &error)) {
        QMessageBox::warning(this, tr("Save experiment"), error);
        return false;
    }
    return true;
}

bool ExperimentForm::saveAs()
{
    const QString name = fieldValue(QStringLiteral("name")).is_string()
                             ? qs(fieldValue(QStringLiteral("name")).get<std::string>())
                             : QString();
    QString file = filedialogs::saveFile(
        this, tr("Save experiment"),
        QDir(m_file.isEmpty() ? experimentsFolder() : QFileInfo(m_file).path())
            .filePath((name.isEmpty() ? QStringLiteral("experiment") : name) + QStringLiteral(".json")),
        tr("Experiments (*.json)"));
    if (file.isEmpty())
        return false;
    if (QFileInfo(file).suffix().isEmpty())
        file += QStringLiteral(".json");
    QString error;
    if (!saveFile(file, &error)) {
        QMessageBox::warning(this, tr("Save experiment"), error);
        return false;
    }
    return true;
}

bool ExperimentForm::mayReplace(const QString &what)
{
    if (!m_modified || !m_askToSave)
        return true;
    const auto answer = QMessageBox::question(this, what, tr("The experiment has unsaved changes. Save them first?"),
                                              QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel);
    return answer == QMessageBox::Discard || (answer == QMessageBox::Save && save());
}

void ExperimentForm::newExperiment()
{
    if (!mayReplace(tr("New experiment")))
        return;
    setExperiment(json{{"name", "new-experiment"}, {"data", {{"path", "arxiv/arxiv-sample-5k.jsonl"}}}});
}

} // namespace labbook
