// Fuzz targets of mutrain's input readers (docs/reliability.md "Fuzzing"). Each takes arbitrary
// bytes and returns "" when mutrain kept its contract for bad input, else what went wrong:
//   - the reader either accepts the input or throws mt::Error with exit code 2 (bad input) and a
//     "[component] message" text; any other exception, a runtime error (exit 1) or a failed
//     internal check is a finding;
//   - what it accepted satisfies the reader's postconditions (sizes, value ranges, finiteness);
//   - the checkpoint reader changes nothing in the trainer when it refuses a file.
// Memory errors and undefined behaviour are found by ASan/UBSan in the fuzz build (clang,
// -DMT_FUZZ=ON); the same functions are replayed over the committed corpora and regression inputs
// by mt_test_fuzz in every build (tests/fuzz/replay.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mt::fuzz {

struct Target {
  const char* name;  // also the folder name under tests/fuzz/corpus and tests/fuzz/regressions
  std::string (*run)(const uint8_t* data, size_t size);
};

// config: YAML text (lines "#set key=value" are applied as --set overrides), loaded and used to
//         build a Trainer, as `mutrain train` does before it writes anything.
// idx: one of the four MNIST IDX files (byte 0 picks which, and whether it is gzipped), the
//      others valid; the dataset is loaded and batched.
// text: a directory of text files (byte 0: validation fraction, byte 1: context; the rest split
//       into files at "\n\x1e"), loaded as a TextDataset and batched.
// tokens: byte 0: shard format and whether the input is the training or the validation shard
//         (the other is valid), byte 1: context, bytes 2-3: vocabulary size; the rest is the
//         shard, loaded as a TokenDataset and batched.
// checkpoint: a recipe of structural edits (delete, reshape, retype, overwrite with NaN, rename,
//             truncate...) applied to a valid checkpoint through the HDF5 API, then loaded.
const std::vector<Target>& targets();
const Target& target(const std::string& name);

// Scratch directory of this process (fixtures, edited files); removed at exit.
const std::string& workspace();

}  // namespace mt::fuzz
