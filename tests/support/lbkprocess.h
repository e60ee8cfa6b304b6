#pragma once
// Shared by the tests that drive lbk as a user would: run a program to its end, and write a variant of
// experiments/debug.json into a scratch folder.
#include <QDir>
#include <QProcess>
#include <QString>
#include <QStringList>

#include <fstream>

#include <nlohmann/json.hpp>

namespace lbktest {

struct ProcessResult {
    int exitCode = -1; // -1 when it crashed or timed out
    QString out, err;
};

// env: the program's whole environment (empty: this process's); workDir: its working directory (empty: ours).
inline ProcessResult runProcess(const QString &program, const QStringList &args, int timeoutMs = 300000,
                                const QProcessEnvironment &env = {}, const QString &workDir = {})
{
    QProcess p;
    if (!env.isEmpty())
        p.setProcessEnvironment(env);
    if (!workDir.isEmpty())
        p.setWorkingDirectory(workDir);
    p.start(program, args);
    ProcessResult r;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        r.err = QStringLiteral("timed out");
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

// A copy of experiments/debug.json with changes merged in and the given name, written as <dir>/<name>.json.
inline QString debugVariant(const QString &dir, const QString &name, const nlohmann::json &changes)
{
    std::ifstream in(LABBOOK_SOURCE_DIR "/experiments/debug.json");
    nlohmann::json j = nlohmann::json::parse(in);
    j.merge_patch(changes);
    j["name"] = name.toStdString();
    const QString path = QDir(dir).filePath(name + QStringLiteral(".json"));
    std::ofstream(path.toStdString()) << j.dump(2);
    return path;
}

} // namespace lbktest
