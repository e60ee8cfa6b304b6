// Using a finished run's model: exporting it as a folder other tools read (PyTorch, `lbk predict`), streaming
// large files through it, and recording evaluations on other labelled data into the run. One LibTorch
// translation unit for all three, as they share the model loading.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <optional>
#include <thread>
#include <unistd.h>

#include <torch/torch.h>
#include <zstd.h>

#include "data/dataset.h"
#include "engine/engine.h"
#include "engine/evaluation.h"
#include "engine/models.h"
#include "engine/optim.h"
#include "engine/threads.h"
#include "engine/tokenizer.h"
#include "experiment/schema.h"
#include "protocol/journal.h"
#include "store/store.h"

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// 2: bag n-gram hash named in architecture.ngram_hash, character n-grams, the word tokenizer.
// 3: bag_cnn; the CNN's max pooling skips padded windows (architecture.cnn_pooling).
constexpr int kExportFormatVersion = 3;

std::string bagIdsText(const ModelSpec &ms)
{
    std::string t = "token ids, then for each order n = 2..ngrams and each window: vocab_rows + (h mod "
                    "ngram_buckets) in uint64 arithmetic, h = 0, then over the window ";
    t += ms.ngramHash == "multiplicative"
             ? "h = h * 1000003 + (token + 1)"
             : "h = (h xor (token + 1)) * 0x9E3779B97F4A7C15, then h ^= h >> 33; h *= 0xFF51AFD7ED558CCD; "
               "h ^= h >> 33; h *= 0xC4CEB93FE53F2E5B; h ^= h >> 33";
    if (ms.charNgrams > 0)
        t += "; then for each token its character n-gram rows (architecture.char_ngrams = [min, max]): the "
             "piece with a leading U+2581 made a space and a space appended, every run of min..max code points "
             "as UTF-8 bytes through FNV-1a 64 and the same finaliser, vocab_rows + (h mod ngram_buckets)";
    return t;
}

void printError(const std::string &msg)
{
    std::fprintf(stderr, "lbk: %s\n", msg.c_str());
}

// A trained model with everything needed to turn texts into probabilities, loaded from a run folder or an
// export folder.
struct LoadedModel {
    Experiment exp;
    std::unique_ptr<Tokenizer> tokenizer;
    std::vector<std::string> labels;
    TaskKind kind = TaskKind::MultiClass;
    int vocab = 0, clsId = -1, outputs = 0;
    InputSpec inputs;
    std::shared_ptr<ClassifierImpl> model;
    std::string checkpoint; // best | last | export
    int64_t step = 0;
    // The precision the run trained and validated in, as its journal records it ("fp32" for an export, whose
    // contract is the Python client's fp32 arithmetic).
    std::string trainedPrecision = "fp32";
    json runData = json::object(); // a run's run_started data (examples, labels, split sizes) for the model card
    bool bf16 = false; // bfloat16 autocast, as the trainer's forward pass under training.precision "bf16"

    // n x outputs probabilities (binary: n values, the positive class's).
    std::vector<float> probabilities(const std::vector<const std::vector<int> *> &tokens) const
    {
        torch::NoGradGuard noGrad;
        Batch b = makeInputs(tokens, inputs, torch::kCPU);
        torch::Tensor logits;
        {
            AutocastGuard autocast(bf16, /*cuda=*/false);
            logits = model->forward(b).to(torch::kFloat);
        }
        auto p = (kind == TaskKind::MultiClass ? torch::softmax(logits, 1) : torch::sigmoid(logits)).contiguous();
        return std::vector<float>(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
    }
    // Class names for the probability columns: binary gives the positive class only.
    size_t width() const { return kind == TaskKind::Binary ? 1 : labels.size(); }
    const char *precision() const { return bf16 ? "bf16" : "fp32"; }

    // --precision: "auto" scores as the run trained. bf16 runs only where this machine computes in bfloat16
    // natively; elsewhere emulated bf16 is slower than fp32, so it warns and stays in fp32, as the trainer does.
    void choosePrecision(const std::string &asked)
    {
        const bool want = asked == "bf16" || (asked == "auto" && trainedPrecision == "bf16");
        bf16 = want && cpuHasNativeBf16();
        if (want && !bf16)
            printError(std::string("warning: ") +
                       (asked == "bf16" ? "--precision bf16" : "the run trained in bf16") +
                       ", but this CPU has no native bfloat16 arithmetic (avx512_bf16 or amx_bf16): scoring in fp32");
    }
};

Result<std::vector<std::string>> readLabels(const fs::path &file)
{
    auto j = readJsonFile(file);
    if (!j)
        return j.error();
    if (!j->is_array())
        return Error{file.string() + ": expected a JSON array of label names"};
    return j->get<std::vector<std::string>>();
}

// Model, tokenizer and labels, without the weights.
Result<std::unique_ptr<LoadedModel>> buildModel(const json &config, const fs::path &tokenizerFile,
                                                const fs::path &labelsFile)
{
    auto exp = experimentFromRecorded(config);
    if (!exp)
        return exp.error();
    auto m = std::make_unique<LoadedModel>();
    m->exp = std::move(*exp);
    auto tok = Tokenizer::load(tokenizerFile, m->exp.tokenizer);
    if (!tok)
        return tok.error();
    m->tokenizer = std::move(*tok);
    auto labels = readLabels(labelsFile);
    if (!labels)
        return labels.error();
    m->labels = std::move(*labels);
    m->kind = m->exp.labels.kind;
    const TokenRows rows = tokenRowsFor(m->exp.model, m->tokenizer->vocabSize());
    m->vocab = rows.vocab;
    m->clsId = rows.clsId;
    m->outputs = m->kind == TaskKind::Binary ? 1 : int(m->labels.size());
    m->model = makeModel(m->exp.model, m->vocab, m->outputs, m->exp.tokenizer.maxTokens);
    m->model->eval();
    m->inputs = inputSpecFor(m->exp.model, m->vocab, m->clsId, m->tokenizer->pieceTexts());
    return m;
}

// The journal's latest run_started event (a resumed run starts again), or an empty object.
json latestRunStarted(const fs::path &journal)
{
    std::ifstream in(journal);
    std::string line;
    json started = json::object();
    while (std::getline(in, line)) {
        if (line.find("\"run_started\"") == std::string::npos)
            continue;
        auto e = json::parse(line, nullptr, false);
        if (!e.is_discarded() && e.value("type", "") == "run_started")
            started = std::move(e);
    }
    return started;
}

Result<std::unique_ptr<LoadedModel>> loadFromRunDir(const fs::path &runDir)
{
    auto cfg = readJsonFile(runDir / "experiment.json");
    if (!cfg)
        return cfg.error();
    auto m = buildModel(*cfg, runDir / "tokenizer.model", runDir / "labels.json");
    if (!m)
        return m.error();
    LoadedModel &lm = **m;
    const json started = latestRunStarted(runDir / "journal.jsonl");
    lm.trainedPrecision = started.value("precision", std::string("fp32"));
    lm.runData = started.value("data", json::object());
    for (const char *kind : {"best", "last"}) {
        const fs::path file = runDir / "checkpoints" / (std::string(kind) + ".pt");
        if (!fs::exists(file))
            continue;
        torch::serialize::InputArchive archive;
        archive.load_from(file.string());
        torch::NoGradGuard noGrad;
        for (auto &p : lm.model->named_parameters()) {
            torch::Tensor t;
            archive.read("model." + p.key(), t);
            p.value().copy_(t);
        }
        for (auto &b : lm.model->named_buffers()) {
            torch::Tensor t;
            archive.read("model." + b.key(), t, /*is_buffer=*/true);
            b.value().copy_(t);
        }
        torch::Tensor step;
        if (archive.try_read("step", step))
            lm.step = step.item<int64_t>();
        lm.checkpoint = kind;
        return m;
    }
    return Error{runDir.string() + ": the run has no checkpoint yet (checkpoints/best.pt or last.pt)"};
}

Result<std::unique_ptr<LoadedModel>> loadFromExport(const fs::path &dir)
{
    auto card = readJsonFile(dir / "model.json");
    if (!card)
        return card.error();
    if (card->value("format", "") != "labbook-model")
        return Error{(dir / "model.json").string() + ": not a Labbook model card (\"format\": \"labbook-model\")"};
    auto m = buildModel(card->value("experiment", json::object()), dir / "tokenizer.model", dir / "labels.json");
    if (!m)
        return m.error();
    std::ifstream in(dir / "weights.pt", std::ios::binary);
    if (!in)
        return Error{(dir / "weights.pt").string() + ": cannot read the weights"};
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto dict = torch::pickle_load(bytes).toGenericDict();
    torch::NoGradGuard noGrad;
    auto copyFrom = [&](const std::string &name, torch::Tensor &dst) -> Result<Unit> {
        auto it = dict.find(name);
        if (it == dict.end())
            return Error{(dir / "weights.pt").string() + ": no tensor named '" + name + "'"};
        const auto src = it->value().toTensor();
        if (src.sizes() != dst.sizes())
            return Error{(dir / "weights.pt").string() + ": '" + name + "' has the wrong shape"};
        dst.copy_(src);
        return Unit{};
    };
    for (auto &p : (*m)->model->named_parameters())
        if (auto ok = copyFrom(p.key(), p.value()); !ok)
            return ok.error();
    for (auto &b : (*m)->model->named_buffers())
        if (auto ok = copyFrom(b.key(), b.value()); !ok)
            return ok.error();
    (*m)->checkpoint = "export";
    (*m)->step = card->value("step", int64_t(0));
    return m;
}

std::unique_ptr<Store> openStore(const std::string &path)
{
    auto store = Store::open(path.empty() ? Store::defaultPath() : fs::path(path));
    if (!store) {
        printError(store.message());
        return nullptr;
    }
    return std::move(*store);
}

// The training run `ref` names, or nothing after printing why (a bad reference, or an LR range test, which has
// no model): lbk's exit code 2.
std::optional<RunDetail> trainingRun(Store &store, const std::string &ref)
{
    auto run = store.run(ref);
    if (!run) {
        printError(run.message());
        return std::nullopt;
    }
    if (run->kind != "train") {
        printError("run " + std::to_string(run->id) + " is an LR range test; only training runs have a model");
        return std::nullopt;
    }
    return std::move(*run);
}

// Reads lines from a plain or zstd-compressed file in constant memory.
class LineReader {
public:
    static Result<std::unique_ptr<LineReader>> open(const fs::path &file)
    {
        std::unique_ptr<LineReader> r(new LineReader);
        r->m_file = std::fopen(file.c_str(), "rb");
        if (!r->m_file)
            return Error{file.string() + ": cannot open for reading"};
        std::error_code ec;
        r->m_size = int64_t(fs::file_size(file, ec));
        const std::string name = file.filename().string();
        if (name.size() > 4 && name.compare(name.size() - 4, 4, ".zst") == 0) {
            r->m_zstd = ZSTD_createDStream();
            ZSTD_initDStream(r->m_zstd);
        }
        r->m_in.resize(1 << 17);
        return r;
    }
    ~LineReader()
    {
        if (m_file)
            std::fclose(m_file);
        if (m_zstd)
            ZSTD_freeDStream(m_zstd);
    }
    // False at the end of the file; a last line without a newline is returned too.
    bool next(std::string &line)
    {
        while (true) {
            const size_t nl = m_buf.find('\n', m_pos);
            if (nl != std::string::npos) {
                line.assign(m_buf, m_pos, nl - m_pos);
                m_pos = nl + 1;
                return true;
            }
            m_buf.erase(0, m_pos);
            m_pos = 0;
            if (!fill()) {
                if (m_buf.empty())
                    return false;
                line.swap(m_buf);
                m_buf.clear();
                return true;
            }
        }
    }
    int64_t bytesRead() const { return m_read; }
    int64_t size() const { return m_size; }
    const std::string &error() const { return m_error; }

private:
    LineReader() = default;
    bool fill()
    {
        if (!m_zstd) {
            const size_t n = std::fread(m_in.data(), 1, m_in.size(), m_file);
            m_read += int64_t(n);
            m_buf.append(m_in.data(), n);
            return n > 0;
        }
        std::vector<char> out(ZSTD_DStreamOutSize());
        while (true) {
            if (m_zin.pos == m_zin.size) {
                const size_t n = std::fread(m_in.data(), 1, m_in.size(), m_file);
                m_read += int64_t(n);
                if (n == 0)
                    return false;
                m_zin = {m_in.data(), n, 0};
            }
            ZSTD_outBuffer o{out.data(), out.size(), 0};
            const size_t rc = ZSTD_decompressStream(m_zstd, &o, &m_zin);
            if (ZSTD_isError(rc)) {
                m_error = ZSTD_getErrorName(rc);
                return false;
            }
            if (o.pos > 0) {
                m_buf.append(out.data(), o.pos);
                return true;
            }
        }
    }
    std::FILE *m_file = nullptr;
    ZSTD_DStream *m_zstd = nullptr;
    ZSTD_inBuffer m_zin{nullptr, 0, 0};
    std::vector<char> m_in;
    std::string m_buf;
    size_t m_pos = 0;
    int64_t m_read = 0, m_size = 0;
    std::string m_error;
};

class ProgressBar {
public:
    explicit ProgressBar(bool enabled) : m_on(enabled && ::isatty(STDERR_FILENO)) {}
    void update(int64_t done, int64_t total, int64_t rows)
    {
        if (!m_on)
            return;
        const auto now = std::chrono::steady_clock::now();
        if (now - m_last < std::chrono::milliseconds(200))
            return;
        m_last = now;
        const double f = total > 0 ? std::min(1.0, double(done) / double(total)) : 0.0;
        const int width = 30, filled = int(f * width);
        const double secs = std::chrono::duration<double>(now - m_start).count();
        std::fprintf(stderr, "\r[%s%s] %5.1f%%  %lld rows  %.0f rows/s ", std::string(size_t(filled), '#').c_str(),
                     std::string(size_t(width - filled), '.').c_str(), 100 * f, static_cast<long long>(rows),
                     secs > 0 ? double(rows) / secs : 0.0);
    }
    void done()
    {
        if (m_on)
            std::fprintf(stderr, "\n");
    }

private:
    bool m_on;
    std::chrono::steady_clock::time_point m_start = std::chrono::steady_clock::now(), m_last{};
};

std::string csvField(const std::string &s)
{
    if (s.find_first_of(",\"\n\r") == std::string::npos)
        return s;
    std::string q = "\"";
    for (char c : s)
        q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

void appendFloat(std::string &out, float v)
{
    char buf[32];
    const int n = std::snprintf(buf, sizeof buf, "%.9g", double(v));
    out.append(buf, size_t(n));
}

// Runs fn(i, t) for i in [0, n) on up to `threads` threads; t is the thread's index.
template <class Fn>
void parallelFor(size_t n, int threads, Fn fn)
{
    threads = std::max(1, std::min<int>(threads, int(n / 64) + 1));
    if (threads == 1) {
        for (size_t i = 0; i < n; ++i)
            fn(i, 0);
        return;
    }
    std::vector<std::thread> pool;
    const size_t per = (n + size_t(threads) - 1) / size_t(threads);
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            for (size_t i = size_t(t) * per; i < std::min(n, size_t(t + 1) * per); ++i)
                fn(i, t);
        });
    for (auto &th : pool)
        th.join();
}

} // namespace

// ----- export -----

// No exception leaves the engine's commands: LibTorch's and any other become a message and exit code 1.
template <typename Body>
int guarded(Body &&body)
{
    try {
        return body();
    } catch (const c10::Error &e) {
        printError(std::string("LibTorch: ") + e.what_without_backtrace());
    } catch (const std::exception &e) {
        printError(e.what());
    }
    return 1;
}

int exportModel(const ModelExportOptions &o)
{
    return guarded([&]() -> int {
        auto store = openStore(o.store);
        if (!store)
            return 1;
        auto run = trainingRun(*store, o.run);
        if (!run)
            return 2;
        const fs::path runDir = run->runDir;
        auto m = loadFromRunDir(runDir);
        if (!m) {
            printError(m.message());
            return 1;
        }
        const LoadedModel &lm = **m;
        std::error_code ec;
        fs::create_directories(o.out, ec);
        if (ec) {
            printError(o.out.string() + ": cannot create the export folder: " + ec.message());
            return 1;
        }
        // A state dict as Python's torch.save writes it: a dict of parameter name -> tensor.
        c10::Dict<std::string, at::Tensor> dict;
        json params = json::array();
        for (const auto &p : lm.model->named_parameters()) {
            dict.insert(p.key(), p.value().detach().cpu().contiguous());
            params.push_back({{"name", p.key()}, {"shape", p.value().sizes().vec()}});
        }
        for (const auto &b : lm.model->named_buffers())
            dict.insert(b.key(), b.value().detach().cpu().contiguous());
        const auto bytes = torch::pickle_save(c10::IValue(dict));
        {
            std::ofstream out(o.out / "weights.pt", std::ios::binary);
            out.write(bytes.data(), std::streamsize(bytes.size()));
            if (!out) {
                printError((o.out / "weights.pt").string() + ": write failed");
                return 1;
            }
        }
        fs::copy_file(runDir / "tokenizer.model", o.out / "tokenizer.model", fs::copy_options::overwrite_existing, ec);
        if (ec) {
            printError((o.out / "tokenizer.model").string() + ": " + ec.message());
            return 1;
        }
        std::ofstream(o.out / "labels.json") << json(lm.labels).dump(2) << '\n';

        const auto &ms = lm.exp.model;
        json arch = {{"type", ms.type}, {"embedding_dim", ms.embeddingDim}, {"dropout", ms.dropout},
                     {"vocab_rows", lm.vocab}, {"outputs", lm.outputs}, {"max_tokens", lm.exp.tokenizer.maxTokens}};
        if (ms.hasBag()) {
            arch["ngrams"] = lm.inputs.ngrams;
            arch["ngram_buckets"] = ms.ngramBuckets;
            arch["ngram_hash"] = ms.ngramHash;
            if (ms.charNgrams > 0) // rows from the pieces of tokenizer.model: see charNgramRows in models.h
                arch["char_ngrams"] = {ms.charNgramsMin, ms.charNgrams};
            arch["embedding_rows"] = int64_t(lm.vocab) + (ms.ngrams > 1 || ms.charNgrams > 0 ? ms.ngramBuckets : 0);
            // tfidf: each id once per text with its count; weights (1 + log count) x idf (buffer "idf"),
            // L2-normalised per text; EmbeddingBag in sum mode with those per-sample weights.
            arch["bag_mode"] = ms.weighting == "tfidf" ? "tfidf" : "mean";
        }
        if (ms.hasCnn()) {
            arch["kernel_sizes"] = ms.kernelSizes;
            arch["channels"] = ms.channels;
            // relu(conv) per kernel k, max over window positions < max(1, length - k + 1) only
            arch["cnn_pooling"] = "max over the windows inside the text";
        }
        if (ms.type == "bag_cnn") { // weights "bag.*" and "cnn.*"; logits bag_weight x bag + (1 - bag_weight) x cnn
            arch["bag_weight"] = ms.bagWeight;
            arch["cnn_embedding_dim"] = ms.cnnEmbeddingDim > 0 ? ms.cnnEmbeddingDim : ms.embeddingDim;
        }
        if (ms.type == "gru" || ms.type == "transformer") {
            arch["hidden"] = ms.hidden;
            arch["layers"] = ms.layers;
            arch["pooling"] = ms.pooling;
            if (ms.type == "transformer") {
                arch["heads"] = ms.heads;
                arch["cls_id"] = lm.clsId;
                arch["norm"] = "pre";
                arch["activation"] = "gelu";
            } else {
                arch["bidirectional"] = true;
            }
        }
        json card = {
            {"format", "labbook-model"},
            {"format_version", kExportFormatVersion},
            {"labbook_version", LABBOOK_VERSION},
            {"engine", engineDescription()},
            {"run", {{"id", run->id}, {"uid", run->uid}, {"name", run->name}, {"experiment", run->experiment}}},
            {"checkpoint", lm.checkpoint},
            {"step", lm.step},
            {"task", toString(lm.kind)},
            {"labels", lm.labels},
            {"output", lm.kind == TaskKind::MultiClass ? "softmax over labels"
                       : lm.kind == TaskKind::Binary   ? "sigmoid: probability of labels[1]"
                                                       : "sigmoid per label"},
            {"architecture", arch},
            {"parameters", params},
            {"input",
             {{"text", toString(lm.exp.data.text)},
              {"text_rule", "title; abstract; or title + \". \" + abstract (either alone when the other is empty)"},
              {"tokenizer",
               {{"file", "tokenizer.model"},
                {"type", lm.exp.tokenizer.type},
                {"lowercase_ascii_first", lm.exp.tokenizer.lowercase},
                {"max_tokens", lm.exp.tokenizer.maxTokens},
                {"pad_id", 0},
                {"unk_id", 1},
                {"pieces", lm.tokenizer->vocabSize()}}},
              {"empty_text", "bag: the ids [1]; sequence models: one unknown token (1) unless a CLS id leads"},
              {"words", lm.exp.tokenizer.type == "word"
                            ? json("before sentencepiece, the (lowercased) text becomes its words joined by single "
                                   "spaces: runs of ASCII letters, digits, '_' and bytes >= 0x80")
                            : json()},
              {"bag_ids", ms.hasBag() ? json(bagIdsText(ms)) : json()}}},
            {"hyper_parameters", lm.exp.config},
            {"experiment", lm.exp.config},
            {"data", lm.runData},
            {"metrics", run->summary},
            {"files", {{"weights", "weights.pt (torch.load: dict name -> tensor)"}, {"tokenizer", "tokenizer.model"},
                       {"labels", "labels.json"}}},
        };
        std::ofstream(o.out / "model.json") << card.dump(2) << '\n';
        std::printf("exported run %lld (%s, %s checkpoint at step %lld) to %s\n", static_cast<long long>(run->id),
                    run->name.c_str(), lm.checkpoint.c_str(), static_cast<long long>(lm.step), o.out.c_str());
        return 0;
    });
}

// ----- predict -----

int predict(const PredictOptions &o)
{
    return guarded([&]() -> int {
        const int threads = threadCount(o.threads);
        setComputeThreads(threads);
        std::unique_ptr<LoadedModel> lm;
        if (fs::is_directory(o.model) && fs::exists(fs::path(o.model) / "model.json")) {
            auto m = loadFromExport(o.model);
            if (!m) {
                printError(m.message());
                return 1;
            }
            lm = std::move(*m);
        } else {
            auto store = openStore(o.store);
            if (!store)
                return 1;
            auto run = store->run(o.model);
            if (!run) {
                printError(o.model + ": neither an export folder (with model.json) nor a run: " + run.message());
                return 2;
            }
            auto m = loadFromRunDir(run->runDir);
            if (!m) {
                printError(m.message());
                return 1;
            }
            lm = std::move(*m);
        }
        lm->choosePrecision(o.precision);
        auto opened = LineReader::open(o.data);
        if (!opened) {
            printError(opened.message());
            return 2;
        }
        LineReader *reader = opened->get();
        std::string format = o.format;
        if (format == "auto")
            format = o.out.extension() == ".csv" ? "csv" : "jsonl";
        if (format != "csv" && format != "jsonl") {
            printError("--format " + format + ": use jsonl or csv");
            return 2;
        }
        std::FILE *out = o.out == "-" ? stdout : std::fopen(o.out.c_str(), "wb");
        if (!out) {
            printError(o.out.string() + ": cannot write the predictions");
            return 1;
        }
        const auto &names = lm->labels;
        const size_t k = lm->width();
        if (format == "csv") {
            std::string header = "id,label,score";
            if (o.topK <= 0)
                for (const auto &n : names)
                    header += "," + csvField("p:" + n);
            std::fprintf(out, "%s\n", header.c_str());
        }
        const DataSpec &ds = lm->exp.data;
        const size_t chunk = 8192;
        const auto batch = size_t(std::max(1, o.batchSize));
        std::vector<std::string> lines;
        std::vector<std::string> ids(chunk), rendered(chunk);
        std::vector<std::vector<int>> tokens(chunk);
        std::vector<char> ok(chunk);
        std::vector<float> probs;
        std::vector<WordCache> caches(static_cast<size_t>(threads)); // one per thread, bounded
        int64_t rows = 0, bad = 0, lineNo = 0;
        std::string firstBad;
        ProgressBar bar(!o.quiet);
        const auto t0 = std::chrono::steady_clock::now();
        bool more = true;
        while (more) {
            lines.clear();
            std::string line;
            while (lines.size() < chunk && (more = reader->next(line)))
                lines.push_back(std::move(line));
            const size_t n = lines.size();
            if (n == 0)
                break;
            // Parse and tokenize in parallel.
            parallelFor(n, threads, [&](size_t i, int t) {
                ok[i] = 0;
                auto j = json::parse(lines[i], nullptr, false);
                if (j.is_discarded() || !j.is_object())
                    return;
                Paper p;
                auto str = [&](const std::string &key) {
                    auto it = j.find(key);
                    if (it == j.end() || it->is_null())
                        return std::string();
                    return it->is_string() ? it->get<std::string>() : it->dump();
                };
                p.id = str(ds.idColumn);
                p.title = str(ds.titleColumn);
                p.abstract = str(ds.abstractColumn);
                ids[i] = p.id;
                tokens[i] = lm->tokenizer->encode(paperText(p, ds.text), &caches[size_t(t)]);
                ok[i] = 1;
            });
            std::vector<const std::vector<int> *> good;
            std::vector<size_t> where;
            for (size_t i = 0; i < n; ++i) {
                if (ok[i]) {
                    good.push_back(&tokens[i]);
                    where.push_back(i);
                } else if (!lines[i].empty()) {
                    ++bad;
                    if (firstBad.empty())
                        firstBad = o.data.string() + ":" + std::to_string(lineNo + int64_t(i) + 1) + ": not a JSON object";
                }
            }
            lineNo += int64_t(n);
            probs = scoreInBatches(good, batch, k, [&](const auto &part) { return lm->probabilities(part); });
            // Render in parallel, write in order.
            parallelFor(good.size(), threads, [&](size_t g, int) {
                const float *row = probs.data() + g * k;
                std::vector<float> full;
                if (lm->kind == TaskKind::Binary)
                    full = {1 - row[0], row[0]};
                else
                    full.assign(row, row + k);
                std::vector<size_t> order(full.size());
                std::iota(order.begin(), order.end(), 0);
                std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return full[a] > full[b]; });
                std::string &s = rendered[where[g]];
                s.clear();
                const std::string &id = ids[where[g]];
                if (format == "csv") {
                    s += csvField(id) + "," + csvField(names[order[0]]) + ",";
                    appendFloat(s, full[order[0]]);
                    if (o.topK <= 0)
                        for (float v : full) {
                            s += ',';
                            appendFloat(s, v);
                        }
                } else {
                    s += "{\"id\":" + json(id).dump(-1, ' ', false, json::error_handler_t::replace) +
                         ",\"label\":" + json(names[order[0]]).dump() + ",\"score\":";
                    appendFloat(s, full[order[0]]);
                    if (o.topK <= 0) {
                        s += ",\"probs\":[";
                        for (size_t c = 0; c < full.size(); ++c) {
                            if (c)
                                s += ',';
                            appendFloat(s, full[c]);
                        }
                        s += "]";
                    } else {
                        s += ",\"top\":[";
                        for (size_t r = 0; r < std::min(order.size(), size_t(o.topK)); ++r) {
                            if (r)
                                s += ',';
                            s += "[" + json(names[order[r]]).dump() + ",";
                            appendFloat(s, full[order[r]]);
                            s += "]";
                        }
                        s += "]";
                    }
                    s += "}";
                }
                s += '\n';
            });
            for (size_t w : where)
                std::fwrite(rendered[w].data(), 1, rendered[w].size(), out);
            rows += int64_t(good.size());
            bar.update(reader->bytesRead(), reader->size(), rows);
        }
        bar.done();
        const bool writeOk = std::fflush(out) == 0 && !std::ferror(out);
        if (out != stdout)
            std::fclose(out);
        if (!reader->error().empty()) {
            printError(o.data.string() + ": " + reader->error());
            return 1;
        }
        if (!writeOk) {
            printError(o.out.string() + ": write failed");
            return 1;
        }
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!o.quiet)
            std::fprintf(stderr, "lbk: %lld rows predicted in %.1f s (%.0f rows/s, %d threads, %s)\n",
                         static_cast<long long>(rows), secs, secs > 0 ? double(rows) / secs : 0.0, threads,
                         lm->precision());
        if (bad > 0)
            std::fprintf(stderr, "lbk: warning: %lld lines skipped (not JSON objects); first: %s\n",
                         static_cast<long long>(bad), firstBad.c_str());
        return 0;
    });
}

// ----- eval -----

int evalRun(const EvalRunOptions &o)
{
    return guarded([&]() -> int {
        const int threads = threadCount(o.threads);
        setComputeThreads(threads);
        auto store = openStore(o.store);
        if (!store)
            return 1;
        auto run = trainingRun(*store, o.run);
        if (!run)
            return 2;
        if (isActive(run->status)) {
            printError("run " + std::to_string(run->id) + " is still " + toString(run->status) +
                       "; evaluate it once it has ended");
            return 2;
        }
        auto m = loadFromRunDir(run->runDir);
        if (!m) {
            printError(m.message());
            return 1;
        }
        LoadedModel &lm = **m;
        lm.choosePrecision(o.precision);
        DataSpec ds = lm.exp.data;
        ds.path = o.data;
        ds.limit = 0;
        const fs::path file = resolveDataPath(o.data, o.dataRoot);
        ReadReport report;
        auto papers = readPapers(file, ds, &report);
        if (!papers) {
            printError(papers.message());
            return 2;
        }
        // The run's labels, applied to the new papers: examples whose category maps to none are left out.
        const auto &names = lm.labels;
        std::vector<const Paper *> kept;
        std::vector<std::vector<int>> truthStore;
        auto indexOf = [&](const std::string &name) {
            auto it = std::find(names.begin(), names.end(), name);
            return it == names.end() ? -1 : int(it - names.begin());
        };
        const LabelSpec &ls = lm.exp.labels;
        for (const Paper &p : *papers) {
            if (p.categories.empty())
                continue;
            std::vector<int> t;
            if (lm.kind == TaskKind::MultiClass) {
                int c = indexOf(p.categories[0]);
                if (c < 0 && ls.poolOthers)
                    c = indexOf("other");
                if (c < 0)
                    continue;
                t.push_back(c);
            } else if (lm.kind == TaskKind::Binary) {
                bool pos = false;
                for (size_t i = 0; i < p.categories.size() && !pos; ++i) {
                    if (ls.matchPrimaryOnly && i > 0)
                        break;
                    pos = std::find(ls.positive.begin(), ls.positive.end(), p.categories[i]) != ls.positive.end();
                }
                t.push_back(pos ? 1 : 0);
            } else {
                for (const auto &c : p.categories)
                    if (int l = indexOf(c); l >= 0 && std::find(t.begin(), t.end(), l) == t.end())
                        t.push_back(l);
                if (t.empty())
                    continue;
            }
            kept.push_back(&p);
            truthStore.push_back(std::move(t));
        }
        if (kept.empty()) {
            printError(file.string() + ": no paper carries one of the run's labels (" + std::to_string(names.size()) +
                       " labels, e.g. " + names.front() + ")");
            return 2;
        }
        std::vector<std::string> texts(kept.size());
        for (size_t i = 0; i < kept.size(); ++i)
            texts[i] = paperText(*kept[i], ds.text);
        const auto tokens = lm.tokenizer->encodeAll(texts, threads);
        EvalOutput out;
        const size_t k = lm.width();
        std::vector<const std::vector<int> *> all(kept.size());
        for (size_t i = 0; i < kept.size(); ++i)
            all[i] = &tokens[i];
        out.probs = scoreInBatches(all, 512, k, [&](const auto &part) { return lm.probabilities(part); });
        // Unweighted loss (no label smoothing or class weights): comparable across datasets.
        double loss = 0;
        for (size_t i = 0; i < kept.size(); ++i) {
            const auto &t = truthStore[i];
            if (lm.kind == TaskKind::MultiClass) {
                loss -= std::log(std::max(1e-12, double(out.probs[i * k + size_t(t[0])])));
            } else if (lm.kind == TaskKind::Binary) {
                const double p = out.probs[i];
                loss -= std::log(std::max(1e-12, t[0] ? p : 1 - p));
            } else {
                double l = 0;
                for (size_t c = 0; c < k; ++c) {
                    const bool pos = std::find(t.begin(), t.end(), int(c)) != t.end();
                    const double p = out.probs[i * k + c];
                    l -= std::log(std::max(1e-12, pos ? p : 1 - p));
                }
                loss += l / double(k);
            }
        }
        out.loss = loss / double(kept.size());
        std::vector<const std::vector<int> *> truth(kept.size());
        for (size_t i = 0; i < kept.size(); ++i)
            truth[i] = &truthStore[i];
        out.summary = summarizeEvaluation(lm.kind, out.probs, truth, names, out.loss);
        out.summary["data"] = file.string();
        out.summary["checkpoint"] = lm.checkpoint;
        out.summary["precision"] = lm.precision();
        out.summary["dropped"] = int64_t(papers->size() - kept.size());
        const std::string split = o.split.empty() ? "eval:" + file.filename().string() : o.split;

        const fs::path journalPath = fs::path(run->runDir) / "journal.jsonl";
        auto journal = JournalWriter::open(journalPath);
        if (!journal) {
            printError(journal.message());
            return 1;
        }
        const int64_t step = std::max(run->lastStep, lm.step);
        (*journal)->emit("log", {{"level", "info"},
                                 {"message", "lbk eval: " + std::to_string(kept.size()) + " examples of " +
                                                 file.string() + " scored with the " + lm.checkpoint +
                                                 " checkpoint in " + lm.precision() + ", recorded as split '" +
                                                 split + "'"}});
        reportEvaluation(**journal, lm.exp.evaluation, lm.kind, names, kept, truth, out, step, split);
        journal->reset();
        auto ingested = ingestJournal(*store, run->id, journalPath);
        if (!ingested) {
            printError(ingested.message());
            return 1;
        }
        {
            std::printf("run %lld: %s on %zu examples of %s (%lld left out: no label of the run)\n",
                        static_cast<long long>(run->id), split.c_str(), kept.size(), file.c_str(),
                        static_cast<long long>(papers->size() - kept.size()));
            for (const char *key : {"accuracy", "macro_f1", "micro_f1", "f1", "roc_auc", "pr_auc", "loss"})
                if (out.summary.contains(key) && out.summary[key].is_number())
                    std::printf("  %-10s %.4f\n", key, out.summary[key].get<double>());
        }
        return 0;
    });
}

} // namespace lbk
