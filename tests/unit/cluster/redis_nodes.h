// Several "nodes" on one real redis-server for the cluster tests: `Node(url, node_count, name)`
// builds one (its RedisClient started, as `client`); the constructor waits until every node's
// client is up.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "cluster/redis_server.h"
#include "support/eventually.h"

namespace pc::cluster::testing {

template <class Node>
struct NodesOnOneRedis {
  RedisServer server;
  std::vector<std::unique_ptr<Node>> nodes;
  explicit NodesOnOneRedis(int n) {
    using namespace std::chrono_literals;
    for (int i = 0; i < n; ++i) nodes.push_back(std::make_unique<Node>(server.url(), n, "node-" + std::to_string(i)));
    for (auto& node : nodes) EXPECT_TRUE(pc::testing::eventually([&] { return node->client->up(); }, 3s));
  }
};

}  // namespace pc::cluster::testing
