#include "api/a2a_task_routes.h"

#include <boost/json.hpp>

#include "a2a/task_bindings.h"
#include "api/blocking.h"
#include "api/paging.h"
#include "api/path_tenant.h"
#include "api/render.h"

namespace pc::api {

void add_a2a_task_routes(net::Router& router, const AdminDeps& d, a2a::TaskBindings& bindings) {
  router.add("GET", "/v1/tenants/{id}/a2a-tasks",
             gated(d, PathTenant::self_service, [d, &bindings](auto req, Caller, net::Responder reply, std::string tenant) {
               auto page = page_of(req->query);
               if (!page) return reply(bad_request(*req, "limit must be 1 to 1000"));
               if (!a2a::TaskBindings::valid_cursor(page->cursor))
                 return reply(bad_request(*req, "cursor must be the nextCursor of the previous page"));
               std::string agent = query_param(req->query, "agent");
               run_blocking(*d.pool, req, reply, [d, &bindings, tenant, agent, page = *page] {
                 path_tenant(d, tenant);  // 404 for a tenant that does not exist
                 // One more than asked: whether there is a next page.
                 auto rows = bindings.list(tenant, agent, page.cursor, page.limit + 1);
                 boost::json::array items;
                 for (std::size_t i = 0; i < rows.size() && i < page.limit; ++i) {
                   const auto& t = rows[i];
                   items.push_back({{"taskId", t.task_id},
                                    {"contextId", t.context_id},
                                    {"agent", t.agent},
                                    {"principal", t.principal},
                                    {"sessionId", t.session_id},
                                    {"state", t.state},
                                    {"createdAt", t.created_at},
                                    {"updatedAt", t.updated_at}});
                 }
                 std::string next = rows.size() > page.limit ? a2a::TaskBindings::next_cursor(rows[page.limit - 1]) : "";
                 return page_response("tasks", std::move(items), next);
               });
             }));
}

}  // namespace pc::api
