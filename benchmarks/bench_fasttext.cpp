// bench_fasttext: Labbook's bag of n-grams against fastText (Debian's `fasttext`), the speed anchor for this model,
// on the same task, examples and split. Each whole process is timed, N times: `lbk run` of
// benchmarks/fasttext-bag.json against `fasttext supervised` with the same settings, then `lbk predict` against
// `fasttext predict-prob` on 1M titles. Prints each run, the medians and the ratios (Labbook / fastText) of wall
// time, CPU time, peak memory and disk written, and both test accuracies; Labbook's first run starts with empty
// caches (its own XDG_CACHE_HOME), the later ones find the papers, tokenizer and token ids cached. See
// docs/BENCHMARKS.md.
// Usage: bench_fasttext [--runs N] [--dir DIR] [--experiment FILE] [--predict-lines N] [--no-predict]
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "launch/process.h"
#include "processmeasure.h"
#include "store/store.h"

namespace fs = std::filesystem;
using nlohmann::json;
using lbkbench::ProcessSample;

namespace {

constexpr char kFastText[] = "/usr/bin/fasttext";

// fastText's input as its users prepare it: lower-cased, runs of word characters (ASCII letters, digits and '_',
// and every byte of a multi-byte UTF-8 character) joined by spaces.
std::string fastTextTokens(const std::string &text)
{
    std::string out;
    bool inWord = false;
    for (const unsigned char c : text) {
        const bool word = std::isalnum(c) || c == '_' || c >= 0x80;
        if (word) {
            if (!inWord && !out.empty())
                out += ' ';
            out += char(std::tolower(c));
        }
        inWord = word;
    }
    return out;
}

struct Prepared {
    fs::path train, test, titlesJsonl, titlesText;
    size_t trainLines = 0, testLines = 0, predictLines = 0;
};

// Labbook's own examples, labels and split (`lbk dataset`), written for fastText: the training split shuffled
// (seed 13), the test split as it is; and the titles repeated to `predictLines` lines, as JSON lines for
// `lbk predict` and as fastText's text.
lbk::Result<Prepared> prepare(const fs::path &bin, const fs::path &dir, const fs::path &experiment, size_t predictLines)
{
    const fs::path dataset = dir / "dataset.jsonl";
    const auto made = lbkbench::runMeasured({(bin / "lbk").string(), "dataset", experiment.string(), "--out",
                                             dataset.string()}, (dir / "dataset.log").string());
    if (made.exitCode != 0)
        return lbk::Error{"lbk dataset failed; see " + (dir / "dataset.log").string()};
    std::ifstream in(dataset);
    std::string line;
    std::getline(in, line);
    const json header = json::parse(line);
    const auto names = header["label_names"].get<std::vector<std::string>>();
    std::vector<std::string> train, test, titles;
    while (std::getline(in, line)) {
        const json e = json::parse(line);
        const std::string text = e["text"].get<std::string>();
        std::string ft = "__label__" + names.at(e["labels"][0].get<size_t>()) + " " + fastTextTokens(text);
        const std::string split = e["split"].get<std::string>();
        if (split == "train")
            train.push_back(std::move(ft));
        else if (split == "test")
            test.push_back(std::move(ft));
        titles.push_back(text);
    }
    std::mt19937_64 rng(13);
    std::shuffle(train.begin(), train.end(), rng);
    Prepared p{dir / "ft-train.txt", dir / "ft-test.txt", dir / "titles.jsonl", dir / "titles.txt",
               train.size(), test.size(), predictLines};
    std::ofstream trainOut(p.train), testOut(p.test), jsonOut(p.titlesJsonl), textOut(p.titlesText);
    for (const auto &l : train)
        trainOut << l << '\n';
    for (const auto &l : test)
        testOut << l << '\n';
    for (size_t i = 0; i < predictLines && !titles.empty(); ++i) {
        const std::string &t = titles[i % titles.size()];
        jsonOut << json{{"id", std::to_string(i)}, {"title", t}}.dump() << '\n';
        textOut << fastTextTokens(t) << '\n';
    }
    return p;
}

// Bytes of the regular files under a folder (a run's folder), or of one file.
uintmax_t bytesUnder(const fs::path &path)
{
    std::error_code ec;
    if (fs::is_regular_file(path, ec))
        return fs::file_size(path, ec);
    uintmax_t total = 0;
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
        if (it->is_regular_file(ec))
            total += it->file_size(ec);
    return total;
}

struct Trial {
    ProcessSample process;
    double diskMb = 0;
    double accuracy = 0;
    int64_t run = 0; // Labbook's run, the one scored afterwards
};

double median(std::vector<double> xs)
{
    std::sort(xs.begin(), xs.end());
    return xs.empty() ? 0 : xs[xs.size() / 2];
}

void printRow(const char *who, int i, const Trial &t, double load)
{
    std::printf("  %-9s run %d: wall %6.2f s  cpu %6.2f s  peak %7.0f MB  disk %6.0f MB  test acc %.4f  (load %.2f)\n",
                who, i, t.process.wallS, t.process.cpuS, t.process.peakRssMb, t.diskMb, t.accuracy, load);
}

// The newest run of the store: its test accuracy and the bytes its folder holds.
Trial labbookResult(const fs::path &store, const ProcessSample &p)
{
    Trial t{p};
    auto s = lbk::Store::open(store);
    if (!s)
        return t;
    const auto runs = (*s)->runs({});
    if (runs.empty())
        return t;
    t.accuracy = runs.front().summaryValue("final", "test/accuracy").value_or(0);
    t.diskMb = double(bytesUnder(runs.front().runDir)) / 1e6;
    t.run = runs.front().id;
    return t;
}

// fastText's P@1 on the test file (one label per example: its accuracy).
double fastTextAccuracy(const fs::path &model, const fs::path &test, const fs::path &dir)
{
    const fs::path out = dir / "ft-test.out";
    lbkbench::runMeasured({kFastText, "test", model.string(), test.string()}, out.string());
    std::ifstream in(out);
    std::string key;
    double value = 0;
    while (in >> key)
        if (key == "P@1" && in >> value)
            return value;
    return 0;
}

struct Summary {
    std::vector<Trial> labbook, fasttext;
};

void printRatios(const char *what, const Summary &s)
{
    auto med = [](const std::vector<Trial> &ts, auto field) {
        std::vector<double> xs;
        for (const auto &t : ts)
            xs.push_back(field(t));
        return median(xs);
    };
    const auto wall = [](const Trial &t) { return t.process.wallS; };
    const auto cpu = [](const Trial &t) { return t.process.cpuS; };
    const auto peak = [](const Trial &t) { return t.process.peakRssMb; };
    const auto disk = [](const Trial &t) { return t.diskMb; };
    const auto acc = [](const Trial &t) { return t.accuracy; };
    std::printf("\n%s, medians (Labbook / fastText = ratio):\n", what);
    std::printf("  wall   %7.2f s  / %7.2f s  = %.2f\n", med(s.labbook, wall), med(s.fasttext, wall),
                med(s.labbook, wall) / med(s.fasttext, wall));
    std::printf("  cpu    %7.2f s  / %7.2f s  = %.2f\n", med(s.labbook, cpu), med(s.fasttext, cpu),
                med(s.labbook, cpu) / med(s.fasttext, cpu));
    std::printf("  peak   %7.0f MB / %7.0f MB = %.2f\n", med(s.labbook, peak), med(s.fasttext, peak),
                med(s.labbook, peak) / med(s.fasttext, peak));
    if (med(s.fasttext, disk) > 0)
        std::printf("  disk   %7.0f MB / %7.0f MB = %.2f\n", med(s.labbook, disk), med(s.fasttext, disk),
                    med(s.labbook, disk) / med(s.fasttext, disk));
    if (med(s.fasttext, acc) > 0)
        std::printf("  test accuracy %.4f / %.4f\n", med(s.labbook, acc), med(s.fasttext, acc));
}

} // namespace

int main(int argc, char **argv)
{
    int runs = 3;
    fs::path dir = fs::path(LABBOOK_BENCH_DATA_DIR) / "fasttext";
    fs::path experiment = fs::path(LABBOOK_SOURCE_DIR) / "benchmarks" / "fasttext-bag.json";
    size_t predictLines = 1000000;
    bool noPredict = false;
    CLI::App app{"bench_fasttext: lbk run and lbk predict against fastText on the same examples and split"};
    app.add_option("--runs", runs, "Runs of each program")->capture_default_str()->check(CLI::Range(1, 100));
    app.add_option("--dir", dir, "Scratch folder (its store is emptied first)")->capture_default_str();
    app.add_option("--experiment", experiment, "Labbook's experiment")->capture_default_str();
    app.add_option("--predict-lines", predictLines, "Titles scored by both")->capture_default_str();
    app.add_flag("--no-predict", noPredict, "Skip the inference comparison");
    CLI11_PARSE(app, argc, argv);
    if (!fs::exists(kFastText)) {
        std::fprintf(stderr, "bench_fasttext: %s is missing; install Debian's fasttext (apt-get install fasttext)\n",
                     kFastText);
        return 1;
    }
    const fs::path bin = lbk::currentExecutable().parent_path();
    std::error_code ec;
    fs::create_directories(dir);
    const fs::path store = dir / "store.db";
    for (const char *stale : {"store.db", "store.db-wal", "store.db-shm"})
        fs::remove(dir / stale, ec);
    fs::remove_all(dir / "store.runs", ec);
    // A cache folder of the benchmark's own, empty at the start: Labbook's first run reads the papers, trains its
    // tokenizer and encodes the texts, as any first run of a dataset does; the later ones find them cached.
    const fs::path cache = dir / "cache";
    fs::remove_all(cache, ec);
    ::setenv("XDG_CACHE_HOME", cache.c_str(), 1);
    auto prepared = prepare(bin, dir, experiment, noPredict ? 0 : predictLines);
    if (!prepared) {
        std::fprintf(stderr, "bench_fasttext: %s\n", prepared.message().c_str());
        return 1;
    }
    const Prepared &p = *prepared;
    std::printf("%zu training and %zu test examples (Labbook's split of %s); %d runs each, %u cores\n", p.trainLines,
                p.testLines, experiment.filename().c_str(), runs, std::thread::hardware_concurrency());
    Summary train;
    const fs::path model = dir / "ft-model";
    for (int i = 1; i <= runs; ++i) {
        double load = lbkbench::loadAverage();
        const auto lb = lbkbench::runMeasured({(bin / "lbk").string(), "--store", store.string(), "run",
                                                experiment.string(), "--quiet"}, (dir / "lbk-run.log").string());
        if (lb.exitCode != 0) {
            std::fprintf(stderr, "bench_fasttext: lbk run failed; see %s\n", (dir / "lbk-run.log").c_str());
            return 1;
        }
        train.labbook.push_back(labbookResult(store, lb));
        printRow("Labbook", i, train.labbook.back(), load);
        load = lbkbench::loadAverage();
        const auto ft = lbkbench::runMeasured({kFastText, "supervised", "-input", p.train.string(), "-output",
                                                model.string(), "-dim", "64", "-wordNgrams", "2", "-bucket", "2000000",
                                                "-epoch", "5", "-lr", "0.5", "-minCount", "1", "-thread", "2"},
                                               (dir / "ft-train.log").string());
        if (ft.exitCode != 0) {
            std::fprintf(stderr, "bench_fasttext: fasttext supervised failed; see %s\n", (dir / "ft-train.log").c_str());
            return 1;
        }
        Trial t{ft, double(bytesUnder(model.string() + ".bin") + bytesUnder(model.string() + ".vec")) / 1e6,
                fastTextAccuracy(model.string() + ".bin", p.test, dir)};
        train.fasttext.push_back(t);
        printRow("fastText", i, t, load);
    }
    printRatios("Training (lbk run / fasttext supervised, whole processes)", train);
    std::vector<double> ftWall;
    for (const auto &t : train.fasttext)
        ftWall.push_back(t.process.wallS);
    std::printf("  Labbook's first run (empty caches): wall %.2f s = %.2f x fastText's median\n",
                train.labbook.front().process.wallS, train.labbook.front().process.wallS / median(ftWall));
    if (noPredict)
        return 0;
    Summary predict;
    std::printf("\nScoring %zu titles:\n", p.predictLines);
    for (int i = 1; i <= runs; ++i) {
        double load = lbkbench::loadAverage();
        const auto lb = lbkbench::runMeasured({(bin / "lbk").string(), "--store", store.string(), "predict",
                                                std::to_string(train.labbook.back().run),
                                                "--data", p.titlesJsonl.string(), "--out", (dir / "lbk-pred.jsonl").string(),
                                                "--top-k", "1", "--threads", "2", "--quiet"},
                                               (dir / "lbk-predict.log").string());
        predict.labbook.push_back(Trial{lb, double(bytesUnder(dir / "lbk-pred.jsonl")) / 1e6, 0});
        printRow("Labbook", i, predict.labbook.back(), load);
        load = lbkbench::loadAverage();
        const auto ft = lbkbench::runMeasured({kFastText, "predict-prob", model.string() + ".bin",
                                                p.titlesText.string()}, (dir / "ft-pred.txt").string());
        predict.fasttext.push_back(Trial{ft, double(bytesUnder(dir / "ft-pred.txt")) / 1e6, 0});
        printRow("fastText", i, predict.fasttext.back(), load);
        if (lb.exitCode != 0 || ft.exitCode != 0) {
            std::fprintf(stderr, "bench_fasttext: scoring failed; see %s\n", (dir / "lbk-predict.log").c_str());
            return 1;
        }
    }
    printRatios("Scoring (lbk predict / fasttext predict-prob; disk is the output)", predict);
    return 0;
}
