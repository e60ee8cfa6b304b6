#pragma once
// What an empty store shows above the pages: the three steps of a first session (open an experiment from
// experiments/, Launch, watch it train), with buttons for the first two. It hides itself once the store holds a run.
#include <QFrame>

class QLabel;

namespace labbook {

class FirstRunHint : public QFrame {
    Q_OBJECT
public:
    explicit FirstRunHint(QWidget *parent = nullptr);
    // The store's run count (-1: no store open yet): visible only for an open, empty store.
    void setRunCount(int runs);

Q_SIGNALS:
    void openDebugRequested();   // experiments/debug.json into the form
    void openFileRequested();    // the form's Open dialog
    void launchRequested();
};

} // namespace labbook
