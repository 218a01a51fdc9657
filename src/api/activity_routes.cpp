#include "api/activity_routes.h"

#include <boost/json.hpp>
#include <charconv>

#include "api/blocking.h"
#include "api/paging.h"
#include "api/render.h"
#include "api/window.h"
#include "store/store.h"

namespace pc::api {
namespace {

using auth::roles::kPlatformAdmin;
using auth::roles::kPlatformOperator;

// ?tenant=&action=&actor=&since=&until=&limit=&cursor= → an AuditQuery, or the 400 answer.
std::variant<store::AuditQuery, net::Response> audit_query(const net::Request& req, bool security_only) {
  auto page = page_of(req.query);
  if (!page) return bad_request(req, "limit must be 1 to 1000");
  store::AuditQuery q;
  q.tenant_id = query_param(req.query, "tenant");
  q.actor = query_param(req.query, "actor");
  q.action_prefix = query_param(req.query, "action");
  if (security_only) {
    if (!q.action_prefix.empty() && q.action_prefix.rfind("security.", 0) != 0) q.action_prefix = "security." + q.action_prefix;
    if (q.action_prefix.empty()) q.action_prefix = "security.";
  }
  for (auto [name, field] : {std::pair{"since", &q.since}, std::pair{"until", &q.until}}) {
    auto v = query_param(req.query, name);
    if (v.empty()) continue;
    auto t = parse_time_filter(v);
    if (!t) return bad_request(req, std::string(name) + " must be an RFC 3339 UTC time");
    *field = *t;
  }
  if (!page->cursor.empty()) {
    auto [p, ec] = std::from_chars(page->cursor.data(), page->cursor.data() + page->cursor.size(), q.after_seq);
    if (ec != std::errc() || p != page->cursor.data() + page->cursor.size() || q.after_seq < 0)
      return bad_request(req, "cursor must be the seq of the last event of the previous page");
  }
  q.limit = page->limit;
  return q;
}

// A sum of reported token counts; null when no invocation reported one (unknown is not 0).
boost::json::value optional_count(const std::optional<std::int64_t>& n) {
  return n ? boost::json::value(*n) : boost::json::value(nullptr);
}

net::Handler audit_search(const AdminDeps& d, const Policy& access, bool security_only) {
  return d.chain->route(access, [d, security_only](auto req, Caller, net::Responder reply) {
    auto q = audit_query(*req, security_only);
    if (auto* r = std::get_if<net::Response>(&q)) return reply(std::move(*r));
    run_blocking(*d.pool, req, reply, [d, q = std::get<store::AuditQuery>(q)] {
      auto rows = d.store->query_audit(q);
      boost::json::array items;
      for (const auto& r : rows) items.push_back(audit_json(r));
      return page_response("events", std::move(items), rows.size() == q.limit ? std::to_string(rows.back().seq) : "");
    });
  });
}

}  // namespace

void add_activity_routes(net::Router& router, const AdminDeps& d) {
  const Policy reader = Policy::platform_only({kPlatformAdmin, kPlatformOperator});

  router.add("GET", "/v1/platform/invocations", d.chain->route(reader, [d](auto req, Caller, net::Responder reply) {
    auto q = invocation_query(*req);
    if (auto* r = std::get_if<net::Response>(&q)) return reply(std::move(*r));
    auto& query = std::get<store::InvocationQuery>(q);
    query.tenant_id = query_param(req->query, "tenant");
    run_blocking(*d.pool, req, reply, [d, query] { return invocation_page(d.store->list_invocations(query), query.limit - 1); });
  }));

  router.add("GET", "/v1/platform/audit", audit_search(d, reader, false));
  router.add("GET", "/v1/platform/security-events", audit_search(d, reader, true));

  router.add("GET", "/v1/platform/top-tenants", d.chain->route(reader, [d](auto req, Caller, net::Responder reply) {
    std::string window = query_param(req->query, "window");
    if (window.empty()) window = "24h";
    auto seconds = parse_window(window);
    if (!seconds) return reply(bad_request(*req, "window must be <n>m, <n>h or <n>d, at most 90 days"));
    std::size_t limit = 10;
    if (auto l = query_param(req->query, "limit"); !l.empty()) {
      auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), limit);
      if (ec != std::errc() || p != l.data() + l.size() || limit < 1 || limit > 1000)
        return reply(bad_request(*req, "limit must be 1 to 1000"));
    }
    run_blocking(*d.pool, req, reply, [d, window, since = since_seconds_ago(*seconds), limit] {
      boost::json::array items;
      for (const auto& u : d.store->usage_since(since, "", limit))
        items.push_back({{"tenantId", u.tenant_id},
                         {"invocations", u.invocations},
                         {"errors", u.errors},
                         {"inputTokens", optional_count(u.input_tokens)},
                         {"outputTokens", optional_count(u.output_tokens)}});
      return json_response(200, {{"window", window}, {"since", since}, {"tenants", std::move(items)}});
    });
  }));

  router.add("GET", "/v1/platform/error-rate", d.chain->route(reader, [d](auto req, Caller, net::Responder reply) {
    std::string window = query_param(req->query, "window");
    if (window.empty()) window = "1h";
    auto seconds = parse_window(window);
    if (!seconds) return reply(bad_request(*req, "window must be <n>m, <n>h or <n>d, at most 90 days"));
    std::string tenant = query_param(req->query, "tenant");
    run_blocking(*d.pool, req, reply, [d, window, tenant, since = since_seconds_ago(*seconds)] {
      std::int64_t total = 0, errors = 0;
      // Every tenant's counts (one row each); the store aggregates, we only add them up.
      for (const auto& u : d.store->usage_since(since, tenant, 1000000)) {
        total += u.invocations;
        errors += u.errors;
      }
      boost::json::object o{{"window", window}, {"since", since}, {"invocations", total}, {"errors", errors}};
      o["errorRate"] = total == 0 ? 0.0 : static_cast<double>(errors) / static_cast<double>(total);
      if (!tenant.empty()) o["tenantId"] = tenant;
      return json_response(200, o);
    });
  }));
}

}  // namespace pc::api
