#include "firstrunhint.h"

#include <QFileInfo>
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
    m_debug = new QPushButton(tr("Open debug.json"), this);
    m_debug->setObjectName(QStringLiteral("hintOpenDebug"));
    auto *open = new QPushButton(tr("Open an experiment..."), this);
    m_launch = new QPushButton(tr("Launch"), this);
    m_launch->setObjectName(QStringLiteral("hintLaunch"));
    buttons->addWidget(m_debug);
    buttons->addWidget(open);
    buttons->addWidget(m_launch);
    layout->addLayout(buttons);
    connect(m_debug, &QPushButton::clicked, this, &FirstRunHint::openDebugRequested);
    connect(open, &QPushButton::clicked, this, &FirstRunHint::openFileRequested);
    connect(m_launch, &QPushButton::clicked, this, &FirstRunHint::launchRequested);
    setVisible(false);
}

void FirstRunHint::setRunCount(int runs)
{
    setVisible(runs == 0);
}

void FirstRunHint::setLaunchEnabled(bool enabled)
{
    m_launch->setEnabled(enabled);
    m_launch->setToolTip(enabled ? tr("Launch the experiment in the form (Ctrl+R)")
                                 : tr("The experiment in the form has a problem: the form says what it is"));
}

void FirstRunHint::setDebugExperiment(const QString &path)
{
    const bool there = QFileInfo::exists(path);
    m_debug->setEnabled(there);
    m_debug->setToolTip(there ? path
                              : tr("No %1 here: this labbook found no experiments/ folder beside it or in the "
                                   "working folder (Open an experiment... opens any file)").arg(path));
}

} // namespace labbook
