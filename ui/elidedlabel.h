#pragma once
// A one-line label that cuts its text in the middle to the width it is given (a deep file path keeps its folders'
// start and its whole file name while there is room for both), shows the whole text as its tooltip, and never asks
// its window for more width.
#include <QLabel>

namespace labbook {

class ElidedLabel : public QLabel {
    Q_OBJECT
public:
    explicit ElidedLabel(QWidget *parent = nullptr);
    void setFullText(const QString &text);
    QString fullText() const { return m_text; }
    QSize minimumSizeHint() const override;

protected:
    void resizeEvent(QResizeEvent *event) override;

private:
    void elide();
    QString m_text;
};

} // namespace labbook
