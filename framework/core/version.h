// Version of mutrain and the git revision it was built from (stored in every output file).
#pragma once

namespace mt {

const char* version();
const char* git_revision();

}  // namespace mt
