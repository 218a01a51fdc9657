#include "mcp/tool_calls.h"
