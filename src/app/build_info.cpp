#include "app/build_info.h"

// Only this file gets PORTCULLIS_REVISION (CMakeLists.txt), so a new revision recompiles it alone.
#ifndef PORTCULLIS_REVISION
#define PORTCULLIS_REVISION "unknown"
#endif

namespace pc::app {

const char* build_version() { return PORTCULLIS_VERSION; }
const char* build_revision() { return PORTCULLIS_REVISION; }
std::string version_line() { return std::string("portcullis ") + build_version() + " (revision " + build_revision() + ")"; }

}  // namespace pc::app
