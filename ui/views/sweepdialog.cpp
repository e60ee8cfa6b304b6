#include "views/sweepdialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>

#include "experiment/schema.h"
#include "format.h"
#include "sweep/searchspace.h"
#include "sweep/sweepspec.h"

namespace labbook {

using nlohmann::json;

namespace {

enum Column { Key, Kind, Low, High };
const QStringList kGroups = {QStringLiteral("model"), QStringLiteral("optimizer"), QStringLiteral("schedule"),
                             QStringLiteral("training"), QStringLiteral("tokenizer")};

QString num(double v) { return QString::number(v, 'g', 4); }

// The range a key starts with: the field's usual sweep range, else around its current value, within the schema's
// limits.
std::pair<QString, QString> defaultRange(const lbk::FieldSpec &f, const json &current)
{
    if (f.type == lbk::FieldType::Enum) {
        QStringList choices;
        for (const auto &c : f.choices)
            choices << QString::fromStdString(c);
        return {choices.join(QStringLiteral(", ")), QString()};
    }
    if (f.type == lbk::FieldType::Bool)
        return {QStringLiteral("false, true"), QString()};
    if (f.sweepRange)
        return {num(f.sweepRange->first), num(f.sweepRange->second)};
    const double v = current.is_number() ? current.get<double>() : f.min.value_or(0);
    double lo = f.logScale ? v / 10 : v / 2, hi = f.logScale ? v * 10 : (v == 0 ? 1 : v * 2);
    if (f.min)
        lo = std::max(lo, *f.min);
    if (f.max)
        hi = std::min(hi, *f.max);
    if (f.type == lbk::FieldType::Int)
        return {QString::number(std::llround(lo)), QString::number(std::llround(hi))};
    return {num(lo), num(hi)};
}

} // namespace

SweepDialog::SweepDialog(const json &experiment, const QStringList &targets, const QString &target, QWidget *parent)
    : QDialog(parent), m_experiment(experiment)
{
    setWindowTitle(tr("Sweep %1").arg(QString::fromStdString(experiment.value("name", std::string("experiment")))));
    m_keys = new QTableWidget(0, 4, this);
    m_keys->setObjectName(QStringLiteral("sweepKeys"));
    m_keys->setHorizontalHeaderLabels({tr("Key"), tr("Drawn as"), tr("Low, or values"), tr("High")});
    m_keys->verticalHeader()->hide();
    m_keys->horizontalHeader()->setSectionResizeMode(Key, QHeaderView::ResizeToContents);
    m_keys->horizontalHeader()->setStretchLastSection(true);
    // Lists of values ("unigram, bpe, word") need more room than a range's high end.
    m_keys->horizontalHeader()->resizeSection(Low, m_keys->fontMetrics().horizontalAdvance(QStringLiteral("x")) * 30);
    addKeyRows();

    m_name = new QLineEdit(QString::fromStdString(experiment.value("name", std::string("experiment")) + "-sweep"), this);
    m_method = new QComboBox(this);
    m_method->setObjectName(QStringLiteral("sweepMethod"));
    m_method->addItem(tr("random"), QStringLiteral("random"));
    m_method->addItem(tr("grid"), QStringLiteral("grid"));
    m_trials = new QSpinBox(this);
    m_trials->setObjectName(QStringLiteral("sweepTrials"));
    m_trials->setRange(1, 10000);
    m_trials->setValue(12);
    m_seed = new QSpinBox(this);
    m_seed->setObjectName(QStringLiteral("sweepSeed"));
    m_seed->setRange(0, 1000000);
    m_seed->setValue(1);
    m_metric = new QLineEdit(this);
    const json metric = lbk::valueAt(lbk::withDefaults(experiment), "evaluation.metric");
    m_metric->setPlaceholderText(tr("val/%1, the experiment's evaluation.metric")
                                     .arg(metric.is_string() ? QString::fromStdString(metric.get<std::string>()) : QStringLiteral("...")));
    m_stopping = new QComboBox(this);
    m_stopping->addItem(tr("none"), QStringLiteral("none"));
    m_stopping->addItem(tr("ASHA (successive halving)"), QStringLiteral("asha"));
    m_stopping->addItem(tr("median rule"), QStringLiteral("median"));
    m_stopping->setCurrentIndex(1);
    m_parallel = new QSpinBox(this);
    m_parallel->setRange(1, 64);
    m_parallel->setValue(2);
    m_target = new QComboBox(this);
    for (const auto &t : targets)
        m_target->addItem(t, t);
    m_target->setCurrentIndex(std::max(0, m_target->findData(target)));
    auto *form = new QFormLayout;
    form->addRow(tr("Name"), m_name);
    form->addRow(tr("Method"), m_method);
    form->addRow(tr("Trials"), m_trials);
    form->addRow(tr("Seed"), m_seed);
    form->addRow(tr("Metric"), m_metric);
    form->addRow(tr("Early stopping"), m_stopping);
    form->addRow(tr("At once"), m_parallel);
    form->addRow(tr("Target"), m_target);

    m_problems = new QLabel(this);
    m_problems->setObjectName(QStringLiteral("sweepProblems"));
    m_problems->setWordWrap(true);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    m_start = buttons->addButton(tr("Start sweep"), QDialogButtonBox::AcceptRole);
    m_start->setObjectName(QStringLiteral("startSweep"));
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_start, &QPushButton::clicked, this, [this] {
        if (!problems().isEmpty())
            return;
        Q_EMIT startRequested(sweep());
        accept();
    });
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("Tick the keys to vary:"), this));
    layout->addWidget(m_keys, 1);
    layout->addLayout(form);
    layout->addWidget(m_problems);
    layout->addWidget(buttons);
    resize(860, 760);

    connect(m_keys, &QTableWidget::itemChanged, this, &SweepDialog::revalidate);
    for (QComboBox *c : {m_method, m_stopping, m_target})
        connect(c, &QComboBox::currentIndexChanged, this, &SweepDialog::revalidate);
    for (QSpinBox *s : {m_trials, m_seed, m_parallel})
        connect(s, &QSpinBox::valueChanged, this, &SweepDialog::revalidate);
    for (QLineEdit *e : {m_name, m_metric})
        connect(e, &QLineEdit::textChanged, this, &SweepDialog::revalidate);
    revalidate();
}

void SweepDialog::addKeyRows()
{
    const json resolved = lbk::withDefaults(m_experiment); // conditions read the defaults too (char_ngrams 0)
    for (const auto &f : lbk::experimentFields()) {
        const bool tunable = f.type == lbk::FieldType::Int || f.type == lbk::FieldType::Float ||
                             f.type == lbk::FieldType::Enum || f.type == lbk::FieldType::Bool;
        if (!tunable || !f.hyperparameter || !kGroups.contains(QString::fromStdString(f.group)) ||
            !lbk::fieldApplies(f, resolved) || f.path == "training.objective" || f.path == "model.type")
            continue;
        const json current = lbk::valueAt(resolved, f.path);
        const int row = m_keys->rowCount();
        m_keys->insertRow(row);
        auto *key = new QTableWidgetItem(QString::fromStdString(f.path));
        key->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable);
        key->setCheckState(Qt::Unchecked);
        key->setToolTip(QString::fromStdString(f.help) + tr("\nNow: %1").arg(QString::fromStdString(current.dump())));
        m_keys->setItem(row, Key, key);
        auto *kind = new QComboBox(m_keys);
        if (f.type == lbk::FieldType::Float) {
            kind->addItem(tr("log-uniform"), QStringLiteral("log_uniform"));
            kind->addItem(tr("uniform"), QStringLiteral("uniform"));
            if (!f.logScale)
                kind->setCurrentIndex(1);
        } else if (f.type == lbk::FieldType::Int) {
            kind->addItem(tr("integers"), QStringLiteral("int_uniform"));
        }
        kind->addItem(tr("values"), QStringLiteral("values"));
        if (f.type == lbk::FieldType::Enum || f.type == lbk::FieldType::Bool)
            kind->setCurrentIndex(kind->count() - 1);
        connect(kind, &QComboBox::currentIndexChanged, this, [this, kind] {
            fitRowToKind(kind);
            revalidate();
        });
        m_keys->setCellWidget(row, Kind, kind);
        const auto [lo, hi] = defaultRange(f, current);
        m_keys->setItem(row, Low, new QTableWidgetItem(lo));
        m_keys->setItem(row, High, new QTableWidgetItem(hi));
        fitRowToKind(kind);
    }
}

// "values" reads the Low cell only: the High cell is emptied and locked, its number moved into the list (found by an
// audit: a High of 0.5 stayed on show and counted for nothing); a range unlocks it.
void SweepDialog::fitRowToKind(QComboBox *kind)
{
    int r = 0;
    while (r < m_keys->rowCount() && m_keys->cellWidget(r, Kind) != kind)
        ++r;
    QTableWidgetItem *low = m_keys->item(r, Low), *high = m_keys->item(r, High);
    if (!low || !high)
        return;
    const bool values = kind->currentData().toString() == QLatin1String("values");
    if (values && !high->text().trimmed().isEmpty()) {
        low->setText(low->text().trimmed() + QStringLiteral(", ") + high->text().trimmed());
        high->setText(QString());
    }
    high->setFlags(values ? Qt::NoItemFlags : Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemIsEditable);
    high->setToolTip(values ? tr("A list of values is given in full in the column before") : QString());
}

void SweepDialog::avoidNames(const QSet<QString> &taken)
{
    const QString base = m_name->text().trimmed();
    QString name = base;
    for (int n = 2; taken.contains(name); ++n)
        name = base + QStringLiteral("-%1").arg(n);
    m_name->setText(name);
}

int SweepDialog::rowOf(const QString &key) const
{
    for (int r = 0; r < m_keys->rowCount(); ++r)
        if (m_keys->item(r, Key)->text() == key)
            return r;
    return -1;
}

bool SweepDialog::setParameter(const QString &key, const QString &kind, const QString &low, const QString &high)
{
    const int r = rowOf(key);
    auto *combo = r >= 0 ? qobject_cast<QComboBox *>(m_keys->cellWidget(r, Kind)) : nullptr;
    if (!combo || combo->findData(kind) < 0)
        return false;
    combo->setCurrentIndex(combo->findData(kind));
    m_keys->item(r, Low)->setText(low);
    m_keys->item(r, High)->setText(high);
    m_keys->item(r, Key)->setCheckState(Qt::Checked);
    m_keys->scrollToItem(m_keys->item(r, Key)); // a key set from elsewhere (the LR finder's rate) is in view
    revalidate();
    return true;
}

void SweepDialog::sweepAroundRate(double rate)
{
    setParameter(QStringLiteral("optimizer.lr"), QStringLiteral("log_uniform"), num(rate / 10), num(rate * 10));
}

json SweepDialog::sweep() const
{
    json params = json::object();
    for (int r = 0; r < m_keys->rowCount(); ++r) {
        if (m_keys->item(r, Key)->checkState() != Qt::Checked)
            continue;
        const std::string key = m_keys->item(r, Key)->text().toStdString();
        const QString kind = qobject_cast<QComboBox *>(m_keys->cellWidget(r, Kind))->currentData().toString();
        const QString low = m_keys->item(r, Low)->text().trimmed(), high = m_keys->item(r, High)->text().trimmed();
        const lbk::FieldSpec *f = lbk::findField(key);
        if (kind == QLatin1String("values")) {
            json values = json::array();
            for (const QString &part : low.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
                const std::string text = part.trimmed().toStdString();
                json v = json::parse(text, nullptr, false); // numbers and true/false as JSON, words as strings
                if (v.is_discarded() || (f && f->type == lbk::FieldType::Enum))
                    v = text;
                values.push_back(v);
            }
            params[key] = {{"values", values}};
            continue;
        }
        bool okLow = false, okHigh = false;
        const double lo = low.toDouble(&okLow), hi = high.toDouble(&okHigh);
        json range = json::array({okLow ? json(lo) : json(low.toStdString()), okHigh ? json(hi) : json(high.toStdString())});
        if (kind == QLatin1String("int_uniform") && okLow && okHigh)
            range = json::array({std::llround(lo), std::llround(hi)});
        params[key] = {{kind.toStdString(), range}};
    }
    json j = {{"name", m_name->text().trimmed().toStdString()},
              {"experiment", m_experiment},
              {"method", m_method->currentData().toString().toStdString()},
              {"seed", m_seed->value()},
              {"trials", m_trials->value()},
              {"parallel", m_parallel->value()},
              {"target", m_target->currentData().toString().toStdString()},
              {"parameters", params},
              {"early_stopping", {{"type", m_stopping->currentData().toString().toStdString()}}}};
    if (!m_metric->text().trimmed().isEmpty())
        j["metric"] = m_metric->text().trimmed().toStdString();
    return j;
}

QString SweepDialog::problems() const
{
    const json j = sweep();
    if (j["parameters"].empty())
        return tr("Tick at least one key to vary.");
    auto spec = lbk::sweepFromJson(j, ".");
    if (!spec) {
        QString message = QString::fromStdString(spec.message());
        if (message.contains(QStringLiteral("a grid needs values"))) // the file's "step" has no field here
            message += tr(" (here: choose \"values\" for that key and list them)");
        return message;
    }
    if (auto trials = lbk::checkTrials(*spec); !trials) // as lbk validate and lbk sweep check them
        return QString::fromStdString(trials.message());
    return {};
}

void SweepDialog::revalidate()
{
    const bool grid = m_method->currentData().toString() == QStringLiteral("grid");
    m_seed->setEnabled(!grid);
    m_seed->setToolTip(grid ? tr("A grid runs its combinations in order: no draw uses the seed")
                            : tr("Seeds the random draws: the same seed draws the same trials"));
    const QString p = problems();
    QStringList notes; // a grid cut short, a random sweep that repeats: said in amber under the green line
    if (p.isEmpty())
        if (const auto spec = lbk::sweepFromJson(sweep(), "."))
            for (const auto &notice : lbk::sweepNotices(*spec))
                notes << toned(QString::fromStdString(notice), Tone::Note);
    m_problems->setTextFormat(notes.isEmpty() ? Qt::PlainText : Qt::RichText);
    m_problems->setStyleSheet(toneStyle(p.isEmpty() ? Tone::Fine : Tone::Problem));
    QString text = p.isEmpty() ? tr("The sweep is valid.") : p;
    if (!notes.isEmpty()) // only under a valid sweep
        text += QStringLiteral("<br>") + notes.join(QStringLiteral("<br>"));
    m_problems->setText(text);
    m_start->setEnabled(p.isEmpty());
}

} // namespace labbook
