// The run-name rule and the confinement of names to the output folder (run_name.h).
#include "io/run_name.h"

#include <cctype>

#include "core/error.h"

namespace mt {
namespace fs = std::filesystem;

std::string run_name_problem(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name.size() > 128) return cat("is ", name.size(), " characters long; at most 128");
  if (name.find('/') != std::string::npos) return "contains '/'";
  if (name[0] == '.') return "starts with '.'";
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return "contains a character other than letters, digits, '-', '_' and '.'";
  return "";
}

std::string read_run_name(const Config& cfg, const std::string& key, const std::string& def) {
  const std::string name = cfg.get<std::string>(key, def);
  const std::string problem = run_name_problem(name);
  if (!problem.empty())
    cfg.fail(key, cat("'", name, "' ", problem,
                      ": a run name is one folder under --out (letters, "
                      "digits, '-', '_' and '.', not starting with '.')"));
  return name;
}

namespace {
// One directory entry that cannot climb: the run-name characters, any length a file system takes.
bool single_entry(const std::string& s) {
  return run_name_problem(s.substr(0, 128)).empty() && s.size() <= 255 &&
         s.find('/') == std::string::npos;
}

// True when `p` (lexically normal, relative to `root`) stays inside root.
bool inside(const fs::path& root, const fs::path& p) {
  const fs::path rel = p.lexically_normal().lexically_relative(root.lexically_normal());
  if (rel.empty()) return false;
  const std::string first = rel.begin()->string();
  return first != ".." && first != "." && !rel.is_absolute();
}
}  // namespace

fs::path path_under(const std::string& out_root, const std::string& name) {
  MT_CHECK(single_entry(name), "run name '", name, "' ", run_name_problem(name));
  const fs::path p = fs::path(out_root) / name;
  const fs::path root = out_root.empty() ? fs::path(".") : fs::path(out_root);
  MT_CHECK(inside(root, root / name), "'", p.string(), "' is not inside '", root.string(), "'");
  return p;
}

fs::path path_under(const std::string& out_root, const std::string& folder,
                    const std::string& name) {
  MT_CHECK(single_entry(folder), "folder '", folder, "'");
  return path_under((path_under(out_root, folder)).string(), name);
}

}  // namespace mt
