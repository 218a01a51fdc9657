// Runs a handler's blocking part (store, disk) on the work pool and answers with what it
// returns. Errors become answers in one place: a full pool is 503 overloaded, a tenancy rule
// its 400/404/409, a tenant-access violation 403 (audited as a security event), a busy store 503, anything else 500 with a log line (never the details).
#pragma once

#include <functional>
#include <memory>

#include "net/http.h"

namespace pc::core {
class WorkPool;
}

namespace pc::api {

// 403 for a tenant-access violation, marked for the audit trail's security event.
net::Response violation_response(const net::Request& req, std::string_view message);

void run_blocking(core::WorkPool& pool, std::shared_ptr<net::Request> req, net::Responder reply,
                  std::function<net::Response()> job);

}  // namespace pc::api
