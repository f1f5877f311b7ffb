// Out-of-line failure path of MT_CHECK, so the macro stays small at every call site.
#include "core/error.h"

namespace mt {

void check_failed(const char* expr, const char* file, int line, const std::string& msg) {
  throw Error("check",
              cat(msg.empty() ? "" : msg + " ", "(", expr, " failed at ", file, ":", line, ")"),
              ExitCode::runtime);
}

}  // namespace mt
