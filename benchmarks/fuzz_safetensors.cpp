// fuzz_safetensors: mutates valid safetensors files at random (bytes flipped, numbers swapped for hostile ones, JSON
// tokens spliced in, the length field rewritten, the file cut short) and checks that the reader never crashes, that
// every header it accepts keeps the invariants parseSafetensorsHeader promises, and that every file it accepts can
// be read in full. Then the memory a hostile 100 MB header costs. Prints counts and figures; exits 1 on a broken
// invariant. Not a test. The real check runs it under the sanitizers, from the source root:
//   g++ -std=c++20 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -Icore \
//       benchmarks/fuzz_safetensors.cpp core/hf/safetensors.cpp -o fuzz_safetensors && ./fuzz_safetensors 100000 1
//       --no-big
//   fuzz_safetensors [iterations=200000] [seed=1] [--no-big]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "hf/safetensors.h"

using namespace lbk::hf;
namespace fs = std::filesystem;

namespace {

std::string readFile(const fs::path &p)
{
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// A valid file of a few tensors of random dtypes and shapes, with or without metadata.
std::string seedFile(std::mt19937_64 &rng, const fs::path &scratch)
{
    const DType dtypes[] = {DType::F32, DType::F16, DType::BF16, DType::I64};
    std::vector<std::string> buffers;
    std::vector<TensorView> views;
    const int count = int(rng() % 5);
    for (int i = 0; i < count; ++i) {
        TensorView v;
        v.name = "layer." + std::to_string(i) + (rng() % 2 ? ".weight" : ".bias");
        v.dtype = dtypes[rng() % 4];
        int64_t elements = 1;
        for (int d = int(rng() % 3); d > 0; --d) {
            v.shape.push_back(int64_t(rng() % 4));
            elements *= v.shape.back();
        }
        buffers.emplace_back(size_t(elements) * dtypeSize(v.dtype), char(rng()));
        v.bytes = buffers.back().size();
        views.push_back(v);
    }
    for (size_t i = 0; i < views.size(); ++i)
        views[i].data = buffers[i].data();
    std::map<std::string, std::string> metadata;
    if (rng() % 2)
        metadata["format"] = "pt";
    if (!writeSafetensors(scratch, views, metadata).ok())
        return {};
    return readFile(scratch);
}

void mutate(std::string &file, std::mt19937_64 &rng)
{
    static const char *tokens[] = {"[",
                                   "]",
                                   "{",
                                   "}",
                                   "\"",
                                   ",",
                                   ":",
                                   "-1",
                                   "0",
                                   "1e400",
                                   "18446744073709551615",
                                   "18446744073709551616",
                                   "9223372036854775807",
                                   "null",
                                   "\"F64\"",
                                   "\"__metadata__\"",
                                   "[[",
                                   "2.5",
                                   "\\u0000",
                                   "\xff"};
    const size_t headerEnd =
        file.size() >= 8 ? std::min(file.size(), size_t(8 + (uint8_t(file[0]) | uint8_t(file[1]) << 8))) : 0;
    switch (rng() % 6) {
    case 0: // flip bytes, mostly in the header
        for (int n = 1 + int(rng() % 4); n > 0 && !file.empty(); --n)
            file[rng() % std::max<size_t>(headerEnd, 1) % file.size()] ^= char(1 << (rng() % 8));
        break;
    case 1: { // a digit run becomes a hostile number
        if (headerEnd <= 8)
            break;
        size_t at = 8 + rng() % (headerEnd - 8);
        while (at < headerEnd && !(file[at] >= '0' && file[at] <= '9'))
            ++at;
        size_t end = at;
        while (end < headerEnd && file[end] >= '0' && file[end] <= '9')
            ++end;
        const std::string number = tokens[6 + rng() % 5];
        file.replace(at, end - at, number);
        break;
    }
    case 2: { // splice a token into the header
        if (headerEnd <= 8)
            break;
        const size_t at = 8 + rng() % (headerEnd - 8);
        file.insert(at, tokens[rng() % (sizeof tokens / sizeof *tokens)]);
        break;
    }
    case 3: { // the length field: keep it consistent with a splice, or not
        uint64_t n = 0;
        std::memcpy(&n, file.data(), std::min<size_t>(8, file.size()));
        const uint64_t choices[] = {n + 1, n - 1, n + 8, ~uint64_t(0), uint64_t(1) << 63, 100'000'001, 0};
        n = choices[rng() % 7];
        if (file.size() >= 8)
            std::memcpy(file.data(), &n, 8);
        break;
    }
    case 4: // cut short
        file.resize(rng() % (file.size() + 1));
        break;
    default: // grow: trailing bytes
        file.append(rng() % 16, char(rng()));
        break;
    }
}

// The promises of parseSafetensorsHeader; a message when one is broken.
std::string brokenInvariant(const SafetensorsHeader &h, uint64_t fileSize)
{
    if (h.dataOffset > fileSize)
        return "data starts past the end of the file";
    const uint64_t dataSize = fileSize - h.dataOffset;
    for (size_t i = 0; i < h.tensors.size(); ++i) {
        const TensorInfo &t = h.tensors[i];
        if (i > 0 && !(h.tensors[i - 1].name < t.name))
            return "names not sorted or not unique";
        if (t.begin > t.end || t.end > dataSize)
            return "tensor '" + t.name + "' outside the data";
        if (uint64_t(t.elements()) * dtypeSize(t.dtype) != t.end - t.begin)
            return "tensor '" + t.name + "' size disagrees with its shape";
        for (int64_t d : t.shape)
            if (d < 0)
                return "negative dimension accepted";
    }
    std::vector<const TensorInfo *> byOffset;
    for (const auto &t : h.tensors)
        if (t.begin < t.end)
            byOffset.push_back(&t);
    std::sort(byOffset.begin(), byOffset.end(), [](auto *a, auto *b) { return a->begin < b->begin; });
    for (size_t i = 1; i < byOffset.size(); ++i)
        if (byOffset[i]->begin < byOffset[i - 1]->end)
            return "overlap accepted";
    return {};
}

long peakRssMb()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024;
}

} // namespace

int main(int argc, char **argv)
{
    long iterations = 200000;
    uint64_t seed = 1;
    bool big = true;
    std::vector<std::string> args(argv + 1, argv + argc);
    int positional = 0;
    for (const auto &a : args) {
        if (a == "--no-big")
            big = false;
        else if (positional++ == 0)
            iterations = std::atol(a.c_str());
        else
            seed = std::strtoull(a.c_str(), nullptr, 10);
    }
    std::mt19937_64 rng(seed);
    const fs::path scratch = fs::temp_directory_path() / ("fuzz_safetensors-" + std::to_string(getpid()));
    fs::create_directories(scratch);

    long accepted = 0, rejected = 0, opened = 0;
    std::string base;
    for (long i = 0; i < iterations; ++i) {
        if (i % 64 == 0 || base.empty())
            base = seedFile(rng, scratch / "seed.safetensors");
        std::string file = base;
        for (int m = 1 + int(rng() % 3); m > 0; --m)
            mutate(file, rng);
        const auto header = parseSafetensorsHeader(file, file.size(), "fuzz.safetensors");
        if (!header.ok()) {
            ++rejected;
            if (!header.error().badInput || header.message().rfind("fuzz.safetensors: ", 0) != 0) {
                std::printf("iteration %ld: a rejection that is not a bad-input error naming the file: %s\n", i,
                            header.message().c_str());
                return 1;
            }
            continue;
        }
        ++accepted;
        if (const std::string broken = brokenInvariant(*header, file.size()); !broken.empty()) {
            std::printf("iteration %ld: accepted a header that breaks an invariant: %s\n", i, broken.c_str());
            return 1;
        }
        if (accepted % 8 == 0) { // the mapped path too: every tensor read in full
            std::ofstream(scratch / "case.safetensors", std::ios::binary | std::ios::trunc) << file;
            auto opened_ = SafetensorsFile::open(scratch / "case.safetensors");
            if (!opened_.ok()) {
                std::printf("iteration %ld: parsed but does not open: %s\n", i, opened_.message().c_str());
                return 1;
            }
            for (const auto &t : (*opened_)->header().tensors)
                if ((*opened_)->toFloat(t).size() != size_t(t.elements()))
                    return 1;
            ++opened;
        }
    }
    std::printf("fuzz: %ld mutated files, %ld rejected with a message, %ld accepted (%ld opened and read in full)\n",
                iterations, rejected, accepted, opened);

    if (big) {
        // The most tensors a 100 MB header can name: ~49-byte entries of empty F32 tensors.
        std::string header = "{";
        for (long i = 0; header.size() < 100'000'000 - 64; ++i)
            header +=
                (i ? ",\"" : "\"") + std::to_string(i) + "\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}";
        header += "}";
        std::string file(8, '\0');
        const uint64_t n = header.size();
        std::memcpy(file.data(), &n, 8);
        file += header;
        header.clear();
        header.shrink_to_fit();
        const long before = peakRssMb();
        const auto parsed = parseSafetensorsHeader(file, file.size(), "big.safetensors");
        std::printf("big header: %.1f MB, %s %zu tensors; peak RSS %ld MB before parsing, %ld MB after\n",
                    double(file.size()) / 1e6, parsed.ok() ? "accepted," : "rejected,",
                    parsed.ok() ? parsed->tensors.size() : size_t(0), before, peakRssMb());
    }
    fs::remove_all(scratch);
    return 0;
}
