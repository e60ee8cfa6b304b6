#include "elidedlabel.h"

#include <QResizeEvent>

namespace labbook {

ElidedLabel::ElidedLabel(QWidget *parent) : QLabel(parent)
{
    setTextFormat(Qt::PlainText);
    setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
}

void ElidedLabel::setFullText(const QString &text)
{
    m_text = text;
    setToolTip(text);
    elide();
}

QSize ElidedLabel::minimumSizeHint() const
{
    return {fontMetrics().averageCharWidth() * 8, QLabel::minimumSizeHint().height()};
}

void ElidedLabel::resizeEvent(QResizeEvent *event)
{
    QLabel::resizeEvent(event);
    elide();
}

void ElidedLabel::elide()
{
    const QFontMetrics fm = fontMetrics();
    const int width = std::max(0, contentsRect().width());
    // A path's file name stays whole while its folders can give up the room: the cut falls among the folders.
    const qsizetype slash = m_text.lastIndexOf(QLatin1Char('/'));
    if (slash > 0 && fm.horizontalAdvance(m_text) > width) {
        const QString name = m_text.mid(slash);
        const int room = width - fm.horizontalAdvance(name);
        if (room >= fm.horizontalAdvance(QStringLiteral("/w\u2026")) * 2) {
            setText(fm.elidedText(m_text.left(slash), Qt::ElideMiddle, room) + name);
            return;
        }
    }
    setText(fm.elidedText(m_text, Qt::ElideMiddle, width));
}

} // namespace labbook
