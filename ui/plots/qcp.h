#pragma once
// qcustomplot.h itself uses Qt's keyword macros (signals, foreach), while Labbook builds with QT_NO_KEYWORDS
// (LibTorch headers use `slots` as an identifier). Map them to their Q_ forms for this one include.
#ifdef QT_NO_KEYWORDS
#define signals Q_SIGNALS
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef signals
#undef foreach
#else
#include <qcustomplot.h>
#endif
