#include "logpage.h"

#include <QDateTime>
#include <QLabel>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QVBoxLayout>

#include "format.h"
#include "storeservice.h"

namespace labbook {

LogPage::LogPage(StoreService *store, QWidget *parent)
    : QWidget(parent)
    , m_store(store)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_error = new QLabel(this);
    m_error->setObjectName(QStringLiteral("logError"));
    m_error->setWordWrap(true);
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->setVisible(false);
    layout->addWidget(m_error);
    m_log = new QPlainTextEdit(this);
    m_log->setObjectName(QStringLiteral("logText"));
    m_log->setReadOnly(true);
    // Wrapped at the pane's edge, so a long line (a path, an error) is read whole without scrolling sideways.
    m_log->setLineWrapMode(QPlainTextEdit::WidgetWidth);
    m_log->setWordWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
    QFont mono(QStringLiteral("monospace"));
    mono.setStyleHint(QFont::Monospace);
    m_log->setFont(mono);
    layout->addWidget(m_log, 1);
}

void LogPage::setRun(const lbk::RunSummary &run)
{
    m_run = run;
    showWhyItEnded(m_error, run);
    refresh();
}

void LogPage::refresh()
{
    const qint64 id = m_run.id;
    const int gen = ++m_generation;
    m_store->request<std::vector<lbk::LogLine>>(
        this, [id](lbk::Store &s) { return s.logs(id); },
        [this, gen](std::vector<lbk::LogLine> lines) {
            if (gen != m_generation)
                return;
            QString text;
            for (const auto &l : lines) {
                const QString time = l.wall > 0 ? QDateTime::fromMSecsSinceEpoch(qint64(l.wall * 1000))
                                                      .toString(QStringLiteral("HH:mm:ss"))
                                                : QStringLiteral("--:--:--");
                text += time + QStringLiteral("  ") + qs(l.level).leftJustified(7) + QStringLiteral("  ") + qs(l.message) +
                        QLatin1Char('\n');
            }
            if (text == m_log->toPlainText())
                return;
            const bool atEnd = m_log->verticalScrollBar()->value() == m_log->verticalScrollBar()->maximum();
            m_log->setPlainText(text);
            if (atEnd)
                m_log->verticalScrollBar()->setValue(m_log->verticalScrollBar()->maximum());
        });
}

QString LogPage::text() const
{
    return m_log->toPlainText();
}

QString LogPage::errorText() const
{
    return m_error->isVisibleTo(this) ? m_error->text() : QString();
}

} // namespace labbook
