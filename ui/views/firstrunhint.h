#pragma once
// What an empty store shows above the pages: the three steps of a first session (open an experiment from
// experiments/, Launch, watch it train), with buttons for the first two. It hides itself once the store holds a run.
#include <QFrame>

class QLabel;
class QPushButton;

namespace labbook {

class FirstRunHint : public QFrame {
    Q_OBJECT
public:
    explicit FirstRunHint(QWidget *parent = nullptr);
    // The store's run count (-1: no store open yet): visible only for an open, empty store.
    void setRunCount(int runs);
    // Launch as the form's: disabled while the experiment in the form has a problem.
    void setLaunchEnabled(bool enabled);
    // The debug.json "Open debug.json" opens; a path that is not there disables it, saying where it looked.
    void setDebugExperiment(const QString &path);

Q_SIGNALS:
    void openDebugRequested();   // experiments/debug.json into the form
    void openFileRequested();    // the form's Open dialog
    void launchRequested();

private:
    QPushButton *m_debug = nullptr;
    QPushButton *m_launch = nullptr;
};

} // namespace labbook
