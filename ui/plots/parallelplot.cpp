#include "plots/parallelplot.h"

#include "plots/axisticks.h"

#include <QMouseEvent>

#include <algorithm>
#include <cmath>

namespace labbook {

namespace {
constexpr double kTop = 1.0, kLabelY = 1.09;

QColor metricColor(double t, bool dark) // t in [0, 1]: 1 is the best
{
    const QColor lo = dark ? QColor(0x4a, 0x55, 0x68) : QColor(0x9c, 0xae, 0xc8);
    const QColor hi = dark ? QColor(0xff, 0xa0, 0x40) : QColor(0x1f, 0x4e, 0x9c);
    const auto mix = [&](int a, int b) { return int(a + (b - a) * t); };
    return QColor(mix(lo.red(), hi.red()), mix(lo.green(), hi.green()), mix(lo.blue(), hi.blue()));
}

using Labels = std::vector<std::pair<double, QString>>; // (position 0..1, text) along an axis

// Whether a key takes whole numbers only (a seed, a size), so no round value between them is fractional.
bool integerKey(const lbk::ParamSpec &p)
{
    const auto whole = [](const nlohmann::json &v) { return v.is_number_integer(); };
    return p.kind == lbk::ParamKind::IntUniform ||
           (p.kind == lbk::ParamKind::Values && std::all_of(p.values.begin(), p.values.end(), whole));
}

// A numeric key's labels: its extent and round values between.
Labels numericLabels(const lbk::SweepAxis &a, bool integer)
{
    Labels labels;
    for (const AxisTick &t : numericTicks(a.lo, a.hi, a.log, integer ? 1 : 0))
        labels.emplace_back(t.position, t.text);
    return labels;
}

// A list of numbers' labels: one per value, and one at each end the list does not reach (a trial's value outside
// it); none when they would crowd each other.
Labels listLabels(const lbk::SweepAxis &a, const std::vector<nlohmann::json> &values)
{
    Labels labels;
    const auto at = [&](double p) {
        return std::any_of(labels.begin(), labels.end(), [p](const auto &l) { return std::abs(l.first - p) < 1e-9; });
    };
    for (const auto &v : values)
        if (!at(a.position(v))) // 32 and 32.0 are one value
            labels.emplace_back(a.position(v), QString::fromStdString(a.label(v)));
    if (a.hi > a.lo)
        for (double end : {0.0, 1.0})
            if (!at(end))
                labels.emplace_back(end, numberText(end > 0 ? a.hi : a.lo, 4));
    std::vector<double> positions;
    for (const auto &l : labels)
        positions.push_back(l.first);
    return labelsClear(positions) ? labels : Labels();
}

// A swept key's labels: each of its categories; each value of a list of numbers where they stand clear of each
// other; else its extent and round values between (whole ones for an integer key).
Labels sweptLabels(const lbk::SweepAxis &a, const lbk::SweepSpec &spec)
{
    Labels labels;
    for (const std::string &c : a.categories)
        labels.emplace_back(a.position(c), QString::fromStdString(c));
    if (!a.categories.empty())
        return labels;
    const auto param = std::find_if(spec.parameters.begin(), spec.parameters.end(),
                                    [&](const lbk::ParamSpec &p) { return p.key == a.key; });
    if (param == spec.parameters.end())
        return numericLabels(a, false);
    if (param->kind == lbk::ParamKind::Values)
        if (Labels list = listLabels(a, param->values); !list.empty())
            return list;
    return numericLabels(a, integerKey(*param));
}
} // namespace

ParallelPlot::ParallelPlot(QWidget *parent) : PlotWidget(parent)
{
    xAxis->setVisible(false);
    yAxis->setVisible(false);
    axisRect()->setAutoMargins(QCP::msNone);
    axisRect()->setMargins(QMargins(20, 34, 20, 30)); // below: the caption saying how to read it
    setEmptyMessage(tr("No trial has a value yet"));
}

void ParallelPlot::setOverview(const lbk::SweepOverview &overview)
{
    m_o = overview;
    m_axes = overview.axes;
    m_brushes.erase(m_brushes.lower_bound(axisCount()), m_brushes.end());
    rebuild();
}

double ParallelPlot::metricPosition(double value) const
{
    if (std::isnan(value))
        return std::nan("");
    const double p = m_metricHi > m_metricLo ? (value - m_metricLo) / (m_metricHi - m_metricLo) : 0.5;
    return m_o.spec.maximize ? p : 1 - p; // the best at the top either way
}

void ParallelPlot::rebuild()
{
    clearPlottables();
    for (QCPAbstractItem *it : m_items) // not clearItems(): the empty message is an item too
        removeItem(it);
    m_items.clear();
    for (auto &[axis, rect] : m_brushItems)
        removeItem(rect);
    m_brushItems.clear();
    const bool anyValue = buildLines();
    const int n = axisCount();
    for (int i = 0; i < n; ++i)
        addAxis(i, anyValue);
    const auto brushes = m_brushes; // drawn again over the new lines
    for (const auto &[axis, range] : brushes)
        setBrush(axis, range.first, range.second);
    addCaption(anyValue);
    xAxis->setRange(-0.15, n - 1 + 0.6);
    yAxis->setRange(-0.05, kLabelY + 0.05);
    setEmptyMessage(anyValue ? QString() : tr("No trial has a value yet"));
    restyle();
}

// One line per trial through its positions on every axis; false when no trial has a metric value yet.
bool ParallelPlot::buildLines()
{
    m_lines.clear();
    std::vector<double> values;
    for (const auto &row : m_o.trials)
        if (row.trial.value)
            values.push_back(*row.trial.value);
    m_metricLo = values.empty() ? 0 : *std::min_element(values.begin(), values.end());
    m_metricHi = values.empty() ? 1 : *std::max_element(values.begin(), values.end());
    for (const auto &row : m_o.trials) {
        Line line;
        line.trial = row.trial.trial;
        for (const auto &a : m_axes)
            line.y.push_back(a.position(row.trial.params.value(a.key, nlohmann::json())));
        line.value = row.trial.value ? *row.trial.value : std::nan("");
        line.y.push_back(metricPosition(line.value));
        line.pruned = row.trial.state == lbk::TrialState::Pruned;
        line.open = lbk::isOpen(row.trial.state);
        m_lines.push_back(std::move(line));
    }
    // Pruned trials under the others, then worst first: the best finished lines are drawn last, on top (a pruned
    // trial that scored high before its stop came covered the best).
    std::sort(m_lines.begin(), m_lines.end(), [](const Line &a, const Line &b) {
        if (a.pruned != b.pruned)
            return a.pruned;
        return (std::isnan(a.y.back()) ? -1 : a.y.back()) < (std::isnan(b.y.back()) ? -1 : b.y.back());
    });
    for (auto &line : m_lines) {
        line.curve = new QCPCurve(xAxis, yAxis);
        QVector<double> xs, ys;
        for (size_t i = 0; i < line.y.size(); ++i)
            if (!std::isnan(line.y[i])) {
                xs.push_back(double(i));
                ys.push_back(line.y[i]);
            }
        line.curve->setData(xs, ys);
        line.curve->setName(tr("trial %1").arg(line.trial));
    }
    return !values.empty();
}

QFont ParallelPlot::titleFont() const { return QFont(font().family(), font().pointSize(), QFont::Bold); }

// A swept key's title: its last part ("dropout" for model.dropout), which fits between neighbouring axes where
// whole keys ran into each other; the whole key when another swept key ends the same way.
QString ParallelPlot::axisTitle(int i) const
{
    const auto leaf = [](const std::string &key) { return key.substr(key.rfind('.') + 1); };
    const std::string &key = m_axes[size_t(i)].key;
    for (size_t j = 0; j < m_axes.size(); ++j)
        if (int(j) != i && leaf(m_axes[j].key) == leaf(key))
            return QString::fromStdString(key);
    return QString::fromStdString(leaf(key));
}

// How to read the lines, under the plot: the colour scale, what a dashed line is, the brushing.
void ParallelPlot::addCaption(bool anyValue)
{
    if (!anyValue)
        return;
    auto *caption = new QCPItemText(this);
    m_items.push_back(caption);
    caption->setObjectName(QStringLiteral("caption"));
    caption->position->setType(QCPItemPosition::ptAxisRectRatio);
    caption->position->setCoords(0, 1);
    caption->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
    caption->setPadding(QMargins(0, 12, 0, 0));
    caption->setClipToAxisRect(false);
    const bool anyOpen = std::any_of(m_lines.begin(), m_lines.end(), [](const Line &l) { return l.open; });
    caption->setText(tr("darker, thicker: better %1 \u00b7 dashed: pruned%2 \u00b7 drag along an axis to filter the table")
                         .arg(QString::fromStdString(m_o.spec.metric),
                              anyOpen ? tr(" \u00b7 dotted: not ended yet") : QString()));
}

// Axis i: its line, its title above, and its labelled values (the metric's only once a trial has one).
void ParallelPlot::addAxis(int i, bool anyValue)
{
    auto *axisLine = new QCPItemLine(this);
    m_items.push_back(axisLine);
    axisLine->setObjectName(QStringLiteral("axis"));
    axisLine->start->setCoords(i, 0);
    axisLine->end->setCoords(i, kTop);
    auto *title = new QCPItemText(this);
    m_items.push_back(title);
    title->setObjectName(QStringLiteral("label"));
    title->position->setCoords(i, kLabelY);
    const bool swept = i < int(m_axes.size());
    title->setText(swept ? axisTitle(i) + (m_axes[size_t(i)].log ? tr(" (log)") : QString())
                         : QString::fromStdString(m_o.spec.metric));
    title->setFont(titleFont());
    if (i == 0) // centred on the first axis, its left half needs the room ("embedding_dim" lost its "e")
        axisRect()->setMargins(QMargins(std::max(20, QFontMetrics(titleFont()).horizontalAdvance(title->text()) / 2 + 4),
                                        34, 20, 30));
    title->setClipToAxisRect(false);
    for (const auto &[p, text] : axisLabels(i, anyValue)) {
        auto *t = new QCPItemText(this);
        m_items.push_back(t);
        t->setObjectName(QStringLiteral("tick"));
        // A few pixels right of the axis line, so its background does not cut the line.
        t->position->setParentAnchorX(axisLine->start);
        t->position->setTypeX(QCPItemPosition::ptAbsolute);
        t->position->setCoords(4, p);
        t->setPositionAlignment(Qt::AlignLeft | Qt::AlignVCenter);
        t->setPadding(QMargins(2, 0, 2, 0));
        t->setText(text);
        t->setClipToAxisRect(false);
    }
}

// Axis i's labels: a swept key's (sweptLabels), or the metric's extent and round values between once a trial has one.
std::vector<std::pair<double, QString>> ParallelPlot::axisLabels(int i, bool anyValue) const
{
    if (i < int(m_axes.size()))
        return sweptLabels(m_axes[size_t(i)], m_o.spec);
    Labels labels;
    if (anyValue)
        for (const AxisTick &t : numericTicks(m_metricLo, m_metricHi, false))
            labels.emplace_back(metricPosition(t.value), t.text);
    return labels;
}

void ParallelPlot::restyle()
{
    const bool dark = palette().color(QPalette::Base).lightness() < 128;
    const std::set<int> selected = selectedTrials();
    const QColor text = textColor();
    for (auto &line : m_lines) {
        const double t = std::isnan(line.y.back()) ? 0 : line.y.back();
        // A trial without a metric yet is grey: the colour of the worst would rank it.
        QColor c = std::isnan(line.y.back()) ? QColor(dark ? 140 : 150, dark ? 140 : 150, dark ? 140 : 150)
                                             : metricColor(t, dark);
        const bool in = selected.count(line.trial) > 0;
        if (!in || line.pruned) // a pruned trial's value is from before its stop: a hint, not a result
            c.setAlpha(in ? 150 : 70);
        QPen pen(c, in && !line.pruned ? 1.5 + 1.5 * t : 1.0,
                 line.pruned ? Qt::DashLine : line.open ? Qt::DotLine : Qt::SolidLine);
        line.curve->setPen(pen);
        line.curve->setLineStyle(QCPCurve::lsLine);
        line.curve->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, c, c, in ? 4 : 2));
    }
    for (QCPAbstractItem *it : m_items) {
        if (auto *l = qobject_cast<QCPItemLine *>(it)) {
            QColor c = text;
            c.setAlpha(150);
            l->setPen(QPen(c, 1.2));
        } else if (auto *t = qobject_cast<QCPItemText *>(it)) {
            t->setColor(text);
            // Lines pass behind a tick's value, not through it.
            QColor back = palette().color(QPalette::Base);
            back.setAlpha(t->objectName() == QLatin1String("tick") ? 215 : 0);
            t->setBrush(back);
        }
    }
    for (auto &[axis, rect] : m_brushItems) {
        QColor c = palette().color(QPalette::Highlight);
        c.setAlpha(60);
        rect->setBrush(c);
        rect->setPen(QPen(palette().color(QPalette::Highlight)));
    }
    requestReplot();
}

void ParallelPlot::applyPalette()
{
    PlotWidget::applyPalette();
    if (!m_lines.empty())
        restyle();
}

std::set<int> ParallelPlot::selectedTrials() const
{
    std::set<int> out;
    for (const auto &line : m_lines) {
        bool in = true;
        for (const auto &[axis, range] : m_brushes) {
            const double y = size_t(axis) < line.y.size() ? line.y[size_t(axis)] : std::nan("");
            in = in && !std::isnan(y) && y >= range.first - 1e-9 && y <= range.second + 1e-9;
        }
        if (in)
            out.insert(line.trial);
    }
    return out;
}

void ParallelPlot::setBrush(int axis, double lo, double hi)
{
    if (axis < 0 || axis >= axisCount())
        return;
    m_brushes[axis] = {std::min(lo, hi), std::max(lo, hi)};
    QCPItemRect *&rect = m_brushItems[axis];
    if (!rect)
        rect = new QCPItemRect(this);
    rect->topLeft->setCoords(axis - 0.06, m_brushes[axis].second);
    rect->bottomRight->setCoords(axis + 0.06, m_brushes[axis].first);
    restyle();
    Q_EMIT trialsSelected(selectedTrials());
}

void ParallelPlot::clearBrushes()
{
    for (auto &[axis, rect] : m_brushItems)
        removeItem(rect);
    m_brushItems.clear();
    m_brushes.clear();
    restyle();
    Q_EMIT trialsSelected(selectedTrials());
}

int ParallelPlot::axisAt(double x) const
{
    const int i = int(std::lround(x));
    return i >= 0 && i < axisCount() && std::abs(x - i) < 0.2 ? i : -1;
}

void ParallelPlot::mousePressEvent(QMouseEvent *event)
{
    const double x = xAxis->pixelToCoord(event->position().x());
    m_dragAxis = event->button() == Qt::LeftButton ? axisAt(x) : -1;
    m_dragFrom = yAxis->pixelToCoord(event->position().y());
    if (m_dragAxis < 0)
        PlotWidget::mousePressEvent(event);
}

void ParallelPlot::mouseMoveEvent(QMouseEvent *event)
{
    if (m_dragAxis < 0)
        return PlotWidget::mouseMoveEvent(event);
    const double y = std::clamp(yAxis->pixelToCoord(event->position().y()), 0.0, kTop);
    setBrush(m_dragAxis, std::clamp(m_dragFrom, 0.0, kTop), y);
}

void ParallelPlot::mouseReleaseEvent(QMouseEvent *event)
{
    if (m_dragAxis < 0)
        return PlotWidget::mouseReleaseEvent(event);
    const double y = yAxis->pixelToCoord(event->position().y());
    if (std::abs(y - m_dragFrom) < 0.01) { // a click: this axis's brush goes
        if (auto it = m_brushItems.find(m_dragAxis); it != m_brushItems.end()) {
            removeItem(it->second);
            m_brushItems.erase(it);
        }
        m_brushes.erase(m_dragAxis);
        restyle();
        Q_EMIT trialsSelected(selectedTrials());
    }
    m_dragAxis = -1;
}

} // namespace labbook
