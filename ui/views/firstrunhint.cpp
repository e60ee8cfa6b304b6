#include "firstrunhint.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

namespace labbook {

FirstRunHint::FirstRunHint(QWidget *parent)
    : QFrame(parent)
{
    setObjectName(QStringLiteral("firstRunHint"));
    setFrameShape(QFrame::StyledPanel);
    setAutoFillBackground(true);
    setBackgroundRole(QPalette::AlternateBase);
    auto *layout = new QHBoxLayout(this);
    auto *text = new QLabel(
        tr("<b>This store has no runs yet.</b> A first session: <b>1.</b> open an experiment from "
           "<code>experiments/</code> (debug.json checks the whole loop in seconds; top20-title.json is the real "
           "task); <b>2.</b> Launch it (Ctrl+R), or Find LR first; <b>3.</b> watch it train: the run appears in "
           "the list on the left, its curves, predictions and per-class metrics on the Run tab as they are recorded."),
        this);
    text->setWordWrap(true);
    text->setTextFormat(Qt::RichText);
    layout->addWidget(text, 1);
    auto *buttons = new QVBoxLayout;
    auto *debug = new QPushButton(tr("Open debug.json"), this);
    debug->setObjectName(QStringLiteral("hintOpenDebug"));
    auto *open = new QPushButton(tr("Open an experiment..."), this);
    auto *launch = new QPushButton(tr("Launch"), this);
    launch->setObjectName(QStringLiteral("hintLaunch"));
    buttons->addWidget(debug);
    buttons->addWidget(open);
    buttons->addWidget(launch);
    layout->addLayout(buttons);
    connect(debug, &QPushButton::clicked, this, &FirstRunHint::openDebugRequested);
    connect(open, &QPushButton::clicked, this, &FirstRunHint::openFileRequested);
    connect(launch, &QPushButton::clicked, this, &FirstRunHint::launchRequested);
    setVisible(false);
}

void FirstRunHint::setRunCount(int runs)
{
    setVisible(runs == 0);
}

} // namespace labbook
