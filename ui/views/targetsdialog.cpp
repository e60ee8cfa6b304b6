#include "targetsdialog.h"

#include <algorithm>
#include <optional>

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenu>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSet>
#include <QSignalBlocker>
#include <QTabWidget>
#include <QVBoxLayout>

#include "async.h"
#include "experiment/schema.h"
#include "format.h"
#include "wheelguard.h"

namespace labbook {

using nlohmann::json;

namespace {

// "ssh.host" -> ["ssh", "host"]
std::vector<std::string> keyPath(const QString &key)
{
    std::vector<std::string> parts;
    for (const auto &p : key.split(QLatin1Char('.')))
        parts.push_back(ss(p));
    return parts;
}

json valueAt(const json &entry, const QString &key)
{
    const json *v = &entry;
    for (const auto &k : keyPath(key)) {
        if (!v->is_object() || !v->contains(k))
            return json();
        v = &(*v)[k];
    }
    return *v;
}

// Sets entry[key] (null erases it; an object left empty by that goes too).
void setValueAt(json &entry, const QString &key, const json &value)
{
    const auto parts = keyPath(key);
    if (!entry.is_object())
        entry = json::object();
    json *parent = &entry;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
        if (value.is_null() && (!parent->contains(parts[i]) || !(*parent)[parts[i]].is_object()))
            return;
        json &child = (*parent)[parts[i]];
        if (!child.is_object())
            child = json::object();
        parent = &child;
    }
    if (value.is_null())
        parent->erase(parts.back());
    else
        (*parent)[parts.back()] = value;
    if (value.is_null() && parts.size() > 1 && parent->empty())
        entry.erase(parts.front());
}

QString editorText(QWidget *editor)
{
    if (auto *e = qobject_cast<QLineEdit *>(editor))
        return e->text();
    if (auto *p = qobject_cast<QPlainTextEdit *>(editor))
        return p->toPlainText();
    return {};
}

void setEditorText(QWidget *editor, const QString &text)
{
    if (auto *e = qobject_cast<QLineEdit *>(editor)) {
        if (e->text() != text)
            e->setText(text);
    } else if (auto *p = qobject_cast<QPlainTextEdit *>(editor)) {
        if (p->toPlainText() != text)
            p->setPlainText(text);
    }
}

QString displayText(const json &v)
{
    if (v.is_null())
        return {};
    if (v.is_string())
        return qs(v.get<std::string>());
    if (v.is_array()) {
        QStringList lines;
        for (const auto &x : v)
            lines << (x.is_string() ? qs(x.get<std::string>()) : qs(x.dump()));
        return lines.join(QLatin1Char('\n'));
    }
    return qs(v.dump());
}

} // namespace

TargetsDialog::TargetsDialog(const QString &path, QWidget *parent) : QDialog(parent), m_path(path)
{
    setObjectName(QStringLiteral("targetsDialog"));
    setWindowTitle(tr("Launch targets"));
    buildUi();
    load();
}

// A check still running (up to a minute) is not waited for: it works on its own copy of the target.
TargetsDialog::~TargetsDialog() = default;

void TargetsDialog::buildUi()
{
    auto *outer = new QVBoxLayout(this);
    m_fileLabel = new QLabel(this);
    m_fileLabel->setObjectName(QStringLiteral("fileLabel"));
    m_fileLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_fileLabel->setWordWrap(true);
    outer->addWidget(m_fileLabel);
    auto *body = new QHBoxLayout;
    body->addLayout(buildTargetList());
    m_editor = new QWidget(this);
    auto *right = new QVBoxLayout(m_editor);
    right->setContentsMargins(0, 0, 0, 0);
    right->addLayout(buildEntryHead());
    right->addWidget(buildEntryTabs(), 1);
    buildCheckArea(right);
    body->addWidget(m_editor, 1);
    outer->addLayout(body, 1);
    outer->addWidget(buildButtons());
    connectEditors();
    resize(980, 780);
}

// The targets of the file, with Add (by type) and Remove under them.
QVBoxLayout *TargetsDialog::buildTargetList()
{
    auto *left = new QVBoxLayout;
    m_list = new QListWidget(this);
    m_list->setObjectName(QStringLiteral("targetList"));
    m_list->setMinimumWidth(170);
    m_list->setMaximumWidth(240);
    left->addWidget(m_list, 1);
    auto *listButtons = new QHBoxLayout;
    auto *add = new QPushButton(tr("Add"), this);
    add->setObjectName(QStringLiteral("addTarget"));
    auto *addMenu = new QMenu(add);
    for (const auto &[type, text] :
         {std::pair{QStringLiteral("ssh"), tr("ssh host")}, std::pair{QStringLiteral("slurm"), tr("Slurm cluster")},
          std::pair{QStringLiteral("command"), tr("Command template (gcloud, ...)")}})
        addMenu->addAction(text, this, [this, type = type] { addTarget(type); });
    add->setMenu(addMenu);
    m_remove = new QPushButton(tr("Remove"), this);
    m_remove->setObjectName(QStringLiteral("removeTarget"));
    connect(m_remove, &QPushButton::clicked, this, &TargetsDialog::removeCurrent);
    listButtons->addWidget(add);
    listButtons->addWidget(m_remove);
    left->addLayout(listButtons);
    return left;
}

// The entry's name (with its own error line) and type.
QFormLayout *TargetsDialog::buildEntryHead()
{
    auto *head = new QFormLayout;
    head->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    auto *nameCell = new QWidget(m_editor);
    auto *nameBox = new QVBoxLayout(nameCell);
    nameBox->setContentsMargins(0, 0, 0, 0);
    nameBox->setSpacing(2);
    m_name = new QLineEdit(nameCell);
    m_name->setObjectName(QStringLiteral("name"));
    m_name->setToolTip(tr("The name lbk and the form use (lbk run FILE --target NAME); no spaces, quotes or "
                          "slashes; \"local\" is built in"));
    m_nameErrorLabel = new QLabel(nameCell);
    m_nameErrorLabel->setObjectName(QStringLiteral("error:name"));
    m_nameErrorLabel->setStyleSheet(toneStyle(Tone::Problem));
    m_nameErrorLabel->setWordWrap(true);
    m_nameErrorLabel->setVisible(false);
    nameBox->addWidget(m_name);
    nameBox->addWidget(m_nameErrorLabel);
    head->addRow(tr("Name"), nameCell);
    m_type = new QComboBox(m_editor);
    m_type->setObjectName(QStringLiteral("type"));
    WheelGuard::install(m_type); // scrolling the dialog past it must not change a target's type
    m_type->addItems({QStringLiteral("ssh"), QStringLiteral("slurm"), QStringLiteral("command")});
    m_type->setToolTip(tr("ssh: a host running lbk worker; slurm: a cluster, the worker submitted with sbatch; "
                          "command: any command template that runs a shell command elsewhere ({cmd})"));
    head->addRow(tr("Type"), m_type);
    return head;
}

// The entry as fields for the common keys (Settings) and as its whole JSON.
QTabWidget *TargetsDialog::buildEntryTabs()
{
    m_tabs = new QTabWidget(m_editor);
    m_tabs->setObjectName(QStringLiteral("entryTabs"));
    auto *scroll = new QScrollArea(m_tabs);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    auto *formHost = new QWidget;
    auto *formColumn = new QVBoxLayout(formHost);
    m_form = new QFormLayout;
    formColumn->addLayout(m_form);
    formColumn->addStretch(1); // spare height goes below the fields, not between them
    m_form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    addSettingsFields();
    auto *more = new QLabel(tr("env, vars, sbatch, ssh_options, worker and the other keys: JSON tab "
                               "(docs/LAUNCH.md lists them all)."),
                            formHost);
    more->setWordWrap(true);
    more->setEnabled(false);
    m_form->addRow(more);
    scroll->setWidget(formHost);
    m_tabs->addTab(scroll, tr("Settings"));
    m_raw = new QPlainTextEdit(m_tabs);
    m_raw->setObjectName(QStringLiteral("rawJson"));
    m_raw->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_raw->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_raw->setTabChangesFocus(true);
    m_tabs->addTab(m_raw, tr("JSON"));
    return m_tabs;
}

void TargetsDialog::addSettingsFields()
{
    const QStringList all = {QStringLiteral("ssh"), QStringLiteral("slurm"), QStringLiteral("command")};
    const QStringList ssh = {QStringLiteral("ssh")}, slurm = {QStringLiteral("slurm")},
                      command = {QStringLiteral("command")};
    addField(QStringLiteral("description"), QStringLiteral("description"), Kind::Text, all,
             tr("e.g. the lab's A100 box (8 GPUs)"),
             tr("One line shown beside the name in lbk targets and the form's target menu"));
    addField(QStringLiteral("host"), QStringLiteral("host *"), Kind::Text, ssh, QStringLiteral("gpu1.lab.example.org"),
             tr("Where to connect (the user goes in \"user\")"));
    addField(QStringLiteral("port"), QStringLiteral("port"), Kind::Int, ssh, QStringLiteral("22"), tr("1 to 65535"));
    addField(QStringLiteral("user"), QStringLiteral("user"), Kind::Text, ssh, tr("ssh's default"),
             tr("Remote user name"));
    addField(QStringLiteral("identity_file"), QStringLiteral("identity_file"), Kind::Text, ssh,
             QStringLiteral("~/.ssh/id_ed25519"), tr("Private key (~/ allowed); never printed, logged or stored"));
    addField(QStringLiteral("known_hosts"), QStringLiteral("known_hosts"), Kind::Text, ssh, tr("ssh's own files"),
             tr("The known_hosts file to check the host key against; Labbook never accepts a host key by itself"));
    addField(QStringLiteral("ssh.host"), QStringLiteral("ssh.host"), Kind::Text, slurm,
             tr("empty: sbatch runs on this machine"), tr("The login node, reached with ssh"));
    addField(QStringLiteral("ssh.user"), QStringLiteral("ssh.user"), Kind::Text, slurm, tr("ssh's default"),
             tr("User on the login node"));
    addField(QStringLiteral("ssh.port"), QStringLiteral("ssh.port"), Kind::Int, slurm, QStringLiteral("22"),
             tr("ssh port of the login node"));
    addField(QStringLiteral("partition"), QStringLiteral("partition"), Kind::Text, slurm, tr("Slurm's default"),
             tr("sbatch --partition"));
    addField(QStringLiteral("time"), QStringLiteral("time"), Kind::Text, slurm, QStringLiteral("04:00:00"),
             tr("sbatch --time: the job's time limit"));
    addField(QStringLiteral("cpus"), QStringLiteral("cpus"), Kind::Int, slurm, QStringLiteral("8"),
             tr("sbatch --cpus-per-task (0: Slurm's default)"));
    addField(QStringLiteral("mem"), QStringLiteral("mem"), Kind::Text, slurm, QStringLiteral("32G"),
             tr("sbatch --mem"));
    addField(QStringLiteral("gres"), QStringLiteral("gres"), Kind::Text, slurm, QStringLiteral("gpu:1"),
             tr("sbatch --gres"));
    addField(QStringLiteral("command"), QStringLiteral("command *"), Kind::Lines, command,
             tr("one argument per line, e.g.\ngcloud\ncompute\ntpus\ntpu-vm\nssh\n{name}\n--command\n{cmd}"),
             tr("The argv template: {cmd} is replaced by the remote shell command, {x} by vars.x (edit vars in "
                "the JSON tab)"));
    addField(QStringLiteral("work_dir"), QStringLiteral("work_dir"), Kind::Text, all,
             tr("labbook (under the remote home)"),
             tr("Remote folder for runs and staged data; relative means under the remote home"));
    addField(QStringLiteral("lbk"), QStringLiteral("lbk"), Kind::Text, all, tr("lbk (on the remote PATH)"),
             tr("The remote lbk program"));
    addField(QStringLiteral("data_root"), QStringLiteral("data_root"), Kind::Text, all,
             tr("empty: the data file is copied there"),
             tr("A remote folder that already holds the data: nothing is copied, the worker gets --data-root"));
    addField(QStringLiteral("setup"), QStringLiteral("setup"), Kind::Lines, all,
             tr("shell lines run before the worker, one per line\n(module load ..., a virtualenv)"),
             tr("Shell code by design: it comes from your own file"));
}

// The entry's problems, Check and what the check found.
void TargetsDialog::buildCheckArea(QVBoxLayout *right)
{
    m_problemsLabel = new QLabel(m_editor);
    m_problemsLabel->setObjectName(QStringLiteral("problems"));
    m_problemsLabel->setWordWrap(true);
    m_problemsLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    right->addWidget(m_problemsLabel);

    auto *checkRow = new QHBoxLayout;
    m_check = new QPushButton(tr("Check"), m_editor);
    m_check->setObjectName(QStringLiteral("check"));
    m_check->setToolTip(tr("Connect and report the host, the lbk version there, free disk, devices and Slurm "
                           "partitions: what `lbk targets check NAME` reports. Checks the entry as edited."));
    connect(m_check, &QPushButton::clicked, this, &TargetsDialog::checkCurrent);
    m_checkStatus = new QLabel(m_editor);
    m_checkStatus->setObjectName(QStringLiteral("checkStatus"));
    checkRow->addWidget(m_check);
    checkRow->addWidget(m_checkStatus, 1);
    right->addLayout(checkRow);
    m_checkResult = new QPlainTextEdit(m_editor);
    m_checkResult->setObjectName(QStringLiteral("checkResult"));
    m_checkResult->setReadOnly(true);
    m_checkResult->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_checkResult->setLineWrapMode(QPlainTextEdit::WidgetWidth);
    m_checkResult->setPlaceholderText(tr("Check connects to the target and reports what it finds."));
    m_checkResult->setFixedHeight(m_checkResult->fontMetrics().lineSpacing() * 7 + 12);
    right->addWidget(m_checkResult);
}

QDialogButtonBox *TargetsDialog::buildButtons()
{
    auto *buttons = new QDialogButtonBox(this);
    m_save = buttons->addButton(QDialogButtonBox::Save);
    m_save->setObjectName(QStringLiteral("save"));
    m_save->setToolTip(tr("Write the targets file (mode 0600); the form's target list follows"));
    auto *close = buttons->addButton(QDialogButtonBox::Close);
    connect(m_save, &QPushButton::clicked, this, &TargetsDialog::save);
    connect(close, &QPushButton::clicked, this, &TargetsDialog::reject);

    return buttons;
}

void TargetsDialog::connectEditors()
{
    connect(m_list, &QListWidget::currentRowChanged, this, [this](int row) {
        if (m_updating || row < 0)
            return;
        m_current = m_list->item(row)->data(Qt::UserRole).toString();
        m_nameError.clear();
        m_jsonError.clear(); // unparsed JSON of the entry left behind is dropped; the document keeps its last form
        showEntry();
        revalidate();
    });
    connect(m_name, &QLineEdit::textEdited, this, &TargetsDialog::nameEdited);
    connect(m_type, &QComboBox::currentTextChanged, this, &TargetsDialog::typeChosen);
    connect(m_raw, &QPlainTextEdit::textChanged, this, &TargetsDialog::rawEdited);
}

void TargetsDialog::addField(const QString &key, const QString &label, Kind kind, const QStringList &types,
                             const QString &placeholder, const QString &help)
{
    Field f;
    f.key = key;
    f.kind = kind;
    f.types = types;
    f.cell = new QWidget;
    auto *v = new QVBoxLayout(f.cell);
    v->setContentsMargins(0, 0, 0, 0);
    v->setSpacing(2);
    if (kind == Kind::Lines) {
        auto *edit = new QPlainTextEdit(f.cell);
        edit->setPlaceholderText(placeholder);
        edit->setTabChangesFocus(true);
        edit->setFixedHeight(edit->fontMetrics().lineSpacing() * 4 + 12);
        f.editor = edit;
    } else {
        auto *edit = new QLineEdit(f.cell);
        edit->setPlaceholderText(placeholder);
        f.editor = edit;
    }
    f.editor->setObjectName(QStringLiteral("key:") + key);
    f.editor->setToolTip(help);
    v->addWidget(f.editor);
    f.error = new QLabel(f.cell);
    f.error->setObjectName(QStringLiteral("error:") + key);
    f.error->setStyleSheet(toneStyle(Tone::Problem));
    f.error->setWordWrap(true);
    f.error->setVisible(false);
    v->addWidget(f.error);
    f.label = new QLabel(label);
    f.label->setToolTip(help);
    m_form->addRow(f.label, f.cell);
    const size_t index = m_fields.size();
    m_fields.push_back(f);
    if (auto *e = qobject_cast<QLineEdit *>(f.editor))
        connect(e, &QLineEdit::textChanged, this, [this, index] { fieldEdited(m_fields[index]); });
    else if (auto *p = qobject_cast<QPlainTextEdit *>(f.editor))
        connect(p, &QPlainTextEdit::textChanged, this, [this, index] { fieldEdited(m_fields[index]); });
}

void TargetsDialog::load()
{
    m_doc = {{"targets", json::object()}};
    m_loadError.clear();
    const bool exists = QFileInfo::exists(m_path);
    if (exists) {
        auto j = lbk::readJsonFile(ss(m_path));
        if (!j)
            m_loadError = qs(j.message()) + tr(" (fix it in an editor, or build the targets anew here: Save "
                                               "replaces the file)");
        else if (!j->is_object())
            m_loadError = tr("%1 does not hold a JSON object; Save replaces it").arg(m_path);
        else
            m_doc = *j;
        if (!m_doc.contains("targets"))
            m_doc["targets"] = json::object();
    }
    m_fileLabel->setText(
        tr("Targets file: %1%2").arg(m_path, exists ? QString() : tr(" (does not exist yet; Save creates it)")));
    m_current.clear();
    if (m_doc["targets"].is_object() && !m_doc["targets"].empty())
        m_current = qs(m_doc["targets"].begin().key());
    fillList();
    showEntry();
    setModified(false);
    revalidate();
}

QStringList TargetsDialog::targetNames() const
{
    QStringList names;
    if (m_doc.contains("targets") && m_doc["targets"].is_object())
        for (const auto &[name, _] : m_doc["targets"].items())
            names << qs(name);
    return names;
}

void TargetsDialog::selectTarget(const QString &name)
{
    for (int i = 0; i < m_list->count(); ++i)
        if (m_list->item(i)->data(Qt::UserRole).toString() == name)
            m_list->setCurrentRow(i);
}

json &TargetsDialog::entry()
{
    return m_doc["targets"][ss(m_current)];
}

QString TargetsDialog::addTarget(const QString &type)
{
    if (!m_doc["targets"].is_object())
        return {};
    QString name;
    for (int i = 1; name.isEmpty() || m_doc["targets"].contains(ss(name)); ++i)
        name = type + QLatin1Char('-') + QString::number(i);
    // Required keys are left out, so the form says at once what to fill in.
    m_doc["targets"][ss(name)] = {{"type", ss(type)}};
    m_current = name;
    m_nameError.clear();
    m_jsonError.clear();
    fillList();
    showEntry();
    setModified(true);
    revalidate();
    m_tabs->setCurrentIndex(0);
    m_name->setFocus();
    m_name->selectAll();
    return name;
}

void TargetsDialog::removeCurrent()
{
    if (m_current.isEmpty() || !m_doc["targets"].is_object())
        return;
    const int row = m_list->currentRow();
    m_doc["targets"].erase(ss(m_current));
    const QStringList names = targetNames();
    m_current = names.isEmpty() ? QString() : names.at(qBound(0, row, int(names.size()) - 1));
    m_nameError.clear();
    m_jsonError.clear();
    fillList();
    showEntry();
    setModified(true);
    revalidate();
}

QWidget *TargetsDialog::field(const QString &key) const
{
    for (const auto &f : m_fields)
        if (f.key == key)
            return f.editor;
    return nullptr;
}

QString TargetsDialog::fieldError(const QString &key) const
{
    if (key == QLatin1String("name"))
        return m_nameErrorLabel->isVisibleTo(this) ? m_nameErrorLabel->text() : QString();
    for (const auto &f : m_fields)
        if (f.key == key)
            return f.error->text();
    return {};
}

void TargetsDialog::fillList()
{
    m_updating = true;
    m_list->clear();
    int currentRow = -1;
    for (const auto &name : targetNames()) {
        const json &e = m_doc["targets"][ss(name)];
        const QString type =
            e.is_object() && e.contains("type") && e["type"].is_string() ? qs(e["type"].get<std::string>()) : QString();
        auto *item = new QListWidgetItem(type.isEmpty() ? name : QStringLiteral("%1  (%2)").arg(name, type), m_list);
        item->setData(Qt::UserRole, name);
        if (name == m_current)
            currentRow = m_list->count() - 1;
    }
    m_list->setCurrentRow(currentRow);
    m_updating = false;
    m_remove->setEnabled(!m_current.isEmpty());
    m_editor->setEnabled(!m_current.isEmpty());
}

void TargetsDialog::showEntry()
{
    m_updating = true;
    const json e = m_current.isEmpty() ? json::object() : entry();
    m_name->setText(m_current);
    const QString type =
        e.is_object() && e.contains("type") && e["type"].is_string() ? qs(e["type"].get<std::string>()) : QString();
    m_type->setCurrentIndex(qMax(0, m_type->findText(type)));
    for (auto &f : m_fields) {
        setEditorText(f.editor, displayText(valueAt(e, f.key)));
        m_form->setRowVisible(f.cell, f.types.contains(m_type->currentText()));
    }
    m_updating = false;
    showRaw();
    m_checkResult->clear();
    m_checkStatus->clear();
}

void TargetsDialog::showRaw()
{
    m_updating = true;
    const QString text = m_current.isEmpty() ? QString() : qs(entry().dump(2));
    if (m_raw->toPlainText() != text)
        m_raw->setPlainText(text);
    m_updating = false;
}

void TargetsDialog::fieldEdited(Field &f)
{
    if (m_updating || m_current.isEmpty())
        return;
    const QString text = editorText(f.editor);
    json value;
    switch (f.kind) {
    case Kind::Text:
        if (!text.isEmpty())
            value = ss(text);
        break;
    case Kind::Int: {
        const QString t = text.trimmed();
        bool ok = false;
        const qlonglong n = t.toLongLong(&ok);
        // Not a number: kept as typed, so the validation names the problem as it would in the file.
        if (!t.isEmpty())
            value = ok ? json(n) : json(ss(t));
        break;
    }
    case Kind::Lines: {
        json lines = json::array();
        for (const auto &line : text.split(QLatin1Char('\n')))
            if (!line.trimmed().isEmpty())
                lines.push_back(ss(line));
        if (!lines.empty())
            value = lines;
        break;
    }
    }
    setValueAt(entry(), f.key, value);
    m_jsonError.clear();
    showRaw();
    setModified(true);
    revalidate();
}

void TargetsDialog::rawEdited()
{
    if (m_updating || m_current.isEmpty())
        return;
    const std::string text = ss(m_raw->toPlainText());
    try {
        entry() = json::parse(text);
        m_jsonError.clear();
    } catch (const json::parse_error &e) {
        std::string why = e.what();
        if (const auto close = why.find("] "); why.rfind("[json.exception", 0) == 0 && close != std::string::npos)
            why = why.substr(close + 2);
        m_jsonError = tr("%1 (JSON tab): %2").arg(m_current, qs(why));
        revalidate();
        return;
    }
    // The form follows the JSON (the raw editor keeps its text and cursor).
    m_updating = true;
    const json &e = entry();
    const QString type =
        e.is_object() && e.contains("type") && e["type"].is_string() ? qs(e["type"].get<std::string>()) : QString();
    if (m_type->findText(type) >= 0)
        m_type->setCurrentIndex(m_type->findText(type));
    for (auto &f : m_fields) {
        setEditorText(f.editor, displayText(valueAt(e, f.key)));
        m_form->setRowVisible(f.cell, f.types.contains(m_type->currentText()));
    }
    m_updating = false;
    fillList();
    setModified(true);
    revalidate();
}

void TargetsDialog::nameEdited(const QString &name)
{
    if (m_updating || m_current.isEmpty())
        return;
    if (name == m_current) {
        m_nameError.clear();
    } else if (name.isEmpty()) {
        m_nameError = tr("A target needs a name.");
    } else if (m_doc["targets"].contains(ss(name))) {
        m_nameError = tr("A target named \"%1\" already exists.").arg(name);
    } else {
        json e = entry();
        m_doc["targets"].erase(ss(m_current));
        m_doc["targets"][ss(name)] = std::move(e);
        m_current = name;
        m_nameError.clear();
        fillList();
        setModified(true);
    }
    revalidate();
}

void TargetsDialog::typeChosen(const QString &type)
{
    if (m_updating || m_current.isEmpty())
        return;
    json &e = entry();
    if (!e.is_object())
        e = json::object();
    e["type"] = ss(type);
    // Keys the new type does not take would only be reported as unknown: drop them.
    const auto keys = lbk::targetKeys(ss(type));
    for (auto it = e.begin(); it != e.end();)
        it = std::find(keys.begin(), keys.end(), it.key()) == keys.end() ? e.erase(it) : std::next(it);
    m_jsonError.clear();
    showEntry();
    fillList();
    setModified(true);
    revalidate();
}

std::optional<lbk::Target> TargetsDialog::currentParsed() const
{
    if (m_current.isEmpty() || !m_jsonError.isEmpty() || !m_nameError.isEmpty())
        return std::nullopt;
    const json single = {{"targets", {{ss(m_current), m_doc["targets"][ss(m_current)]}}}};
    auto file = lbk::targetsFromJson(single);
    if (!file)
        return std::nullopt;
    if (const auto *t = file->find(ss(m_current)))
        return *t;
    return std::nullopt;
}

bool TargetsDialog::canSave() const
{
    return m_modified && m_jsonError.isEmpty() && m_nameError.isEmpty() && lbk::validateTargetsJson(m_doc).empty();
}

void TargetsDialog::revalidate()
{
    m_problems.clear();
    if (!m_loadError.isEmpty())
        m_problems << m_loadError;
    if (!m_jsonError.isEmpty())
        m_problems << m_jsonError;
    if (!m_nameError.isEmpty())
        m_problems << m_nameError;
    std::map<QString, QStringList> byField;
    QStringList nameIssues;
    if (!m_nameError.isEmpty())
        nameIssues << m_nameError;
    QSet<QString> troubled;
    const std::string prefix = "targets." + ss(m_current);
    for (const auto &issue : lbk::validateTargetsJson(m_doc)) {
        const QString message = qs(issue.message);
        m_problems << message;
        for (const auto &name : targetNames())
            if (issue.path == "targets." + ss(name) || issue.path.rfind("targets." + ss(name) + ".", 0) == 0)
                troubled.insert(name);
        if (m_current.isEmpty())
            continue;
        if (issue.path == prefix) {
            nameIssues << message;
        } else if (issue.path.rfind(prefix + ".", 0) == 0) {
            const QString rest = qs(issue.path.substr(prefix.size() + 1));
            for (const auto &f : m_fields)
                if (rest == f.key || rest.startsWith(f.key + QLatin1Char('[')))
                    byField[f.key] << message;
        }
    }
    for (auto &f : m_fields) {
        const QString text = byField.count(f.key) ? byField[f.key].join(QLatin1Char('\n')) : QString();
        f.error->setText(text);
        f.error->setVisible(!text.isEmpty());
    }
    m_nameErrorLabel->setText(nameIssues.join(QLatin1Char('\n')));
    m_nameErrorLabel->setVisible(!nameIssues.isEmpty());
    for (int i = 0; i < m_list->count(); ++i) {
        auto *item = m_list->item(i);
        const bool bad = troubled.contains(item->data(Qt::UserRole).toString());
        item->setForeground(bad ? QBrush(QColor(0xe5, 0x39, 0x35)) : QBrush());
        item->setToolTip(bad ? tr("This entry has problems") : QString());
    }
    if (m_problems.isEmpty()) {
        m_problemsLabel->setText(m_modified ? tr("No problems: ready to save.") : tr("No problems."));
        m_problemsLabel->setStyleSheet(QString());
    } else {
        QStringList lines;
        for (const auto &p : m_problems)
            lines << p.toHtmlEscaped().replace(QLatin1Char('\n'), QStringLiteral("<br>"));
        m_problemsLabel->setText(lines.join(QStringLiteral("<br>")));
        m_problemsLabel->setStyleSheet(toneStyle(Tone::Problem));
    }
    m_save->setEnabled(canSave());
    m_check->setEnabled(!m_checkJob.isRunning() && currentParsed().has_value());
}

void TargetsDialog::setModified(bool on)
{
    m_modified = on;
    setWindowTitle(tr("Launch targets") + (on ? QStringLiteral(" *") : QString()));
}

bool TargetsDialog::save()
{
    if (!canSave())
        return false;
    if (auto st = lbk::saveTargetsFile(ss(m_path), m_doc); !st) {
        m_problems << qs(st.message());
        m_problemsLabel->setText(qs(st.message()).toHtmlEscaped().replace(QLatin1Char('\n'), QStringLiteral("<br>")));
        m_problemsLabel->setStyleSheet(toneStyle(Tone::Problem));
        return false;
    }
    m_loadError.clear();
    setModified(false);
    m_fileLabel->setText(tr("Targets file: %1 (saved)").arg(m_path));
    revalidate();
    Q_EMIT saved(m_path);
    return true;
}

void TargetsDialog::checkCurrent()
{
    const auto target = currentParsed();
    if (!target || m_checkJob.isRunning())
        return;
    m_check->setEnabled(false);
    m_checkStatus->setStyleSheet(QString());
    m_checkStatus->setText(tr("Checking %1 (%2)...").arg(m_current, qs(target->describe())));
    m_checkResult->clear();
    m_checkJob = async::run(QThreadPool::globalInstance(), this, [t = *target] { return lbk::checkTarget(t); },
                            [this](const lbk::TargetCheck &check) { showCheck(check); });
}

void TargetsDialog::showCheck(const lbk::TargetCheck &check)
{
    const QString report = qs(check.text());
    m_checkResult->setPlainText(report);
    m_checkStatus->setText(check.ready ? tr("ready") : check.connected ? tr("not ready") : tr("cannot connect"));
    m_checkStatus->setStyleSheet(check.ready ? toneStyle(Tone::Fine) + QStringLiteral(" font-weight: bold;")
                                             : toneStyle(Tone::Problem) + QStringLiteral(" font-weight: bold;"));
    revalidate(); // enables Check again
    Q_EMIT checkFinished(report, check.ready);
}

void TargetsDialog::reject()
{
    if (m_modified) {
        const auto answer = QMessageBox::question(this, tr("Launch targets"), tr("Save the changed targets first?"),
                                                  QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel);
        if (answer == QMessageBox::Cancel || (answer == QMessageBox::Save && !save()))
            return;
    }
    QDialog::reject();
}

} // namespace labbook
