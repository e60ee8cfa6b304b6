#pragma once
// A wheel turned over a drop-down that does not have the keyboard focus scrolls the page it sits on instead of
// changing the value: on the long, scrolling experiment form, scrolling past labels.kind switched it from
// multiclass to multilabel without a word. A click gives the drop-down focus; then the wheel changes it as usual.
#include <QObject>

class QWidget;

namespace labbook {

class WheelGuard : public QObject {
    Q_OBJECT
public:
    // Guards `w` (focus by click or tab, not by wheel); one guard serves every widget of the application.
    static void install(QWidget *w);

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    using QObject::QObject;
};

} // namespace labbook
