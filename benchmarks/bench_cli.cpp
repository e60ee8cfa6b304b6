// bench_cli: how fast lbk answers the commands people type all day, on a store of many runs: `lbk --help`,
// `lbk runs` and `lbk show`, each started as a process many times; prints the median and worst wall time and
// peak memory (the process's max RSS), for lbk and, for comparison, for lbk-engine (which links LibTorch, as
// every lbk command did before the split). See docs/BENCHMARKS.md.
// Usage: bench_cli [--runs N] [--repeat K] [--dir DIR] [--keep]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "launch/process.h"
#include "processmeasure.h"
#include "store/store.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A finished run as a worker reports it: run_started, a metric every 10 of 500 steps, a validation evaluation,
// finished with its summary.
std::vector<std::string> runEvents(int i)
{
    std::vector<std::string> lines;
    int64_t seq = 0;
    auto add = [&](json e) {
        e["seq"] = ++seq;
        e["t"] = 1.7e9 + double(seq);
        lines.push_back(e.dump());
    };
    add({{"type", "run_started"}, {"kind", "train"}, {"config", {{"name", "bench"}, {"optimizer", {{"lr", 0.001 * i}}}}},
         {"host", "bench"}, {"pid", 1}, {"total_steps", 500}});
    for (int step = 10; step <= 500; step += 10)
        add({{"type", "metrics"}, {"step", step}, {"values", {{"train/loss", 1.0 / step}, {"lr", 0.001}}}});
    add({{"type", "evaluation"}, {"step", 500}, {"split", "val"},
         {"summary", {{"accuracy", 0.7 + i * 1e-5}, {"macro_f1", 0.68}, {"loss", 0.9}}}});
    add({{"type", "metrics"}, {"step", 500}, {"values", {{"val/accuracy", 0.7 + i * 1e-5}, {"val/macro_f1", 0.68}}}});
    add({{"type", "finished"}, {"step", 500}, {"summary", {{"test/accuracy", 0.71}}}});
    return lines;
}

lbk::Status fillStore(const fs::path &file, int runs)
{
    auto store = lbk::Store::open(file);
    if (!store)
        return store.error();
    for (int i = 0; i < runs; ++i) {
        lbk::NewRun nr;
        nr.name = "bench-" + std::to_string(i);
        nr.experiment = "bench";
        nr.runDir = (file.parent_path() / ("run-" + std::to_string(i))).string();
        auto run = (*store)->createRun(nr);
        if (!run)
            return run.error();
        const auto lines = runEvents(i);
        std::vector<std::string_view> views(lines.begin(), lines.end());
        int64_t bytes = 0;
        for (const auto &l : lines)
            bytes += int64_t(l.size()) + 1;
        if (auto st = (*store)->ingestLines(run->id, views, bytes); !st)
            return st.error();
    }
    return lbk::Unit{};
}

void measure(const std::string &label, const std::vector<std::string> &args, int repeat)
{
    std::vector<double> ms;
    double rss = 0;
    for (int i = 0; i < repeat; ++i) {
        const auto s = lbkbench::runMeasured(args);
        if (s.exitCode != 0) {
            std::printf("%-34s FAILED (non-zero exit)\n", label.c_str());
            return;
        }
        ms.push_back(s.wallS * 1000);
        rss = std::max(rss, s.peakRssMb);
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%-34s median %7.1f ms  worst %7.1f ms  peak RSS %6.1f MB\n", label.c_str(), ms[ms.size() / 2],
                ms.back(), rss);
}

} // namespace

int main(int argc, char **argv)
{
    int runs = 1000, repeat = 21;
    fs::path dir = fs::temp_directory_path() / "lbk-bench-cli";
    CLI::App app{"bench_cli: wall time and peak memory of lbk --help, lbk runs and lbk show on a store of many runs"};
    app.add_option("--runs", runs, "Runs in the store")->capture_default_str()->check(CLI::Range(1, 1000000));
    app.add_option("--repeat", repeat, "Starts of each command")->capture_default_str()->check(CLI::Range(1, 10000));
    app.add_option("--dir", dir, "Scratch folder (emptied first)")->capture_default_str();
    bool keep = false;
    app.add_flag("--keep", keep, "Leave the store in the scratch folder, to profile a command on it");
    CLI11_PARSE(app, argc, argv);
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directories(dir);
    const fs::path store = dir / "labbook.db";
    if (auto filled = fillStore(store, runs); !filled) {
        std::fprintf(stderr, "bench_cli: %s\n", filled.message().c_str());
        return 1;
    }
    const fs::path bin = lbk::currentExecutable().parent_path();
    std::printf("store: %d finished runs, %s; %d starts of each command\n", runs, store.c_str(), repeat);
    for (const char *program : {"lbk", "lbk-engine"}) {
        const std::string exe = (bin / program).string();
        if (!fs::exists(exe))
            continue;
        const std::string s = "--store=" + store.string();
        measure(std::string(program) + " --help", {exe, "--help"}, repeat);
        measure(std::string(program) + " runs", {exe, s, "runs"}, repeat);
        measure(std::string(program) + " show " + std::to_string(runs / 2), {exe, s, "show", std::to_string(runs / 2)},
                repeat);
    }
    if (!keep)
        fs::remove_all(dir, ec);
    return 0;
}
