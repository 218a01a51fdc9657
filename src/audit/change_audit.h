// Audit events written in the transaction of the change they record (issue 8 item 9): an admin
// change used to commit first and have its event appended later by the audit writer, so a kill
// or a full disk in between left a change no audit row mentions. change_audit() makes the
// store::AuditedChange a service calls around its store writes: the change and its event
// (linked into the chain under the same serialisation as the writer's batches) commit together
// or not at all.
#pragma once

#include <string>

#include "store/store.h"

namespace pc::audit {

// Events of this change carry `actor` and `request_id`; each call names the tenant, action
// (e.g. "tenant.create") and resource. The outcome is "success": a failed change writes none.
// An actor of another tenant than the event's (a platform admin changing a tenant) is named in
// details.actorTenant, as the audit trail's call events do.
// `details`: a JSON object recorded as the event's details (e.g. why the system made the change;
// "" = none), actorTenant added to it.
store::AuditedChange change_audit(store::Store& store, std::string actor, std::string actor_tenant,
                                  std::string request_id, std::string details = {});

}  // namespace pc::audit
