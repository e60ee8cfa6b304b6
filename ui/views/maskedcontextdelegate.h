#pragma once
// A pre-training run's fill rows show each masked token in its context; the engine marks the chosen position
// between U+27E6 and U+27E7 ("the ⟦quantum⟧ state"). This delegate draws that piece highlighted instead of
// bracketed, and keeps it in view when the context is wider than its column by eliding both sides around it.

#include <QPalette>
#include <QString>
#include <QStyledItemDelegate>

namespace labbook {

struct MaskedContext {
    QString before, target, after;
    bool marked = false; // false: the text had no marked piece, `before` holds all of it
};

// The one place that knows the engine's marks.
MaskedContext splitMaskedContext(const QString &text);

// The context as HTML for a rich-text pane, the target in bold on a tint of the palette's highlight.
QString maskedContextHtml(const QString &text, const QPalette &palette);

class MaskedContextDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const override;
};

} // namespace labbook
