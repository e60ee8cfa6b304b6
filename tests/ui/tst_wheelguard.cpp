// A wheel over a drop-down without focus scrolls the page, not the value (WheelGuard); with focus it changes the
// value as usual.
#include <QtTest>

#include <QComboBox>
#include <QLineEdit>
#include <QScrollArea>
#include <QScrollBar>
#include <QVBoxLayout>
#include <QWheelEvent>

#include "wheelguard.h"

class TestWheelGuard : public QObject {
    Q_OBJECT
    static void wheel(QWidget *w)
    {
        const QPointF at(w->width() / 2.0, w->height() / 2.0);
        QWheelEvent e(at, w->mapToGlobal(at), QPoint(), QPoint(0, -120), Qt::NoButton, Qt::NoModifier,
                      Qt::NoScrollPhase, false);
        QCoreApplication::sendEvent(w, &e);
    }

private Q_SLOTS:
    void scrollsThePageNotTheValue()
    {
        QScrollArea area;
        auto *page = new QWidget;
        auto *layout = new QVBoxLayout(page);
        auto *name = new QLineEdit; // where the focus is, as after typing a name
        layout->addWidget(name);
        auto *kind = new QComboBox;
        kind->addItems({QStringLiteral("multiclass"), QStringLiteral("binary"), QStringLiteral("multilabel")});
        labbook::WheelGuard::install(kind);
        layout->addWidget(kind);
        layout->addSpacing(3000); // a long form
        area.setWidget(page);
        area.resize(300, 200);
        area.show();
        QVERIFY(QTest::qWaitForWindowExposed(&area));
        name->setFocus();
        QTRY_VERIFY(name->hasFocus());
        QCOMPARE(area.verticalScrollBar()->value(), 0);
        wheel(kind);
        QCOMPARE(kind->currentIndex(), 0);
        QVERIFY(area.verticalScrollBar()->value() > 0);

        kind->setFocus();
        QTRY_VERIFY(kind->hasFocus());
        wheel(kind);
        QCOMPARE(kind->currentIndex(), 1);
    }
};

QTEST_MAIN(TestWheelGuard)
#include "tst_wheelguard.moc"
