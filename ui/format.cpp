#include "format.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include <QDateTime>
#include <QLabel>
#include <QLocale>
#include "metrics/metrics.h"

namespace labbook {

QStringList toStringList(const std::vector<std::string> &v)
{
    QStringList out;
    out.reserve(qsizetype(v.size()));
    for (const auto &s : v)
        out << qs(s);
    return out;
}

std::vector<std::string> fromStringList(const QStringList &l)
{
    std::vector<std::string> out;
    out.reserve(size_t(l.size()));
    for (const auto &s : l)
        out.push_back(ss(s));
    return out;
}

QString statusText(lbk::RunStatus s)
{
    return QString::fromLatin1(lbk::toString(s));
}

QString statusText(lbk::SweepStatus s)
{
    return QString::fromLatin1(lbk::toString(s));
}

QString statusText(const lbk::RunSummary &r)
{
    return QString::fromStdString(r.statusWord());
}

QString predictedText(const lbk::PredictionRow &row, bool multiLabel)
{
    QStringList labels;
    for (size_t e : lbk::predictedEntries(row.top, multiLabel))
        labels << qs(row.top[e].first);
    return labels.isEmpty() && multiLabel ? QObject::tr("(none)") : labels.join(QStringLiteral(", "));
}

bool showsWhyItEnded(const lbk::RunSummary &r)
{
    return !r.error.empty() && (r.status == lbk::RunStatus::Failed || r.status == lbk::RunStatus::Interrupted ||
                                r.status == lbk::RunStatus::Cancelled);
}

void showWhyItEnded(QLabel *banner, const lbk::RunSummary &r)
{
    banner->setVisible(showsWhyItEnded(r));
    const bool failed = r.status == lbk::RunStatus::Failed || r.status == lbk::RunStatus::Interrupted;
    const QColor edge = failed ? QColor(0xe5, 0x39, 0x35) : QColor(0xc9, 0x8a, 0x1a);
    banner->setStyleSheet(QStringLiteral("QLabel { background: rgba(%1,%2,%3,40); border: 1px solid %4; "
                                         "border-radius: 4px; padding: 6px; }")
                              .arg(edge.red()).arg(edge.green()).arg(edge.blue()).arg(edge.name()));
    QString status = statusText(r);
    status[0] = status[0].toUpper();
    banner->setText(QStringLiteral("<b>%1:</b> %2").arg(status.toHtmlEscaped(),
                                                        qs(r.error).toHtmlEscaped().replace(QLatin1Char('\n'),
                                                                                             QStringLiteral("<br>"))));
}

QColor statusColor(lbk::RunStatus s)
{
    switch (s) {
    case lbk::RunStatus::Queued: return QColor(0x80, 0x80, 0x80);
    case lbk::RunStatus::Running: return QColor(0x1e, 0x88, 0xe5);
    case lbk::RunStatus::Finished: return QColor(0x2e, 0x9d, 0x4f);
    case lbk::RunStatus::Failed: return QColor(0xe5, 0x39, 0x35);
    case lbk::RunStatus::Cancelled: return QColor(0xa0, 0x7c, 0x3a);
    case lbk::RunStatus::Interrupted: return QColor(0xf5, 0x8f, 0x00);
    }
    return {};
}

QColor statusColor(lbk::SweepStatus s)
{
    switch (s) {
    case lbk::SweepStatus::Running: return statusColor(lbk::RunStatus::Running);
    case lbk::SweepStatus::Finished: return statusColor(lbk::RunStatus::Finished);
    case lbk::SweepStatus::Failed: return statusColor(lbk::RunStatus::Failed);
    case lbk::SweepStatus::Cancelled: return statusColor(lbk::RunStatus::Cancelled);
    case lbk::SweepStatus::Interrupted: return statusColor(lbk::RunStatus::Interrupted);
    }
    return {};
}

QString toneColor(Tone t)
{
    switch (t) {
    case Tone::Problem: return QStringLiteral("#e53935");
    case Tone::Fine: return QStringLiteral("#2e9d4f");
    case Tone::Note: return QStringLiteral("#b26a00");
    }
    return {};
}

QString toneStyle(Tone t) { return QStringLiteral("color: %1;").arg(toneColor(t)); }

QString toned(const QString &plainText, Tone t)
{
    return QStringLiteral("<span style='color:%1'>%2</span>").arg(toneColor(t), plainText.toHtmlEscaped());
}

QString formatMetric(double v)
{
    if (!std::isfinite(v))
        return QStringLiteral("-");
    if (v == std::trunc(v) && std::fabs(v) >= 1000 && std::fabs(v) < 1e15)
        return formatCount(qint64(v)); // a count (examples, steps), not 1.984e+04
    if (v == std::trunc(v))
        return QString::number(v, 'g', 15); // 12, not 12.00
    if (std::fabs(v) >= 999.95) // 1234.5 as "1235", not "1234." (%#g keeps the point)
        return QString::number(v, 'g', 4);
    // Trailing zeros kept ("0.8430" beside "0.6672"), so a column of metrics lines up digit for digit.
    char buf[32];
    std::snprintf(buf, sizeof buf, "%#.4g", v);
    return QString::fromLatin1(buf);
}

QString formatScore(double v)
{
    if (v == 0 || v == 1)
        return QString::number(v, 'f', 4);
    return formatMetric(v);
}

QLocale numberLocale()
{
    QLocale locale;
    locale.setNumberOptions(locale.numberOptions() & ~QLocale::OmitGroupSeparator);
    return locale;
}

void useDigitGrouping()
{
    QLocale::setDefault(numberLocale()); // "%L1" and QLocale().toString() group digits, also in the C locale
}

QString formatCount(qint64 n)
{
    return numberLocale().toString(n);
}

QString counted(qint64 n, const QString &one, const QString &many)
{
    return formatCount(n) + QLatin1Char(' ') + (n == 1 ? one : many);
}

QString formatDuration(std::optional<double> seconds)
{
    if (!seconds)
        return QStringLiteral("-");
    if (!(*seconds > 0))
        return QString();
    if (*seconds < 10) // a debug run's 0.4 s read "0 s" (lbk says 0.4s)
        return QStringLiteral("%1 s").arg(*seconds, 0, 'f', 1);
    const qint64 s = qint64(std::llround(*seconds));
    if (s < 60)
        return QStringLiteral("%1 s").arg(s);
    if (s < 3600)
        return QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
}

QString formatTimestamp(double unixSeconds)
{
    if (unixSeconds <= 0)
        return QString();
    return QDateTime::fromMSecsSinceEpoch(qint64(unixSeconds * 1000.0)).toString(QStringLiteral("yyyy-MM-dd HH:mm"));
}

QColor seriesColor(int i)
{
    // Tableau-like qualitative palette: distinct on white and on dark grey.
    static const QColor colors[] = {QColor(0x1f, 0x77, 0xb4), QColor(0xff, 0x7f, 0x0e), QColor(0x2c, 0xa0, 0x2c),
                                    QColor(0xd6, 0x27, 0x28), QColor(0x94, 0x67, 0xbd), QColor(0x8c, 0x56, 0x4b),
                                    QColor(0xe3, 0x77, 0xc2), QColor(0x7f, 0x7f, 0x7f), QColor(0xbc, 0xbd, 0x22),
                                    QColor(0x17, 0xbe, 0xcf)};
    return colors[((i % 10) + 10) % 10];
}

QString middleCut(const QString &name, int chars)
{
    if (name.size() <= chars)
        return name;
    const int tail = chars / 3;
    return name.left(chars - tail - 1) + QChar(0x2026) + name.right(tail);
}

} // namespace labbook
