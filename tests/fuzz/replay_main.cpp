// Corpus replay for builds without libFuzzer: runs LLVMFuzzerTestOneInput over every
// file of the directories (or files) given on the command line, so each fuzz target's
// seed corpus and every crash committed to it is a regression test under `meson test`.
// A crash or sanitizer report fails the test just as it would under the fuzzer, and so does
// an input that takes longer than the per-input limit (libFuzzer's -timeout= in the smoke
// runs): kInputSeconds, or OUTPOST_FUZZ_INPUT_SECONDS when set.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

// The same per-input limit as run-fuzz-smoke.sh gives libFuzzer: generous for ASan on a
// loaded machine, far below what an unbounded parse of the flood seeds cost (seconds).
constexpr double kInputSeconds = 2.0;

double input_seconds()
{
    const char* set = std::getenv("OUTPOST_FUZZ_INPUT_SECONDS");
    if (set == nullptr) return kInputSeconds;
    char* end = nullptr;
    const double value = std::strtod(set, &end);
    return end != set && value > 0 ? value : kInputSeconds;
}

bool run_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        (void)std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
        return false;
    }
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // A copy in its own allocation, so that ASan sees reads past the end of the input.
    std::vector<std::uint8_t> input(bytes.begin(), bytes.end());
    const auto start = std::chrono::steady_clock::now();
    LLVMFuzzerTestOneInput(input.data(), input.size());
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (took > input_seconds()) {
        (void)std::fprintf(stderr, "replay: %s took %.2f s, more than the per-input limit of %.2f s\n",
                           path.c_str(), took, input_seconds());
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv)
{
    std::size_t count = 0;
    bool ok = true;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path arg(argv[i]);
        std::error_code ec;
        if (std::filesystem::is_directory(arg, ec)) {
            std::vector<std::filesystem::path> files;
            for (const auto& entry : std::filesystem::recursive_directory_iterator(arg)) {
                if (entry.is_regular_file()) files.push_back(entry.path());
            }
            std::sort(files.begin(), files.end());  // a stable order makes failures reproducible
            for (const auto& file : files) {
                ok = run_file(file) && ok;
                ++count;
            }
        } else {
            ok = run_file(arg) && ok;
            ++count;
        }
    }
    std::printf("replayed %zu inputs\n", count);
    if (count == 0) {
        (void)std::fprintf(stderr, "replay: no inputs found\n");
        return 1;
    }
    return ok ? 0 : 1;
}
