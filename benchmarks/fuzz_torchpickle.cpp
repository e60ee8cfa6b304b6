// fuzz_torchpickle: mutates the torch.save fixtures (tests/fixtures/torch: a legacy file, a zip archive's data.pkl
// and the whole zip archive) at random (bytes flipped or set to opcodes, runs of bytes copied from elsewhere in the
// file, removed or repeated, the file cut short) and checks that the state-dict reader never crashes and that every
// state dict it accepts has each tensor's view inside its storage (and, for the legacy layout, each storage's bytes
// complete). The archive goes through PytorchBin as lbk validate and the engine use it (minizip, then every storage
// read); its errors must name the file. Prints counts; exits 1 on a broken invariant, keeping the mutated archive
// (a crash keeps it too: /tmp/fuzz_torchpickle.PID.bin). Not a test. The real check runs it under the sanitizers,
// from the source root:
//   g++ -std=c++20 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -Icore \
//       -DLABBOOK_FIXTURES_DIR='"tests/fixtures/torch"' benchmarks/fuzz_torchpickle.cpp core/hf/torchpickle.cpp \
//       core/hf/torchzip.cpp core/hf/pytorchbin.cpp core/util/mappedfile.cpp $(pkg-config --cflags --libs minizip) \
//       -o fuzz_torchpickle && ./fuzz_torchpickle 600000 1
//   fuzz_torchpickle [iterations=600000] [seed=1]   (a third of the iterations for each fixture)
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "hf/pytorchbin.h"
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

// What PytorchBin made of the mutated archives.
struct ZipCounts {
    long opened = 0, refused = 0, storagesRead = 0, storagesRefused = 0, storagesTooBig = 0;
};

// A storage a damaged archive claims can be gigabytes; reading one would only test the allocator.
constexpr uint64_t kMaxStorageBytes = 256ull << 20;

// lbk validate and the form show a message as it is: it must say which file first.
bool namesFile(const std::string &message, const fs::path &path)
{
    return message.compare(0, path.string().size(), path.string()) == 0;
}

// minizip opens a path, so the mutation goes to disk first. Each storage is read into a buffer of exactly its
// size, so ASan sees any byte written past it. Returns what broke, empty when nothing did.
std::string checkZip(const std::string &bytes, const fs::path &path, ZipCounts &n)
{
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size()));
    const auto bin = PytorchBin::open(path);
    if (!bin) {
        n.refused += 1;
        return namesFile(bin.message(), path) ? "" : "an error without the file's path: " + bin.message();
    }
    n.opened += 1;
    const PickledStateDict &d = (*bin)->dict();
    for (const auto &t : d.tensors)
        if (!viewFits(t, d.storages.at(t.storage)))
            return "tensor " + t.name + "'s view outside its storage";
    for (const auto &[key, s] : d.storages) {
        const uint64_t size = uint64_t(s.elements) * s.elementSize; // open checked the record holds that many
        if (size > kMaxStorageBytes) {
            n.storagesTooBig += 1;
            continue;
        }
        std::vector<char> out(size);
        const auto read = (*bin)->readStorage(key, out.data());
        (read ? n.storagesRead : n.storagesRefused) += 1;
        if (!read && !namesFile(read.message(), path))
            return "an error without the file's path: " + read.message();
    }
    return "";
}

} // namespace

int main(int argc, char **argv)
{
    const long iterations = argc > 1 ? std::atol(argv[1]) : 600000;
    std::mt19937_64 rng(argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1);
    const fs::path fixtures = fs::path(LABBOOK_FIXTURES_DIR);
    const std::string seeds[] = {readFile(fixtures / "legacy.bin"), readFile(fixtures / "zip-data.pkl"),
                                 readFile(fixtures / "zip.bin")};
    for (const auto &seed : seeds)
        if (seed.empty()) {
            std::fprintf(stderr, "fuzz_torchpickle: the fixtures are not in %s\n", fixtures.c_str());
            return 2;
        }
    // One file per process, so that two seeds can run side by side.
    const fs::path scratch = fs::temp_directory_path() / ("fuzz_torchpickle." + std::to_string(getpid()) + ".bin");
    long accepted = 0, refused = 0;
    ZipCounts zip;
    for (long i = 0; i < iterations; ++i) {
        const int kind = int(i % 3); // legacy.bin, zip-data.pkl, zip.bin
        std::string file = seeds[kind];
        for (int n = 1 + int(rng() % 3); n > 0; --n)
            mutate(file, rng);
        if (kind == 2) {
            if (const std::string broke = checkZip(file, scratch, zip); !broke.empty()) {
                std::fprintf(stderr, "fuzz_torchpickle: iteration %ld: %s (the archive is kept in %s)\n", i,
                             broke.c_str(), scratch.c_str());
                return 1;
            }
            continue;
        }
        const int r = check(file, kind == 0);
        if (r < 0) {
            std::fprintf(stderr, "fuzz_torchpickle: iteration %ld accepted a view outside its storage\n", i);
            return 1;
        }
        (r ? accepted : refused) += 1;
    }
    fs::remove(scratch);
    std::printf("fuzz_torchpickle: %ld mutated pickles and legacy files, %ld accepted (invariants held), %ld refused; "
                "%ld mutated zip archives, %ld opened (storages: %ld read, %ld refused with the file's name, %ld too "
                "big to try), %ld refused with the file's name; no crash\n",
                accepted + refused, accepted, refused, zip.opened + zip.refused, zip.opened, zip.storagesRead,
                zip.storagesRefused, zip.storagesTooBig, zip.refused);
    return 0;
}
