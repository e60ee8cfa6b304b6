#include "lrfinderpage.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

#include "format.h"
#include "plots/lrfinderplot.h"
#include "storeservice.h"
#include "train/lrfinder.h"

namespace labbook {

LrFinderPage::LrFinderPage(StoreService *store, QWidget *parent)
    : QWidget(parent)
    , m_store(store)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_plot = new LrFinderPlot(this);
    m_plot->setObjectName(QStringLiteral("lrFinderPlot"));
    layout->addWidget(m_plot, 1);
    auto *bar = new QHBoxLayout;
    m_info = new QLabel(this);
    m_info->setObjectName(QStringLiteral("lrInfo"));
    m_info->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_info->setWordWrap(true); // the suggestion's sentence wraps instead of widening the window
    bar->addWidget(m_info, 1);
    auto *exportButton = new QPushButton(tr("Export plot..."), this);
    m_use = new QPushButton(tr("&Use this rate"), this);
    m_use->setObjectName(QStringLiteral("useRate"));
    m_use->setToolTip(tr("Write the picked rate (or the suggestion) into the experiment form's optimizer.lr"));
    m_sweep = new QPushButton(tr("S&weep around this rate..."), this);
    m_sweep->setObjectName(QStringLiteral("sweepAroundRate"));
    m_sweep->setToolTip(tr("Set up a sweep of this experiment with the rate drawn from a tenth to ten times this one"));
    bar->addWidget(exportButton);
    bar->addWidget(m_sweep);
    bar->addWidget(m_use);
    layout->addLayout(bar);
    connect(exportButton, &QPushButton::clicked, m_plot, &LrFinderPlot::exportInteractively);
    connect(m_plot, &LrFinderPlot::ratePicked, this, &LrFinderPage::updateLabels);
    connect(m_use, &QPushButton::clicked, this, [this] {
        if (auto lr = chosenRate())
            Q_EMIT useRate(*lr, m_config);
    });
    connect(m_sweep, &QPushButton::clicked, this, [this] {
        if (auto lr = chosenRate())
            Q_EMIT sweepAroundRate(*lr, m_config);
    });
    updateLabels();
}

std::optional<double> LrFinderPage::chosenRate() const
{
    if (m_plot->pickedRate())
        return m_plot->pickedRate();
    return m_plot->suggestion();
}

void LrFinderPage::setRun(const lbk::RunSummary &run)
{
    m_run = run;
    refresh();
}

void LrFinderPage::refresh()
{
    const qint64 id = m_run.id;
    struct Loaded {
        std::vector<lbk::LrPoint> points;
        nlohmann::json config;
        nlohmann::json summary;
    };
    const int gen = ++m_generation;
    m_store->request<Loaded>(
        this,
        [id](lbk::Store &s) {
            Loaded l;
            l.points = s.lrPoints(id);
            if (auto r = s.runById(id)) {
                l.config = r->config;
                l.summary = r->summary;
            }
            return l;
        },
        [this, gen](Loaded l) {
            if (gen != m_generation)
                return;
            m_config = l.config;
            m_plot->setPoints(l.points);
            m_points = int(l.points.size());
            std::optional<double> suggestion;
            const auto s = l.summary.is_object() ? l.summary.value("lr_suggestion", nlohmann::json()) : nlohmann::json();
            if (s.is_object() && s.contains("lr") && s["lr"].is_number()) {
                suggestion = s["lr"].get<double>();
            } else if (!l.points.empty()) {
                // Not recorded (yet): compute it the way the worker does, from the losses.
                const auto &lrs = m_plot->rates();
                const auto &losses = m_plot->losses();
                suggestion = lbk::suggestLearningRate(std::vector<double>(lrs.begin(), lrs.end()),
                                                      std::vector<double>(losses.begin(), losses.end()))
                                 .lr;
            }
            m_plot->setSuggestion(suggestion);
            updateLabels();
        });
}

void LrFinderPage::updateLabels()
{
    QStringList parts;
    if (m_points == 0)
        parts << tr("No LR range test points. Run <b>Find LR</b> from the experiment form.");
    if (auto s = m_plot->suggestion())
        parts << tr("Suggested: <b>%1</b> (steepest descent of the smoothed loss against log10 lr)")
                     .arg(QString::number(*s, 'g', 3));
    else if (m_points > 0)
        parts << tr("No suggestion: too few points before the loss diverged.");
    if (auto p = m_plot->pickedRate())
        parts << tr("Picked: <b>%1</b>").arg(QString::number(*p, 'g', 3));
    else if (m_points > 0)
        parts << tr("Click the curve to pick another rate.");
    m_info->setText(parts.join(QStringLiteral(" &nbsp; ")));
    m_use->setEnabled(chosenRate().has_value());
    m_sweep->setEnabled(chosenRate().has_value() && m_config.is_object());
}

} // namespace labbook
