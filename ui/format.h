#pragma once
// Small conversions shared by models and views: std <-> Qt strings, numbers, times, run status colours.
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <QColor>
#include <QString>
#include <QStringList>

#include "store/store.h"

class QLabel;

namespace labbook {

inline QString qs(const std::string &s) { return QString::fromStdString(s); }
inline std::string ss(const QString &s) { return s.toStdString(); }
QStringList toStringList(const std::vector<std::string> &v);
std::vector<std::string> fromStringList(const QStringList &l);

QString statusText(lbk::RunStatus s);
QString statusText(lbk::SweepStatus s);
// A run's status as the views show it: "pruned" for a run its sweep stopped early (cancelled, tagged "pruned").
QString statusText(const lbk::RunSummary &r);
// What a recorded prediction row predicts, as a table cell: a multilabel row's set ("cs.AI, cs.LG", "(none)" when
// no label reached 0.5), else its most probable label (lbk::predictedEntries).
QString predictedText(const lbk::PredictionRow &row, bool multiLabel);
// Whether a view shows why the run ended (its error): failed, interrupted, or cancelled with a reason (pruned).
bool showsWhyItEnded(const lbk::RunSummary &r);
// Shows (or hides) that in a banner label: "<b>Failed:</b> reason" on red, a pruned or cancelled run's on amber.
void showWhyItEnded(QLabel *banner, const lbk::RunSummary &r);
// A colour readable on both light and dark backgrounds.
QColor statusColor(lbk::RunStatus s);
QColor statusColor(lbk::SweepStatus s); // the colour of the run status of that name
// How a line of feedback under a form or dialog reads: what stops an action (red), all clear (green), a note that
// stops nothing (amber). One colour each, readable on light and dark palettes.
enum class Tone { Problem, Fine, Note };
QString toneColor(Tone t);                     // "#e53935", ...
QString toneStyle(Tone t);                     // a label's style sheet: "color: #e53935;"
QString toned(const QString &plainText, Tone t); // the text, HTML-escaped, in a span of that colour
QString formatMetric(double v);         // 4 significant digits with trailing zeros ("0.8430"), "-" for NaN;
                                        // whole numbers as integers, from 1000 on with digit grouping
// A score column's value (accuracy, F1, a sweep's metric): as formatMetric, but an exact 0 or 1 as "0.0000" and
// "1.0000", so it lines up with the rest of the column instead of reading like a count.
QString formatScore(double v);
QString formatCount(qint64 n);          // whole numbers with digit grouping: 19,837
// "1 run", "2 runs", "1,200 runs": the count and the noun in its number (English plurals without a translation).
QString counted(qint64 n, const QString &one, const QString &many);
// Makes the application's default locale group digits (the C locale omits the separators), so "%L1" agrees
// with formatCount(); the window calls it once.
void useDigitGrouping();
// "12 s", "3 min 04 s", "2 h 05 min"; "-" for a run that never started (RunSummary::duration()).
QString formatDuration(std::optional<double> seconds);
QString formatTimestamp(double unixSeconds);
// A value that may be missing (RunSummary::summaryValue(), duration()) as tables and plots take it: NaN.
inline double orNan(std::optional<double> v) { return v.value_or(std::numeric_limits<double>::quiet_NaN()); }
// A name cut in the middle to at most `chars` characters ("sweep-lr-0.0012...-seed-14"), for text that wraps
// and cannot elide by itself; the whole name belongs in a tooltip.
QString middleCut(const QString &name, int chars = 64);
// The colour of series i in plots that overlay several runs or metrics.
QColor seriesColor(int i);

} // namespace labbook
