#pragma once
// Right-click a table's header to show or hide its columns (every column but those always shown). The header's
// saveState() keeps the choice where the view saves it.
#include <QList>

class QHeaderView;

namespace labbook {

void addColumnChooser(QHeaderView *header, const QList<int> &alwaysShown);

} // namespace labbook
