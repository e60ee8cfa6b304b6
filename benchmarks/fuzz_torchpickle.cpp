// fuzz_torchpickle: mutates the torch.save fixtures (tests/fixtures/torch: a legacy file and a zip archive's
// data.pkl) at random (bytes flipped or set to opcodes, runs of bytes copied from elsewhere in the file, removed or
// repeated, the file cut short) and checks that the state-dict reader never crashes and that every state dict it
// accepts has each tensor's view inside its storage (and, for the legacy layout, each storage's bytes complete).
// Prints counts; exits 1 on a broken invariant. Not a test. The real check runs it under the sanitizers, from the
// source root:
//   g++ -std=c++20 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -Icore \
//       -DLABBOOK_FIXTURES_DIR='"tests/fixtures/torch"' benchmarks/fuzz_torchpickle.cpp core/hf/torchpickle.cpp \
//       -o fuzz_torchpickle && ./fuzz_torchpickle 200000 1
//   fuzz_torchpickle [iterations=200000] [seed=1]
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "hf/torchpickle.h"

using namespace lbk::hf;
namespace fs = std::filesystem;

namespace {

std::string readFile(const fs::path &p)
{
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void mutate(std::string &file, std::mt19937_64 &rng)
{
    static const char opcodes[] = "()tl]}asuedRbQNJKMqrhjXcG.\x80\x85\x86\x87\x88\x89\x8a\x8b\x8c\x93\x94\x95";
    if (file.empty())
        return;
    const size_t at = rng() % file.size();
    switch (rng() % 6) {
    case 0:
        file[at] = char(file[at] ^ char(1 << (rng() % 8)));
        break;
    case 1:
        file[at] = opcodes[rng() % (sizeof opcodes - 1)];
        break;
    case 2: { // a run of bytes copied from elsewhere
        const size_t from = rng() % file.size(), n = 1 + rng() % 16;
        file.insert(at, file.substr(from, n));
        break;
    }
    case 3:
        file.erase(at, 1 + rng() % 8);
        break;
    case 4:
        file.resize(at);
        break;
    default: // a length or number byte set to an extreme
        file[at] = char(rng() % 2 ? 0xff : 0x7f);
    }
}

// 1: accepted with its invariants, 0: refused, -1: accepted with a view outside its storage.
int check(const std::string &bytes, bool legacy)
{
    if (legacy) {
        const auto c = readLegacyCheckpoint(bytes, "f");
        if (!c)
            return 0;
        for (const auto &t : c->dict.tensors) {
            const auto &s = c->dict.storages.at(t.storage);
            if (!viewFits(t, s) || c->storageBytes.at(t.storage).size() != size_t(s.elements) * s.elementSize)
                return -1;
        }
        return 1;
    }
    const auto d = readStateDictPickle(bytes, "f");
    if (!d)
        return 0;
    for (const auto &t : d->tensors)
        if (!viewFits(t, d->storages.at(t.storage)))
            return -1;
    return 1;
}

} // namespace

int main(int argc, char **argv)
{
    const long iterations = argc > 1 ? std::atol(argv[1]) : 200000;
    std::mt19937_64 rng(argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1);
    const fs::path fixtures = fs::path(LABBOOK_FIXTURES_DIR);
    const std::string seeds[] = {readFile(fixtures / "legacy.bin"), readFile(fixtures / "zip-data.pkl")};
    if (seeds[0].empty() || seeds[1].empty()) {
        std::fprintf(stderr, "fuzz_torchpickle: the fixtures are not in %s\n", fixtures.c_str());
        return 2;
    }
    long accepted = 0, refused = 0;
    for (long i = 0; i < iterations; ++i) {
        const bool legacy = i % 2 == 0;
        std::string file = seeds[legacy ? 0 : 1];
        for (int n = 1 + int(rng() % 3); n > 0; --n)
            mutate(file, rng);
        const int r = check(file, legacy);
        if (r < 0) {
            std::fprintf(stderr, "fuzz_torchpickle: iteration %ld accepted a view outside its storage\n", i);
            return 1;
        }
        (r ? accepted : refused) += 1;
    }
    std::printf("fuzz_torchpickle: %ld mutated files, %ld accepted (invariants held), %ld refused, no crash\n",
                iterations, accepted, refused);
    return 0;
}
