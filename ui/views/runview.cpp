#include "runview.h"

#include <algorithm>
#include <utility>

#include <QLabel>
#include <QMap>
#include <QPlainTextEdit>
#include <QSplitter>
#include <QTabWidget>
#include <QVBoxLayout>

#include "experiment/experiment.h"
#include "launch/local.h"
#include "format.h"
#include "storeservice.h"
#include "views/classespage.h"
#include "views/curvespage.h"
#include "views/histogramspage.h"
#include "views/logpage.h"
#include "views/lrfinderpage.h"
#include "views/predictionspage.h"

namespace labbook {

RunView::RunView(StoreService *store, QWidget *parent)
    : QWidget(parent)
    , m_store(store)
{
    auto *layout = new QVBoxLayout(this);
    m_header = new QLabel(tr("Select a run in the list to see it here."), this);
    m_header->setObjectName(QStringLiteral("runHeader"));
    m_header->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_header->setWordWrap(true);
    layout->addWidget(m_header);
    m_error = new QLabel(this);
    m_error->setObjectName(QStringLiteral("runError"));
    m_error->setWordWrap(true);
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->setVisible(false);
    layout->addWidget(m_error);
    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName(QStringLiteral("runTabs"));
    m_tabs->setDocumentMode(true);

    auto *overview = new QSplitter(Qt::Vertical, m_tabs);
    m_overview = new QLabel(overview);
    m_overview->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_overview->setObjectName(QStringLiteral("runOverview"));
    m_overview->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::LinksAccessibleByMouse);
    m_overview->setWordWrap(true);
    connect(m_overview, &QLabel::linkActivated, this, [this](const QString &link) {
        if (link.startsWith(QLatin1String("run:"))) {
            m_linkedRun = link.mid(4).toLongLong(); // found by an audit: it opened on Curves, away from the link back
            Q_EMIT openRunRequested(m_linkedRun);
        }
    });
    m_config = new QPlainTextEdit(overview);
    m_config->setReadOnly(true);
    QFont mono(QStringLiteral("monospace"));
    mono.setStyleHint(QFont::Monospace);
    m_config->setFont(mono);
    overview->addWidget(m_overview);
    overview->addWidget(m_config);
    overview->setSizes({200, 400});

    m_curves = new CurvesPage(store, m_tabs);
    m_lr = new LrFinderPage(store, m_tabs);
    m_histograms = new HistogramsPage(store, m_tabs);
    m_predictions = new PredictionsPage(store, m_tabs);
    m_classes = new ClassesPage(store, m_tabs);
    m_log = new LogPage(store, m_tabs);
    m_tabs->addTab(overview, tr("&Overview"));
    m_tabs->addTab(m_curves, tr("&Curves"));
    m_tabs->addTab(m_lr, tr("&LR finder"));
    m_tabs->addTab(m_histograms, tr("&Histograms"));
    m_tabs->addTab(m_predictions, tr("&Predictions"));
    m_tabs->addTab(m_classes, tr("Per-&class"));
    m_tabs->addTab(m_log, tr("Lo&g"));
    layout->addWidget(m_tabs, 1);
    m_tabs->setEnabled(false);
    connect(m_tabs, &QTabWidget::currentChanged, this, &RunView::refreshShownPage);
}

void RunView::showRun(qint64 runId)
{
    const bool changed = runId != m_run.id;
    m_run.id = runId;
    ++m_generation;
    loadRun(changed);
}

void RunView::clear(const QString &why)
{
    m_run = {};
    ++m_generation; // a load still in flight for the old run is dropped
    m_header->setText(why);
    m_tabs->setEnabled(false);
    // The pages let go of the old run too (its curves stayed drawn under "Choose a run").
    m_lineage.clear();
    m_stale.clear();
    m_config->clear();
    m_curves->setRuns({});
    m_lr->setRun(m_run);
    m_histograms->setRun(m_run);
    m_predictions->setRun(m_run);
    m_classes->setRun(m_run);
    m_log->setRun(m_run);
}

void RunView::loadRun(bool firstTime)
{
    const qint64 id = m_run.id;
    const int gen = m_generation;
    struct Loaded {
        lbk::RunDetail run;
        std::optional<lbk::usecase::EncoderSource> source;
        std::vector<lbk::RunSummary> fineTuned;
        bool lrCurve = false; // an LR range test, or a run that recorded one (the Python library's lr_finder)
    };
    m_store->request<std::optional<Loaded>>(
        this,
        [id](lbk::Store &s) -> std::optional<Loaded> {
            auto r = s.runById(id);
            if (!r)
                return std::nullopt;
            Loaded loaded{r.value(), lbk::usecase::encoderSource(s, *r), lbk::usecase::fineTunedFrom(s, *r),
                          r->lrFind() || s.hasLrPoints(id)};
            return loaded;
        },
        [this, gen, firstTime](std::optional<Loaded> loaded) {
            if (gen != m_generation)
                return;
            if (!loaded) {
                clear(tr("Run %1 is not in this store (deleted?).").arg(m_run.id));
                return;
            }
            m_lineage = lineageRows(loaded->source, loaded->fineTuned);
            m_run = std::move(loaded->run);
            m_tabs->setEnabled(true);
            updateHeader();
            m_config->setPlainText(qs(m_run.config.dump(2)));
            m_stale.clear(); // every page loads the run now
            m_curves->setRuns({m_run});
            m_lr->setRun(m_run);
            m_histograms->setRun(m_run);
            m_predictions->setRun(m_run);
            m_classes->setRun(m_run);
            m_log->setRun(m_run);
            // A pre-training run has no labels: no histograms or per-class figures. Its predictions are the fills
            // of masked tokens in held-out sequences.
            const bool labelled = !lbk::isPretraining(m_run);
            for (int tab : {Histograms, Classes}) {
                m_tabs->setTabEnabled(tab, labelled);
                m_tabs->setTabToolTip(tab, labelled ? QString() : tr("A masked-language-model run has no labels"));
            }
            // An LR range test records its curve and nothing else: its other pages would only be empty.
            if (m_run.lrFind())
                for (int tab : {Curves, Histograms, Predictions, Classes}) {
                    m_tabs->setTabEnabled(tab, false);
                    m_tabs->setTabToolTip(tab, tr("An LR range test records its loss against the rate (LR finder)"));
                }
            else
                for (int tab : {Curves, Predictions})
                    m_tabs->setTabEnabled(tab, true);
            m_tabs->setTabEnabled(LrFinder, loaded->lrCurve);
            m_tabs->setTabToolTip(LrFinder, loaded->lrCurve ? QString()
                                                            : tr("This run recorded no LR range test; Run > Find LR "
                                                                 "runs one for its experiment"));
            m_tabs->setTabToolTip(Predictions, labelled ? QString()
                                                        : tr("Masked tokens of held-out sequences and the model's "
                                                             "five likeliest fills"));
            if (firstTime && std::exchange(m_linkedRun, 0) == m_run.id) { // whichever run loads first, it is asked once
                m_tabs->setCurrentIndex(Overview);
            } else if (firstTime) {
                if (m_run.lrFind())
                    m_tabs->setCurrentIndex(LrFinder);
                else if (m_run.status == lbk::RunStatus::Failed)
                    m_tabs->setCurrentIndex(Log);
                else if (m_tabs->currentIndex() == LrFinder || m_tabs->currentIndex() == Overview)
                    m_tabs->setCurrentIndex(Curves);
            }
            Q_EMIT runLoaded(m_run.id);
        });
}

namespace {

QString runLink(const lbk::RunSummary &r)
{
    return QStringLiteral("<a href='run:%1'>#%1 %2</a>").arg(r.id).arg(qs(r.name).toHtmlEscaped());
}

// The summary's best (each with the step it was reached at, none of the test split: that would be peeking) or
// final figures, a line for each split ("val: accuracy 0.7102 (step 400), macro_f1 0.6911 (step 400)"; found by an
// audit: one run-on list of every split's figures); a null string when the run has none.
QString summaryLine(const lbk::RunSummary &r, bool best)
{
    const char *section = best ? "best" : "final";
    if (!r.summary.contains(section) || !r.summary[section].is_object())
        return {};
    QStringList splits;
    QMap<QString, QStringList> bySplit;
    for (const auto &[k, v] : r.summary[section].items()) {
        if (!v.is_number() || (best && !lbk::listsBest(k)))
            continue;
        const QString key = qs(k);
        const qsizetype slash = key.lastIndexOf(QLatin1Char('/'));
        const QString split = slash < 0 ? QString() : key.left(slash);
        if (!splits.contains(split))
            splits << split;
        const auto at = best ? r.summaryValue("best_step", k) : std::nullopt;
        bySplit[split] << QStringLiteral("%1 %2%3").arg(key.mid(slash + 1), formatMetric(v.get<double>()),
                                                        at ? RunView::tr(" (step %L1)").arg(qint64(*at)) : QString());
    }
    const auto rank = [](const QString &split) { // validation, then test, then the rest (train, eval:FILE) as stored
        return split == QLatin1String("val") ? 0 : split == QLatin1String("test") ? 1 : 2;
    };
    std::stable_sort(splits.begin(), splits.end(), [&](const QString &a, const QString &b) { return rank(a) < rank(b); });
    QStringList lines;
    for (const QString &split : splits)
        lines << (split.isEmpty() ? QString() : split + QStringLiteral(": ")) + bySplit[split].join(QStringLiteral(", "));
    return lines.isEmpty() ? QString() : lines.join(QLatin1Char('\n'));
}

} // namespace

QString RunView::lineageRows(const std::optional<lbk::usecase::EncoderSource> &source,
                             const std::vector<lbk::RunSummary> &fineTuned)
{
    QString rows;
    const auto row = [&rows](const QString &k, const QString &html) {
        rows += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>").arg(k, html);
    };
    if (source) {
        QString from = source->run ? tr("pre-training run %1").arg(runLink(*source->run))
                                   : tr("run %1 (no longer in this store)").arg(qs(source->uid).toHtmlEscaped());
        if (source->step >= 0)
            from += tr(", as it was at step %L1").arg(source->step);
        row(tr("Encoder from"), from);
    }
    QStringList tunes, continuations; // classifiers started from this run; pre-training runs that went on from it
    for (const auto &r : fineTuned)
        (lbk::isPretraining(r) ? continuations : tunes) << runLink(r) + qs(lbk::usecase::endNote(r)).toHtmlEscaped();
    if (!tunes.empty())
        row(tr("Fine-tuned by"), tunes.join(QStringLiteral(", ")));
    if (!continuations.empty())
        row(tr("Pre-training continued by"), continuations.join(QStringLiteral(", ")));
    return rows;
}

void RunView::updateHeader()
{
    const auto &r = m_run;
    const bool remote = r.remote();
    QString tail;
    if (r.startedAt > 0)
        tail += QStringLiteral(" &middot; ") + formatDuration(r.duration());
    if (remote)
        tail += QStringLiteral(" &middot; ") + tr("on %1").arg(qs(r.target).toHtmlEscaped());
    m_header->setText(QStringLiteral("<span style='font-size:large'><b>#%1 %2</b></span> &nbsp; "
                                     "<span style='color:%3'><b>%4</b></span> &nbsp; %5 &middot; %6 &middot; %7%8")
                          .arg(r.id)
                          .arg(middleCut(qs(r.name)).toHtmlEscaped(), statusColor(r.status).name(), statusText(r),
                               middleCut(qs(r.experiment)).toHtmlEscaped(),
                               r.lrFind() ? tr("LR range test") : qs(r.task),
                               r.startedAt > 0 ? tr("started %1").arg(formatTimestamp(r.startedAt))
                                               : tr("created %1, never started").arg(formatTimestamp(r.createdAt)),
                               tail));
    m_header->setToolTip(qs(r.name).size() > 64 ? qs(r.name) : QString());
    showWhyItEnded(m_error, r);
    QString info = QStringLiteral("<table cellspacing=4>");
    const auto row = [&info](const QString &k, const QString &v) { // a value's lines stay lines
        info += QStringLiteral("<tr><td valign=top><b>%1</b></td><td>%2</td></tr>")
                    .arg(k, v.toHtmlEscaped().replace(QLatin1Char('\n'), QStringLiteral("<br>")));
    };
    row(tr("Run uid"), qs(r.uid));
    row(tr("Host / PID"), QStringLiteral("%1 / %2").arg(qs(r.host)).arg(r.pid));
    row(tr("Target"), remote ? tr("%1 (Slurm job or worker PID there: %2)").arg(qs(r.target), qs(r.jobId))
                             : qs(r.target));
    row(tr("Folder"), qs(r.runDir));
    // What trained and recorded it: Labbook's worker, or a script through the Python library (labbook-python).
    const auto &ran = r.summary.contains("run") ? r.summary["run"] : nlohmann::json();
    if (ran.is_object() && ran.value("version", nlohmann::json()).is_string()) {
        const QString version = qs(ran["version"].get<std::string>());
        const bool worker = r.byWorker().value_or(false);
        const int threads = ran.value("threads", nlohmann::json()).is_number_integer() ? ran["threads"].get<int>() : 0;
        const nlohmann::json device = ran.value("device", nlohmann::json());
        row(tr("Recorded by"), QStringLiteral("%1 (%2, %3)")
                                   .arg(worker ? tr("Labbook worker %1").arg(version) : version,
                                        device.is_string() ? qs(device.get<std::string>()) : QStringLiteral("?"),
                                        threads == 1 ? tr("1 thread") : tr("%1 threads").arg(threads)));
    }
    row(tr("Last step"), formatCount(r.lastStep));
    row(tr("Tags"), toStringList(r.tags).join(QStringLiteral(", ")));
    row(tr("Notes"), qs(r.notes));
    row(tr("Config hash"), qs(r.configHash));
    for (const bool best : {true, false})
        if (const QString line = summaryLine(r, best); !line.isNull())
            row(best ? tr("Best") : tr("Final"), line);
    if (r.summary.contains("lr_suggestion") && r.summary["lr_suggestion"].is_object()) {
        const auto &s = r.summary["lr_suggestion"];
        row(tr("LR suggestion"), s.contains("lr") && s["lr"].is_number() ? QString::number(s["lr"].get<double>(), 'g', 3)
                                                                          : tr("none"));
    }
    info += m_lineage + QStringLiteral("</table>");
    m_overview->setText(info);
}

void RunView::runsUpdated(const std::set<qint64> &ids)
{
    if (!ids.count(m_run.id) || m_run.id == 0)
        return;
    // Header and status from the fresh run list; the pages reload only what may have changed.
    for (const auto &r : m_store->runs())
        if (r.id == m_run.id) {
            static_cast<lbk::RunSummary &>(m_run) = r;
            updateHeader();
        }
    m_stale = {m_curves, m_lr, m_histograms, m_predictions, m_classes, m_log};
    refreshShownPage();
}

// The run view coming back into sight (its tab in the window): the page in view catches up with the run.
void RunView::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    refreshShownPage();
}

// A live run's pages reload when shown: the page in view at once, the others when their tab is next opened (six
// pages reloading every second queued their reads on the store's one lane ahead of the page being watched), and
// none while the run view itself is out of sight (the form or a comparison in front).
void RunView::refreshShownPage()
{
    QWidget *page = m_tabs->currentWidget();
    if (!isVisible() || !m_stale.erase(page))
        return;
    if (page == m_curves)
        m_curves->refresh({m_run.id});
    else if (page == m_lr)
        m_lr->refresh();
    else if (page == m_histograms)
        m_histograms->refresh();
    else if (page == m_predictions)
        m_predictions->refresh();
    else if (page == m_classes)
        m_classes->refresh();
    else if (page == m_log)
        m_log->setRun(m_run);
}

} // namespace labbook
