#include "columnchooser.h"

#include <QAbstractItemModel>
#include <QHeaderView>
#include <QMenu>

namespace labbook {

void addColumnChooser(QHeaderView *header, const QList<int> &alwaysShown)
{
    header->setContextMenuPolicy(Qt::CustomContextMenu);
    QObject::connect(header, &QHeaderView::customContextMenuRequested, header, [header, alwaysShown](const QPoint &pos) {
        QMenu menu(header);
        for (int c = 0; c < header->count(); ++c) {
            auto *a = menu.addAction(header->model()->headerData(c, header->orientation()).toString());
            a->setCheckable(true);
            a->setChecked(!header->isSectionHidden(c));
            a->setEnabled(!alwaysShown.contains(c));
            QObject::connect(a, &QAction::toggled, header, [header, c](bool on) { header->setSectionHidden(c, !on); });
        }
        menu.exec(header->mapToGlobal(pos));
    });
}

} // namespace labbook
