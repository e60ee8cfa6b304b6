#include "wheelguard.h"

#include <QAbstractScrollArea>
#include <QCoreApplication>
#include <QEvent>
#include <QWidget>

namespace labbook {

void WheelGuard::install(QWidget *w)
{
    static auto *guard = new WheelGuard(QCoreApplication::instance());
    w->setFocusPolicy(Qt::StrongFocus);
    w->installEventFilter(guard);
}

bool WheelGuard::eventFilter(QObject *watched, QEvent *event)
{
    auto *w = qobject_cast<QWidget *>(watched);
    if (event->type() != QEvent::Wheel || !w || w->hasFocus())
        return false;
    for (QWidget *up = w->parentWidget(); up; up = up->parentWidget())
        if (auto *area = qobject_cast<QAbstractScrollArea *>(up)) {
            QCoreApplication::sendEvent(area->viewport(), event); // the page scrolls
            return true;
        }
    event->ignore();
    return true;
}

} // namespace labbook
