#pragma once
// A combo box whose width does not follow its longest item (a category list, a 60-character experiment name):
// it shows `chars` characters and its popup the whole items, so rows of filters fit a laptop's window.
#include <QComboBox>

namespace labbook {

inline void makeCompact(QComboBox *combo, int chars = 12)
{
    combo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    combo->setMinimumContentsLength(chars);
}

} // namespace labbook
