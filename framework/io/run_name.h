// The one rule that turns a user-given name (a config's `name`, a sweep spec's `name`, a generated
// sweep point) into a path under the output folder (--out). Every subcommand that writes under
// --out goes through it, so no name can lead outside the output folder and a name `submit`
// accepts is one `train` accepts too.
#pragma once
#include <filesystem>
#include <string>

#include "io/config.h"

namespace mt {

// "" when `name` is a valid run name, else what is wrong with it. A run name is 1..128 letters,
// digits, '-', '_' and '.', not starting with '.' (so never ".", ".." or a hidden file) and without
// '/': it is one directory entry.
std::string run_name_problem(const std::string& name);

// Reads `key` of `cfg` (default `def`) and refuses it, as a [config] error naming the key and line,
// unless it is a valid run name.
std::string read_run_name(const Config& cfg, const std::string& key, const std::string& def);

// out_root / name (or out_root / folder / name): each part must be one directory entry of run-name
// characters (up to 255 of them, so "NAME-coord-check" fits); the result is checked to lie
// lexically inside out_root. A violation is an internal error: callers validate names with
// run_name_problem/read_run_name first.
std::filesystem::path path_under(const std::string& out_root, const std::string& name);
std::filesystem::path path_under(const std::string& out_root, const std::string& folder,
                                 const std::string& name);

}  // namespace mt
