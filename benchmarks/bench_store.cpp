// bench_store: how fast the run store ingests metric events in batches (points/s), and what recording one
// metrics event costs the worker (JournalWriter::emit: build, write and flush one line). Prints figures; see
// docs/BENCHMARKS.md. Usage: bench_store [--points N] [--batch LINES] [--keys K] [--dir DIR]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "protocol/journal.h"
#include "store/store.h"

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

static double secondsSince(Clock::time_point t)
{
    return std::chrono::duration<double>(Clock::now() - t).count();
}

int main(int argc, char **argv)
{
    int64_t points = 2000000;
    int64_t batch = 10000; // journal lines per ingestLines call
    int keys = 4;          // values per metrics event (train/loss, lr, epoch, examples/s)
    fs::path dir = fs::temp_directory_path() / "lbk-bench-store";
    CLI::App app{"bench_store: store ingest (metric points/s) and the cost of recording one metrics event"};
    app.add_option("--points", points, "Metric points to ingest")
        ->capture_default_str()
        ->check(CLI::Range(int64_t(1), int64_t(1) << 40));
    app.add_option("--batch", batch, "Journal lines per ingest call")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 30));
    app.add_option("--keys", keys, "Values per metrics event")->capture_default_str()->check(CLI::Range(1, 1 << 30));
    app.add_option("--dir", dir, "Scratch folder (emptied first)")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directories(dir);

    // 1. Recording: emit() of a per-step metrics event, as the trainer writes it.
    {
        auto writer = lbk::JournalWriter::open(dir / "journal.jsonl");
        if (!writer) {
            std::fprintf(stderr, "bench_store: %s\n", writer.message().c_str());
            return 1;
        }
        const int n = 20000;
        const auto t = Clock::now();
        for (int step = 1; step <= n; ++step)
            (*writer)->emit("metrics", {{"step", step},
                                        {"values",
                                         {{"train/loss", 1.0 / step},
                                          {"lr", 0.001},
                                          {"epoch", step / 1000.0},
                                          {"train/examples_per_s", 12345.6}}}});
        const double us = secondsSince(t) / n * 1e6;
        std::printf("recording: %.2f us per metrics event (4 values; JSON, write, flush), %d events\n", us, n);
    }

    // 2. Ingest: metric events in batches of `batch` lines through Store::ingestLines.
    auto store = lbk::Store::open(dir / "bench.db");
    if (!store) {
        std::fprintf(stderr, "bench_store: %s\n", store.message().c_str());
        return 1;
    }
    lbk::NewRun nr;
    nr.name = "bench";
    nr.experiment = "bench";
    nr.runDir = (dir / "run").string();
    auto run = (*store)->createRun(nr);
    if (!run) {
        std::fprintf(stderr, "bench_store: %s\n", run.message().c_str());
        return 1;
    }
    const int64_t events = points / keys;
    std::vector<std::string> lines;
    lines.reserve(size_t(events));
    for (int64_t i = 0; i < events; ++i) {
        json values = json::object();
        for (int k = 0; k < keys; ++k)
            values["key" + std::to_string(k)] = double(i) * 0.001 + k;
        lines.push_back(json({{"seq", i + 1}, {"t", 1.7e9 + double(i)}, {"type", "metrics"}, {"step", i + 1},
                              {"values", values}})
                            .dump());
    }
    int64_t offset = 0;
    const auto t = Clock::now();
    for (int64_t b = 0; b < events; b += batch) {
        std::vector<std::string_view> views;
        for (int64_t i = b; i < std::min(events, b + batch); ++i) {
            views.emplace_back(lines[size_t(i)]);
            offset += int64_t(lines[size_t(i)].size()) + 1;
        }
        auto st = (*store)->ingestLines(run->id, views, offset);
        if (!st) {
            std::fprintf(stderr, "bench_store: %s\n", st.message().c_str());
            return 1;
        }
    }
    const double secs = secondsSince(t);
    std::printf("ingest: %lld metric points (%lld events x %d keys) in %.2f s = %.2fM points/s (batches of %lld "
                "events)\n",
                static_cast<long long>(events * keys), static_cast<long long>(events), keys, secs,
                double(events * keys) / secs / 1e6, static_cast<long long>(batch));
    const auto stored = (*store)->metric(run->id, "key0");
    std::printf("check: %zu points stored for key0 (expected %lld)\n", stored.size(), static_cast<long long>(events));
    fs::remove_all(dir, ec);
    return int64_t(stored.size()) == events ? 0 : 1;
}
