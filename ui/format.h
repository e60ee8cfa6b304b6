#pragma once
// Small conversions shared by models and views: std <-> Qt strings, numbers, times, run status colours.
#include <string>
#include <vector>

#include <QColor>
#include <QString>
#include <QStringList>

#include "store/store.h"

namespace labbook {

inline QString qs(const std::string &s) { return QString::fromStdString(s); }
inline std::string ss(const QString &s) { return s.toStdString(); }
QStringList toStringList(const std::vector<std::string> &v);
std::vector<std::string> fromStringList(const QStringList &l);

QString statusText(lbk::RunStatus s);
// A colour readable on both light and dark backgrounds.
QColor statusColor(lbk::RunStatus s);
QString formatMetric(double v);         // 4 significant digits, "-" for NaN
QString formatDuration(double seconds); // "12 s", "3 min 04 s", "2 h 05 min"
QString formatTimestamp(double unixSeconds);
// The run's duration: ended - started, or now - started for a live run; 0 when not started.
double runDuration(const lbk::RunSummary &run);
// A metric of the run summary: section "final" or "best"; NaN when absent.
double summaryValue(const lbk::RunSummary &run, const char *section, const std::string &key);
// The colour of series i in plots that overlay several runs or metrics.
QColor seriesColor(int i);

} // namespace labbook
