// What this binary is: the release version (CMakeLists.txt `project`) and the git revision it was
// built from (`git describe --always --dirty` at CMake configure time; "unknown" outside a git
// checkout). Shown by `portcullis --version` and the portcullis_build_info metric.
#pragma once

#include <string>

namespace pc::app {

const char* build_version();
const char* build_revision();
// "portcullis 0.1.0 (revision b97b2d0-dirty)"
std::string version_line();

}  // namespace pc::app
