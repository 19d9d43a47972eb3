#include "ndjit/version.h"

namespace ndjit {

const char* LibraryVersion() { return NDJIT_VERSION_STRING; }

}  // namespace ndjit
