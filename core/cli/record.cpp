// `lbk record`: the store's side of a run that another program trains on this machine (launch/external.h). The
// Python library calls it when a script using labbook.init() is started by hand; it prints where the journal goes.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include "cli/commands.h"
#include "cli/runtext.h"
#include "experiment/experiment.h"
#include "experiment/schema.h"
#include "launch/external.h"
#include "launch/local.h"
#include "store/store.h"
#include "util/text.h"

namespace lbk::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

Result<json> readConfig(const std::string &from)
{
    if (from.empty())
        return json::object();
    json config;
    if (from == "-") {
        config = json::parse(std::string(std::istreambuf_iterator<char>(std::cin), {}), nullptr, false);
    } else { // a file is read as experiment files are: a syntax error names its line and column
        auto read = readJsonFile(from);
        if (!read)
            return badInput("--config " + read.message());
        config = std::move(*read);
    }
    if (!config.is_object())
        return badInput("--config " + (from == "-" ? std::string("(standard input)") : from) +
                        ": not a JSON object; give the run's config as {\"key\": value, ...}");
    return config;
}

int fail(const Error &e)
{
    std::fprintf(stderr, "lbk: %s\n", toValidUtf8(e.message).c_str());
    return e.badInput ? kBadInput : kFailed;
}

// A journal whose run this store holds already: its new events go into that run, nothing is made twice.
// --name and --tag given again: the run takes the name and gains the tags (the ones it has stay: they may have
// been added since, in the GUI or with lbk edit).
Status applyOptionsAgain(Store &store, const RunDetail &run, const RecordOptions &o)
{
    if (!o.name.empty() && o.name != run.name)
        if (auto s = store.setName(run.id, o.name); !s)
            return s;
    // What a run holds from its first record (its config, task, experiment) stays; said, not silently dropped.
    for (const auto &[given, what] : {std::pair{!o.config.empty(), "--config"}, {!o.task.empty(), "--task"},
                                      {!o.experiment.empty(), "--experiment"}})
        if (given)
            std::fprintf(stderr, "lbk: %s is not applied: run %lld was recorded before and keeps its own\n", what,
                         static_cast<long long>(run.id));
    const auto tags = editedTags(run.tags, o.tags);
    return tags == run.tags ? okStatus() : store.setTags(run.id, tags);
}

// Lines of the journal that were no events are skipped with a warning in the run's log; said here too, where the
// person who brought the file looks.
void sayMalformed(int64_t run, const IngestStats &stats, const std::string &journal)
{
    if (stats.malformed == 0)
        return;
    const bool one = stats.malformed == 1;
    std::fprintf(stderr, "lbk: %lld %s of %s %s skipped:\n", static_cast<long long>(stats.malformed),
                 one ? "line" : "lines", journal.c_str(), one ? "is no event and was" : "are no events and were");
    for (const auto &said : stats.skipped)
        std::fprintf(stderr, "  %s\n", toValidUtf8(said).c_str());
    if (const auto more = stats.malformed - int64_t(stats.skipped.size()); more > 0)
        std::fprintf(stderr, "%s\n", withStore("  ... and " + std::to_string(more) + " more: `lbk show " +
                                               std::to_string(run) + "` lists the run's warnings").c_str());
}

int recordAgain(const Common &c, Store &store, const RunDetail &run, const RecordOptions &o)
{
    auto stats = importJournal(store, run, o.journal, false);
    if (!stats)
        return fail(stats.error());
    sayMalformed(run.id, *stats, o.journal);
    if (auto s = applyOptionsAgain(store, run, o); !s)
        return fail(s.error());
    if (c.json)
        std::printf("%s\n", json{{"id", run.id}, {"uid", run.uid}, {"run_dir", run.runDir},
                                 {"journal", journalPath(run).string()}, {"new_events", stats->events}}
                                .dump(2)
                                .c_str());
    else
        std::printf("run %lld (%s) holds this journal already: %lld new events stored\n",
                    static_cast<long long>(run.id), run.uid.c_str(), static_cast<long long>(stats->events));
    return kOk;
}

} // namespace

int record(const Common &c, const RecordOptions &o)
{
    if (o.task != "" && !fromWord<TaskKind>(o.task))
        return fail(badInput("--task " + o.task + ": allowed are multiclass, binary and multilabel"));
    if (std::error_code ec; !o.journal.empty() && !fs::is_regular_file(o.journal, ec))
        return fail(badInput("--journal " + o.journal + (fs::is_directory(o.journal, ec)
                                                             ? ": a folder; give its journal.jsonl"
                                                             : ": no such file")));
    auto config = readConfig(o.config);
    if (!config)
        return fail(config.error());
    auto store = Store::open(Store::pathOr(c.store));
    if (!store)
        return fail(store.error());
    ExternalRun request{o.name, o.experiment, o.task, o.tags, *config, o.pid, {}}; // uid: from the journal, if any
    // What the options leave out, as the script named it.
    if (!o.journal.empty() && !fillFromJournal(request, o.journal))
        return fail(badInput("--journal " + o.journal + ": none of its first lines is a Labbook event (a JSON object "
                             "with a \"type\", docs/PROTOCOL.md); nothing was recorded"));
    if (auto known = recordedBefore(**store, request)) // the same journal again, perhaps longer: the same run
        return recordAgain(c, **store, *known, o);
    auto run = createExternalRun(**store, request);
    if (!run)
        return fail(run.error());
    if (!o.journal.empty()) {
        auto stats = importJournal(**store, *run, o.journal, true);
        if (!stats)
            return fail(stats.error());
        sayMalformed(run->id, *stats, o.journal);
    }
    const json out = {{"id", run->id}, {"uid", run->uid}, {"run_dir", run->runDir},
                      {"journal", journalPath(*run).string()}, {"store", Store::pathOr(c.store).string()}};
    if (c.json)
        std::printf("%s\n", out.dump(2).c_str());
    else
        std::printf("run %lld (%s) recorded; its journal: %s\n", static_cast<long long>(run->id), run->uid.c_str(),
                    journalPath(*run).c_str());
    return kOk;
}

} // namespace lbk::cli
