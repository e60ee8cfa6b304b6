#include "maskedcontextdelegate.h"

#include <QApplication>
#include <QPainter>
#include <QStyle>

#include <algorithm>

namespace labbook {

namespace {
const QChar kOpen(0x27E6), kClose(0x27E7);
constexpr int kPad = 3; // around the target's highlight, each side

// Widths for the text before and after the target when all three do not fit: the target stays whole, the
// shorter side keeps what it needs up to half of the rest, the other side takes what is left.
std::pair<int, int> sideWidths(int available, int wantBefore, int wantAfter)
{
    if (wantBefore + wantAfter <= available)
        return {wantBefore, wantAfter};
    const int half = std::max(0, available / 2);
    if (wantBefore <= half)
        return {wantBefore, available - wantBefore};
    if (wantAfter <= half)
        return {available - wantAfter, wantAfter};
    return {half, available - half};
}
} // namespace

MaskedContext splitMaskedContext(const QString &text)
{
    MaskedContext c;
    const qsizetype open = text.indexOf(kOpen);
    const qsizetype close = open < 0 ? -1 : text.indexOf(kClose, open + 1);
    if (close < 0) {
        c.before = text;
        return c;
    }
    c.before = text.left(open);
    c.target = text.mid(open + 1, close - open - 1);
    c.after = text.mid(close + 1);
    c.marked = true;
    return c;
}

QString maskedContextHtml(const QString &text, const QPalette &palette)
{
    const MaskedContext c = splitMaskedContext(text);
    if (!c.marked)
        return text.toHtmlEscaped();
    // Rich text takes no alpha: the tint is mixed with the base colour here.
    const QColor hi = palette.color(QPalette::Highlight), base = palette.color(QPalette::Base);
    const auto mix = [](int a, int b) { return (a * 30 + b * 70) / 100; };
    const QColor tint(mix(hi.red(), base.red()), mix(hi.green(), base.green()), mix(hi.blue(), base.blue()));
    return QStringLiteral("%1<b style='background:%2'>&nbsp;%3&nbsp;</b>%4")
        .arg(c.before.toHtmlEscaped(), tint.name(), c.target.toHtmlEscaped(), c.after.toHtmlEscaped());
}

void MaskedContextDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    QStyleOptionViewItem opt = option;
    initStyleOption(&opt, index);
    const MaskedContext c = splitMaskedContext(opt.text);
    if (!c.marked) {
        QStyledItemDelegate::paint(painter, option, index);
        return;
    }
    opt.text.clear(); // the style draws the cell's background and selection, we draw the text
    const QWidget *widget = opt.widget;
    QStyle *style = widget ? widget->style() : QApplication::style();
    style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, widget);

    const QRect r = style->subElementRect(QStyle::SE_ItemViewItemText, &opt, widget).adjusted(2, 0, -2, 0);
    QFont bold = opt.font;
    bold.setBold(true);
    const QFontMetrics fm(opt.font), bfm(bold);
    // +2: elidedText() measures a little wider than horizontalAdvance() and would elide a piece that fits.
    const int targetWidth = std::min(r.width(), bfm.horizontalAdvance(c.target) + 2 * kPad + 2);
    const auto [wb, wa] = sideWidths(r.width() - targetWidth, fm.horizontalAdvance(c.before), fm.horizontalAdvance(c.after));
    const bool selected = opt.state & QStyle::State_Selected;
    const QColor text = opt.palette.color(selected ? QPalette::HighlightedText : QPalette::Text);

    painter->save();
    painter->setClipRect(r);
    painter->setPen(text);
    painter->setFont(opt.font);
    QRect part(r.left(), r.top(), wb, r.height());
    painter->drawText(part, Qt::AlignLeft | Qt::AlignVCenter, fm.elidedText(c.before, Qt::ElideLeft, wb));
    part = QRect(part.right() + 1, r.top(), targetWidth, r.height());
    QColor mark = selected ? opt.palette.color(QPalette::HighlightedText) : opt.palette.color(QPalette::Highlight);
    mark.setAlpha(selected ? 70 : 55);
    painter->setRenderHint(QPainter::Antialiasing);
    painter->setPen(Qt::NoPen);
    painter->setBrush(mark);
    painter->drawRoundedRect(part.adjusted(0, 2, 0, -2), 3, 3);
    painter->setPen(text);
    painter->setFont(bold);
    painter->drawText(part, Qt::AlignCenter, bfm.elidedText(c.target, Qt::ElideRight, targetWidth - 2 * kPad));
    painter->setFont(opt.font);
    part = QRect(part.right() + 1, r.top(), wa, r.height());
    painter->drawText(part, Qt::AlignLeft | Qt::AlignVCenter, fm.elidedText(c.after, Qt::ElideRight, wa));
    painter->restore();
}

} // namespace labbook
