// Experiment schema: defaults, validation messages (path, value, what is allowed), files with syntax errors.
#include <QtTest>

#include <algorithm>
#include <fstream>
#include <set>

#include "experiment/fieldtable.h"
#include "experiment/schema.h"
#include "sweep/sweepspec.h"

using nlohmann::json;

namespace {

// A valid value of the field other than its default.
json otherValue(const lbk::FieldSpec &f)
{
    const json &def = f.defaultValue;
    switch (f.type) {
    case lbk::FieldType::Bool: return !def.get<bool>();
    case lbk::FieldType::Int: {
        const double up = def.get<double>() + 1;
        return def.get<int64_t>() + (f.max && up > *f.max ? -1 : 1);
    }
    case lbk::FieldType::Float: {
        const double v = def.get<double>();
        return f.max ? (v == *f.max ? (v + *f.min) / 2 : (v + *f.max) / 2) : v + 1;
    }
    case lbk::FieldType::String: return def.get<std::string>() + "x";
    case lbk::FieldType::Paths: return json::array({"y.jsonl", "shards/*.jsonl.zst"});
    case lbk::FieldType::Enum:
        for (const auto &c : f.choices)
            if (c != def)
                return c;
        return def;
    case lbk::FieldType::StringList:
    case lbk::FieldType::IntList: {
        json v = def;
        v.push_back(f.type == lbk::FieldType::IntList ? json(5) : json("x"));
        return v;
    }
    }
    return def;
}

} // namespace

class TestExperiment : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void defaultsFillEverything()
    {
        auto e = lbk::experimentFromJson(json{{"data", {{"path", "x.jsonl"}}}});
        QVERIFY2(e.ok(), e.ok() ? "" : e.message().c_str());
        QCOMPARE(e->optimizer.lr, 3e-3);
        QCOMPARE(e->split.train, 0.70);
        QCOMPARE(e->model.kernelSizes, (std::vector<int>{2, 3, 4}));
        QCOMPARE(QString::fromStdString(e->config["tokenizer"]["type"].get<std::string>()), QStringLiteral("unigram"));
        // Every field of the table is present in the resolved config.
        for (const auto &f : lbk::experimentFields())
            QVERIFY2(!lbk::valueAt(e->config, f.path).is_null(), f.path.c_str());
    }

    // Each field sets its own member and no other: a non-default value, parsed, changes exactly that field of the
    // Experiment written back as JSON. A field declared without a member fails here, unless it is one of the few
    // whose readers take it from the config.
    void everyFieldIsBound_data()
    {
        QTest::addColumn<QString>("path");
        for (const auto &f : lbk::experimentFields())
            QTest::newRow(f.path.c_str()) << QString::fromStdString(f.path);
    }

    void everyFieldIsBound()
    {
        QFETCH(QString, path);
        const std::string p = path.toStdString();
        const auto &rows = lbk::fieldBindings();
        QCOMPARE(std::count_if(rows.begin(), rows.end(), [&](const auto &b) { return b.spec.path == p; }), 1);
        const auto &b = *std::find_if(rows.begin(), rows.end(), [&](const auto &b) { return b.spec.path == p; });
        const json value = otherValue(b.spec);
        QVERIFY2(value != b.spec.defaultValue && !lbk::validateField(b.spec, value), value.dump().c_str());

        const json base = {{"data", {{"path", "x.jsonl"}}}};
        json changed = base;
        lbk::setValueAt(changed, p, value);
        // readFields: the parse without the checks across fields, which many single changes fail (split.train).
        const lbk::Experiment before = lbk::readFields(lbk::withDefaults(base));
        const lbk::Experiment after = lbk::readFields(lbk::withDefaults(changed));
        const std::set<std::string> configOnly = {"tags", "optimizer.sparse_embeddings", "training.precision"};
        if (configOnly.count(p)) {
            QVERIFY(!b.read && !b.write);
            QVERIFY(lbk::valueAt(after.config, p) == value);
            return;
        }
        QVERIFY2(b.read && b.write, "the field is declared without a member");
        const auto diff = lbk::configDiff({lbk::writeFields(before), lbk::writeFields(after)});
        QVERIFY2(diff == std::vector<std::string>{p}, ("the members that changed: " + json(diff).dump()).c_str());
        QVERIFY2(b.write(after) == value, b.write(after).dump().c_str());
    }

    // data.path: one path stays a string (recorded configs and their hashes do not change), several are a list.
    void dataPathIsOneOrSeveral()
    {
        const auto one = lbk::experimentFromJson(json{{"data", {{"path", "a.jsonl"}}}});
        QVERIFY(one.ok());
        QCOMPARE(one->data.paths, std::vector<std::string>{"a.jsonl"});
        QVERIFY(lbk::writeFields(*one)["data"]["path"] == "a.jsonl");
        const json list = {"pile/*.jsonl.zst", "arxiv/abstracts.jsonl"};
        const auto two = lbk::experimentFromJson(json{{"data", {{"path", list}}}});
        QVERIFY(two.ok());
        QCOMPARE(two->data.paths.size(), size_t(2));
        QCOMPARE(two->data.pathText(), std::string("pile/*.jsonl.zst, arxiv/abstracts.jsonl"));
        QVERIFY(lbk::writeFields(*two)["data"]["path"] == list);
    }

    // A recorded config lacks only the fields added after its run; those get the value that run used.
    void recordedConfigKeepsItsOldValues()
    {
        const json old = lbk::withDefaults(json{{"data", {{"path", "a"}}}});
        json recorded = old;
        recorded["model"].erase("ngram_hash");
        QVERIFY(lbk::experimentFromRecorded(recorded)->model.ngramHash == lbk::NgramHash::Multiplicative);
        QVERIFY(lbk::withRecordedDefaults(recorded)["model"]["ngram_hash"] == "multiplicative");
        QVERIFY(lbk::experimentFromRecorded(old)->model.ngramHash == lbk::NgramHash::Mix);
        // A config without the field's section is not a recorded one: it is left alone.
        const json sparse = {{"data", {{"path", "a"}}}};
        QVERIFY(lbk::withRecordedDefaults(sparse) == sparse);
        QVERIFY(lbk::experimentFromJson(sparse)->model.ngramHash == lbk::NgramHash::Mix);
    }

    void invalid_data()
    {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("fragment");
        QTest::newRow("unknown key") << R"({"data":{"path":"a"},"optimizer":{"lr":0.1,"lrr":1}})"
                                     << "optimizer.lrr" << "did you mean \"lr\"";
        QTest::newRow("unknown top") << R"({"data":{"path":"a"},"modle":{}})" << "modle" << "did you mean \"model\"";
        QTest::newRow("unknown, nothing near") << R"({"data":{"path":"a","title_column":"t"}})" << "data.title_column"
                                               << "data.title_column: unknown key. Allowed in data: columns";
        QTest::newRow("wrong type") << R"({"data":{"path":"a"},"training":{"batch_size":"64"}})"
                                    << "training.batch_size" << "\"64\" is not a whole number";
        QTest::newRow("fraction for int") << R"({"data":{"path":"a"},"training":{"epochs":1.5}})" << "training.epochs"
                                          << "1.5 is not a whole number";
        QTest::newRow("out of range") << R"({"data":{"path":"a"},"optimizer":{"lr":-0.1}})" << "optimizer.lr"
                                      << "-0.1 is out of range; allowed: a number > 0 and <= 10";
        QTest::newRow("enum") << R"({"data":{"path":"a"},"model":{"type":"lstm"}})" << "model.type"
                              << "\"lstm\" is not allowed; allowed: one of \"bag\", \"cnn\", \"gru\", \"transformer\"";
        QTest::newRow("format") << R"({"data":{"path":"a","format":"xml"}})" << "data.format"
                                << "\"xml\" is not allowed; allowed: one of \"auto\", \"jsonl\", \"csv\", \"tsv\"";
        QTest::newRow("bool") << R"({"data":{"path":"a"},"split":{"stratify":"yes"}})" << "split.stratify"
                              << "is not true or false";
        QTest::newRow("list item") << R"({"data":{"path":"a"},"model":{"kernel_sizes":[2,0]}})"
                                   << "model.kernel_sizes[1]" << "0 is out of range";
        QTest::newRow("huge integer") << R"({"data":{"path":"a"},"training":{"max_steps":1e19}})"
                                      << "training.max_steps" << "out of range";
        QTest::newRow("huge int field") << R"({"data":{"path":"a"},"evaluation":{"early_stopping":4294967296}})"
                                        << "evaluation.early_stopping" << "out of range";
        QTest::newRow("missing path") << R"({"model":{}})" << "data.path" << "is required";
        QTest::newRow("empty path list") << R"({"data":{"path":[]}})" << "data.path" << "is not a path, or a list of paths";
        QTest::newRow("path list item") << R"({"data":{"path":["a.jsonl", 3]}})" << "data.path[1]"
                                        << "3 is not a non-empty string";
        QTest::newRow("not object") << R"({"data":{"path":"a"},"model":3})" << "model" << "is not an object";
        QTest::newRow("split sum") << R"({"data":{"path":"a"},"split":{"train":0.8,"validation":0.15,"test":0.15}})"
                                   << "split" << "must add up to 1";
        QTest::newRow("early stopping without validation")
            << R"({"data":{"path":"a"},"split":{"train":0.85,"validation":0,"test":0.15},"evaluation":{"early_stopping":3}})"
            << "evaluation.early_stopping" << "split.validation is 0";
        QTest::newRow("binary no positive") << R"({"data":{"path":"a"},"labels":{"kind":"binary"}})"
                                            << "labels.positive" << "needs at least one positive";
        QTest::newRow("heads") << R"({"data":{"path":"a"},"model":{"type":"transformer","embedding_dim":30,"heads":4}})"
                               << "model.heads" << "does not divide";
        QTest::newRow("metric for task") << R"({"data":{"path":"a"},"evaluation":{"metric":"roc_auc"}})"
                                         << "evaluation.metric" << "binary tasks only";
        QTest::newRow("mlm of a bag") << R"({"data":{"path":"a"},"training":{"objective":"mlm"},"evaluation":{"metric":"loss"}})"
                                      << "model.type" << "pre-trains an encoder";
        QTest::newRow("mlm by macro_f1") << R"({"data":{"path":"a"},"training":{"objective":"mlm"},"model":{"type":"encoder"}})"
                                         << "evaluation.metric" << "masked tokens' \"loss\" or \"accuracy\"";
        QTest::newRow("mlm probability") << R"({"data":{"path":"a"},"mlm":{"probability":1}})" << "mlm.probability"
                                         << "out of range";
        QTest::newRow("init_from of a bag") << R"({"data":{"path":"a"},"model":{"init_from":"hf/scibert"}})"
                                            << "model.init_from" << "set model.type to \"encoder\" (it is \"bag\")";
        QTest::newRow("init_from no run") << R"({"data":{"path":"a"},"model":{"type":"encoder","init_from":"run:"}})"
                                          << "model.init_from" << "names no run";
        QTest::newRow("init_from bad step") << R"({"data":{"path":"a"},"model":{"type":"encoder","init_from":"run:pre@abc"}})"
                                            << "model.init_from" << "after @ comes a step";
    }

    // An mlm run has no labels to check: a binary task without positives is no error there.
    void mlmIgnoresTheLabels()
    {
        const json j = {{"data", {{"path", "a"}}}, {"labels", {{"kind", "binary"}}},
                        {"training", {{"objective", "mlm"}}}, {"model", {{"type", "encoder"}}},
                        {"evaluation", {{"metric", "loss"}}}};
        const auto issues = lbk::validateExperimentJson(j);
        QVERIFY2(issues.empty(), issues.empty() ? "" : issues[0].message.c_str());
        QVERIFY(lbk::experimentFromJson(j)->training.objective == lbk::TrainingObjective::Mlm);
        QCOMPARE(lbk::experimentFromJson(j)->mlm.probability, 0.15);
    }

    void invalid()
    {
        QFETCH(QString, json);
        QFETCH(QString, path);
        QFETCH(QString, fragment);
        const auto issues = lbk::validateExperimentJson(json::parse(json.toStdString()));
        bool found = false;
        for (const auto &i : issues)
            if (QString::fromStdString(i.path) == path) {
                found = true;
                QVERIFY2(QString::fromStdString(i.message).contains(fragment), i.message.c_str());
                QVERIFY2(QString::fromStdString(i.message).startsWith(path), i.message.c_str());
            }
        QVERIFY2(found, qPrintable(QStringLiteral("no issue for ") + path));
        QVERIFY(!lbk::experimentFromJson(json::parse(json.toStdString())).ok());
    }

    void syntaxErrorNamesLineAndColumn()
    {
        const std::string file = std::string(LABBOOK_TEST_TMP) + "/broken-experiment.json";
        std::filesystem::create_directories(LABBOOK_TEST_TMP);
        std::ofstream(file) << "{\n  \"data\": {\"path\": \"a\"},\n  \"model\": {\"type\": \"bag\",}\n}\n";
        auto e = lbk::loadExperimentFile(file);
        QVERIFY(!e.ok());
        QVERIFY2(QString::fromStdString(e.message()).startsWith(QString::fromStdString(file + ":3:")), e.message().c_str());
    }

    // What the JSON parser accepts but a hand-written file must not do, and what it throws on: each is a message
    // naming the file (a 70,000-level nesting crashed the command that printed it).
    void unreadableFilesAreNamed_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("expected");
        QTest::newRow("duplicate key") << QByteArray(R"({"training": {"epochs": 2}, "training": {"epochs": 1}})")
                                       << QStringLiteral("the key \"training\" is given twice in one object");
        QTest::newRow("too deep") << (QByteArray(R"({"tags": )") + QByteArray(70000, '[') + QByteArray(70000, ']') + "}")
                                  << QStringLiteral("nested more than 100 levels deep");
        QTest::newRow("utf-16") << QByteArray("\xFF\xFE{\0}\0", 6) << QStringLiteral("the file is UTF-16; save it as UTF-8");
        QTest::newRow("binary") << QByteArray("\0\x01\x02", 3) << QStringLiteral("a NUL byte at offset 0; not a JSON text file");
        QTest::newRow("overflow") << QByteArray(R"({"training": {"epochs": 1e400}})")
                                  << QStringLiteral("invalid JSON: number overflow parsing '1e400'");
    }

    void unreadableFilesAreNamed()
    {
        QFETCH(QByteArray, text);
        QFETCH(QString, expected);
        const std::string file = std::string(LABBOOK_TEST_TMP) + "/unreadable.json";
        std::filesystem::create_directories(LABBOOK_TEST_TMP);
        std::ofstream(file, std::ios::binary) << text.toStdString();
        auto e = lbk::loadExperimentFile(file);
        QVERIFY(!e.ok());
        QVERIFY2(QString::fromStdString(e.message()).startsWith(QString::fromStdString(file + ": ")), e.message().c_str());
        QVERIFY2(QString::fromStdString(e.message()).contains(expected), e.message().c_str());
        const std::string folder = std::string(LABBOOK_TEST_TMP) + "/a-folder.json";
        std::filesystem::create_directories(folder);
        QCOMPARE(lbk::loadExperimentFile(folder).message(), folder + ": a folder, not a JSON file");
    }

    void fileNameIsDefaultName()
    {
        const std::string file = std::string(LABBOOK_TEST_TMP) + "/my-exp.json";
        std::filesystem::create_directories(LABBOOK_TEST_TMP);
        std::ofstream(file) << R"({"data":{"path":"a"}})";
        auto e = lbk::loadExperimentFile(file);
        QVERIFY(e.ok());
        QCOMPARE(QString::fromStdString(e->name), QStringLiteral("my-exp"));
    }

    // Every file in experiments/ reads: the experiments as experiments, the sweeps (debug-sweep.json) as sweeps.
    void shippedExperimentsAreValid()
    {
        int count = 0, sweeps = 0;
        for (const auto &entry : std::filesystem::directory_iterator(std::string(LABBOOK_SOURCE_DIR) + "/experiments")) {
            if (entry.path().extension() != ".json")
                continue;
            auto j = lbk::readJsonFile(entry.path());
            QVERIFY2(j.ok(), j.ok() ? "" : j.message().c_str());
            if (lbk::isSweepJson(*j)) {
                auto s = lbk::loadSweepFile(entry.path());
                QVERIFY2(s.ok(), s.ok() ? "" : s.message().c_str());
                ++sweeps;
                continue;
            }
            auto e = lbk::loadExperimentFile(entry.path());
            QVERIFY2(e.ok(), e.ok() ? "" : e.message().c_str());
            ++count;
        }
        QVERIFY(count >= 4);
        QVERIFY(sweeps >= 1);
    }

    void hashAndDiff()
    {
        auto a = lbk::withDefaults(json{{"data", {{"path", "a"}}}, {"name", "one"}});
        auto b = a;
        b["name"] = "two";
        QCOMPARE(lbk::configHash(a), lbk::configHash(b)); // names do not change what a run computes
        b["optimizer"]["lr"] = 0.1;
        QVERIFY(lbk::configHash(a) != lbk::configHash(b));
        const auto diff = lbk::configDiff({a, b});
        QCOMPARE(diff, (std::vector<std::string>{"name", "optimizer.lr"}));
    }

    void fieldValidationForTheForm()
    {
        const auto *f = lbk::findField("optimizer.lr");
        QVERIFY(f);
        QVERIFY(!lbk::validateField(*f, 0.01));
        auto issue = lbk::validateField(*f, 0);
        QVERIFY(issue);
        QCOMPARE(QString::fromStdString(issue->path), QStringLiteral("optimizer.lr"));
    }

    void docsMatchTheSchema()
    {
        std::ifstream in(std::string(LABBOOK_SOURCE_DIR) + "/docs/EXPERIMENTS.md");
        const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        QVERIFY2(doc.rfind(lbk::schemaMarkdown(), 0) == 0,
                 "docs/EXPERIMENTS.md is out of date: regenerate its tables with `lbk schema --markdown`");
    }

    // A pretrained encoder brings its own tokenizer: the options that train one do not apply (the form hides them,
    // a sweep does not offer them); max_tokens still does.
    void tokenizerOptionsDoNotApplyToAPretrainedEncoder()
    {
        json e = lbk::withDefaults({{"name", "x"}, {"data", {{"path", "d.jsonl"}}}, {"model", {{"type", "encoder"}}}});
        for (const char *path :
             {"tokenizer.type", "tokenizer.vocab_size", "tokenizer.lowercase", "tokenizer.max_tokens"})
            QVERIFY2(lbk::fieldApplies(*lbk::findField(path), e), path);
        for (const std::string from : {"~/models/scibert", "run:pretrain-arxiv-mini"}) {
            e["model"]["init_from"] = from;
            for (const char *path : {"tokenizer.type", "tokenizer.vocab_size", "tokenizer.lowercase",
                                     "tokenizer.character_coverage"})
                QVERIFY2(!lbk::fieldApplies(*lbk::findField(path), e), path);
            QVERIFY(lbk::fieldApplies(*lbk::findField("tokenizer.max_tokens"), e));
        }
    }

    // A field a file sets that does nothing there gets a note (lbk validate prints them); the shipped files set none.
    void fieldsSetButNotUsedAreNoted()
    {
        json e = {{"name", "x"}, {"data", {{"path", "d.jsonl"}}},
                  {"model", {{"type", "encoder"}, {"init_from", "~/models/scibert"}, {"kernel_sizes", {3}}}},
                  {"tokenizer", {{"vocab_size", 30000}, {"max_tokens", 128}}}};
        const auto notes = lbk::unusedFieldNotes(e);
        QCOMPARE(notes.size(), size_t(2));
        QCOMPARE(QString::fromStdString(notes[0]),
                 QStringLiteral("tokenizer.vocab_size is set but not used (not when model.init_from is set)"));
        QVERIFY2(notes[1].starts_with("model.kernel_sizes is set but not used (only when model.type="),
                 notes[1].c_str());
        // A pre-training run's tokenizer replaces the file's settings (validate notes those that differ): the file
        // may keep its own for the same experiment from random initialisation.
        e["model"]["init_from"] = "run:pretrain-arxiv-mini";
        QCOMPARE(lbk::unusedFieldNotes(e).size(), size_t(1));
        e["model"].erase("init_from");
        e["model"].erase("kernel_sizes");
        QVERIFY(lbk::unusedFieldNotes(e).empty());
        // A run's recorded config (every field written, defaults included) is not a file full of unused fields.
        QVERIFY(lbk::unusedFieldNotes(lbk::withDefaults(e)).empty());
        e["model"] = {{"type", "bag"}};
        QVERIFY(lbk::unusedFieldNotes(lbk::withDefaults(e)).empty());
        // Pre-training trains every weight at one rate and pools nothing: the fine-tuning fields do nothing there.
        json mlm = {{"name", "x"}, {"data", {{"path", "d.jsonl"}}}, {"training", {{"objective", "mlm"}}},
                    {"model", {{"type", "encoder"}, {"pooling", "cls"}, {"layer_lr_decay", 0.9}}}};
        const auto mlmNotes = lbk::unusedFieldNotes(mlm);
        QCOMPARE(mlmNotes.size(), size_t(2));
        QVERIFY2(mlmNotes[0].starts_with("model.pooling is set but not used (not when training.objective=mlm"),
                 mlmNotes[0].c_str());
        mlm["training"].erase("objective");
        QVERIFY(lbk::unusedFieldNotes(mlm).empty());
        for (const auto &entry : std::filesystem::directory_iterator(std::string(LABBOOK_SOURCE_DIR) + "/experiments")) {
            std::ifstream in(entry.path());
            const json file = json::parse(in, nullptr, false);
            if (file.is_discarded() || lbk::isSweepJson(file))
                continue;
            for (const auto &note : lbk::unusedFieldNotes(file))
                QFAIL((entry.path().filename().string() + ": " + note).c_str());
        }
    }

    void schemaMarkdownListsEveryField()
    {
        const auto md = QString::fromStdString(lbk::schemaMarkdown());
        for (const auto &f : lbk::experimentFields())
            QVERIFY2(md.contains(QString::fromStdString("`" + f.path + "`")), f.path.c_str());
    }
};

QTEST_GUILESS_MAIN(TestExperiment)
#include "tst_experiment.moc"
