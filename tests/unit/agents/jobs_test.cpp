// The job service (issue 9): backoff arithmetic, what a runtime's answer means, and the service
// against a real HTTP runtime on loopback (a small scripted server over raw sockets): success,
// retries with the same Idempotency-Key, a 4xx failing at once, timeouts, a dead node's lease
// taken over, tenant-bound reads, the group commit's rate.
#include "agents/jobs.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <thread>

#include "agents/invocation_log.h"
#include "crypto/master_keyring.h"
#include "store/store.h"
#include "support/forwarding_store.h"
#include "support/test_store.h"
#include "vault/data_keys.h"
#include "vault/vault_test_util.h"

namespace pc::agents {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// ---- pure parts --------------------------------------------------------------------------

TEST(JobBackoff, DoublesFromTheInitialPauseUpToTheCap) {
  EXPECT_EQ(job_backoff(1, 1000ms, 60000ms), 1000ms);
  EXPECT_EQ(job_backoff(2, 1000ms, 60000ms), 2000ms);
  EXPECT_EQ(job_backoff(3, 1000ms, 60000ms), 4000ms);
  EXPECT_EQ(job_backoff(6, 1000ms, 60000ms), 32000ms);
  EXPECT_EQ(job_backoff(7, 1000ms, 60000ms), 60000ms);
  EXPECT_EQ(job_backoff(1000, 1000ms, 60000ms), 60000ms) << "overflowed instead of staying at the cap";
  EXPECT_EQ(job_backoff(0, 1000ms, 60000ms), 1000ms);
  EXPECT_EQ(job_backoff(3, 0ms, 60000ms), 0ms);
  EXPECT_EQ(job_backoff(1, 5000ms, 2000ms), 2000ms);
}

TEST(JobAnswer, TheContractShapeGivesOutputAndUsage) {
  auto o = classify_answer(200, R"({"output":{"text":"hi"},"usage":{"inputTokens":3,"outputTokens":5}})");
  EXPECT_EQ(o.verdict, AttemptOutcome::Verdict::succeeded);
  EXPECT_EQ(o.output, R"({"text":"hi"})");
  EXPECT_EQ(o.input_tokens, 3);
  EXPECT_EQ(o.output_tokens, 5);
}

TEST(JobAnswer, UnreportedUsageIsUnknownNotZero) {
  auto o = classify_answer(200, R"({"output":"x"})");
  EXPECT_EQ(o.verdict, AttemptOutcome::Verdict::succeeded);
  EXPECT_FALSE(o.input_tokens);
  EXPECT_FALSE(o.output_tokens);
  auto n = classify_answer(200, R"({"output":"x","usage":{"inputTokens":-1,"outputTokens":"7"}})");
  EXPECT_FALSE(n.input_tokens);
  EXPECT_FALSE(n.output_tokens);
}

TEST(JobAnswer, OtherJsonIsTheOutputWhole) {
  auto o = classify_answer(201, R"([1,2,3])");
  EXPECT_EQ(o.verdict, AttemptOutcome::Verdict::succeeded);
  EXPECT_EQ(o.output, "[1,2,3]");
}

TEST(JobAnswer, TransientFailuresRetryOthersFailAtOnce) {
  for (int s : {408, 429, 500, 502, 503, 504})
    EXPECT_EQ(classify_answer(s, "").verdict, AttemptOutcome::Verdict::retry) << s;
  for (int s : {301, 400, 401, 403, 404, 409, 422})
    EXPECT_EQ(classify_answer(s, "{}").verdict, AttemptOutcome::Verdict::failed) << s;
  auto o = classify_answer(404, "");
  EXPECT_EQ(o.error, "agent_error");
  EXPECT_EQ(o.http_status, 404);
  auto bad = classify_answer(200, "<html>");
  EXPECT_EQ(bad.verdict, AttemptOutcome::Verdict::failed);
  EXPECT_EQ(bad.error, "upstream_bad_response");
}

TEST(JobIds, AreUniqueAndSortByTime) {
  std::string a = new_job_id();
  std::this_thread::sleep_for(2ms);
  std::string b = new_job_id();
  EXPECT_NE(a, b);
  EXPECT_LT(a, b);
  EXPECT_EQ(a.rfind("job_", 0), 0u);
  EXPECT_EQ(a.size(), 4u + 12 + 16);
}

// ---- a scripted runtime ------------------------------------------------------------------

struct Call {
  std::string idempotency_key;
  std::string job_id;
  std::string body;
};

// Answers POST /invocations on 127.0.0.1:<port>, one connection per call (Connection: close):
// `script(n)` (n = 1, 2, ... calls so far) gives {status, body, delay}.
class Runtime {
 public:
  struct Answer {
    int status = 200;
    std::string body = R"({"output":{"ok":true},"usage":{"inputTokens":1,"outputTokens":2}})";
    milliseconds delay{0};
  };
  explicit Runtime(std::function<Answer(int)> script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 64) != 0)
      throw std::runtime_error("runtime: cannot listen");
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~Runtime() {
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (auto& t : handlers_) t.join();
  }
  int port() const { return port_; }
  std::vector<Call> calls() {
    std::lock_guard lk(mu_);
    return calls_;
  }

 private:
  static std::string header(const std::string& head, const std::string& name) {
    std::string lower = head;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto at = lower.find("\r\n" + name + ":");
    if (at == std::string::npos) return "";
    auto start = at + 2 + name.size() + 1;
    auto end = head.find("\r\n", start);
    std::string v = head.substr(start, end - start);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    return v;
  }

  void serve() {
    while (!stopping_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      handlers_.emplace_back([this, c] { handle(c); });
    }
  }

  void handle(int c) {
    std::string in;
    char buf[4096];
    std::size_t head_end = std::string::npos;
    std::size_t want = 0;
    for (;;) {
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<std::size_t>(n));
      if (head_end == std::string::npos && (head_end = in.find("\r\n\r\n")) != std::string::npos)
        want = head_end + 4 + std::stoul("0" + header(in.substr(0, head_end), "content-length"));
      if (head_end != std::string::npos && in.size() >= want) break;
    }
    if (head_end == std::string::npos) {
      ::close(c);
      return;
    }
    const std::string head = in.substr(0, head_end);
    int n;
    {
      std::lock_guard lk(mu_);
      calls_.push_back({header(head, "idempotency-key"), header(head, "x-portcullis-job-id"), in.substr(head_end + 4)});
      n = static_cast<int>(calls_.size());
    }
    Answer a = script_(n);
    if (a.delay.count() > 0) std::this_thread::sleep_for(a.delay);
    std::string out = "HTTP/1.1 " + std::to_string(a.status) + " X\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(a.body.size()) + "\r\nConnection: close\r\n\r\n" + a.body;
    ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
    ::close(c);
  }

  std::function<Answer(int)> script_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::vector<std::thread> handlers_;  // joined at the end (few per test)
  std::mutex mu_;
  std::vector<Call> calls_;
};

// ---- the service -------------------------------------------------------------------------

class JobServiceTest : public pc::testing::BackendTest {
 protected:
  crypto::MasterKeyring ring{vault::testing::master_key(1)};
  std::unique_ptr<vault::DataKeys> keys;
  std::unique_ptr<InvocationLog> log;

  void SetUp() override {
    BackendTest::SetUp();
    keys = std::make_unique<vault::DataKeys>(store(), ring);
    log = std::make_unique<InvocationLog>(store(), *keys);
  }
  void TearDown() override {
    log.reset();
    keys.reset();
    BackendTest::TearDown();
  }

  static JobService::Options fast() {
    JobService::Options o;
    o.workers = 2;
    o.timeout = 2000ms;
    o.max_attempts = 3;
    o.backoff_initial = 20ms;
    o.backoff_max = 100ms;
    o.lease = 2000ms;
    o.poll_interval = 20ms;
    return o;
  }

  static JobSpec spec(int port, std::string tenant = "acme") {
    JobSpec s;
    s.tenant = std::move(tenant);
    s.principal = "client:ci";
    s.client = "ci";
    s.tier = "basic";
    s.agent = "echo";
    s.agent_version = "v1";
    s.host = "127.0.0.1";
    s.port = port;
    s.body = R"({"input":{"q":"hello"},"mode":"async"})";
    s.request_id = "req-1";
    return s;
  }

  // Accepts and waits for the 202's moment; the job's id.
  std::string accept(JobService& svc, JobSpec s) {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<std::variant<AcceptedJob, JobError>> got;
    svc.accept(std::move(s), [&](std::variant<AcceptedJob, JobError> r) {
      // Durable before the answer: the row is there when the callback runs.
      if (auto* a = std::get_if<AcceptedJob>(&r)) {
        EXPECT_TRUE(store().find_job(a->job_id)) << "acknowledged before stored";
      }
      std::lock_guard lk(mu);
      got = std::move(r);
      cv.notify_all();
    });
    std::unique_lock lk(mu);
    EXPECT_TRUE(cv.wait_for(lk, 10s, [&] { return got.has_value(); }));
    if (!got || !std::holds_alternative<AcceptedJob>(*got)) {
      ADD_FAILURE() << "not accepted";
      return "";
    }
    return std::get<AcceptedJob>(*got).job_id;
  }

  // Waits until the job reaches a final status.
  store::JobRecord wait_final(const std::string& id, milliseconds within = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    for (;;) {
      auto j = store().find_job(id);
      if (j && (j->status == "succeeded" || j->status == "failed")) return *j;
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "job " << id << " did not finish; status " << (j ? j->status : "missing");
        return j.value_or(store::JobRecord{});
      }
      std::this_thread::sleep_for(10ms);
    }
  }
};

TEST_P(JobServiceTest, AnAcceptedJobRunsOnceAndItsResultIsSealedAndReadable) {
  Runtime rt([](int) { return Runtime::Answer{}; });
  std::atomic<int> finished{0};
  JobService svc(store(), *keys, log.get(), fast(), {{}, [&](const store::JobRecord& j) {
                                                       EXPECT_EQ(j.status, "succeeded");
                                                       ++finished;
                                                     }});
  svc.start();
  const std::string id = accept(svc, spec(rt.port()));
  auto j = wait_final(id);
  EXPECT_EQ(j.status, "succeeded");
  EXPECT_EQ(j.attempts, 1);
  ASSERT_TRUE(j.result_sealed);
  EXPECT_EQ(j.result_sealed->find("hello"), std::string::npos) << "the result is stored in clear";
  EXPECT_EQ(j.request_sealed.find("hello"), std::string::npos) << "the request is stored in clear";
  ASSERT_EQ(rt.calls().size(), 1u);
  EXPECT_EQ(rt.calls()[0].body, R"({"input":{"q":"hello"},"mode":"async"})");
  EXPECT_EQ(rt.calls()[0].idempotency_key, id) << "the default Idempotency-Key is the job id";

  auto seen = svc.find("acme", id);
  EXPECT_FALSE(seen.foreign);
  ASSERT_TRUE(seen.job);
  EXPECT_EQ(seen.job->status, "succeeded");
  ASSERT_TRUE(seen.job->result);
  EXPECT_NE(seen.job->result->find(R"("output":{"ok":true})"), std::string::npos) << *seen.job->result;
  EXPECT_NE(seen.job->result->find(R"("inputTokens":1)"), std::string::npos) << *seen.job->result;
  EXPECT_NE(seen.job->result->find(R"("mode":"async")"), std::string::npos) << *seen.job->result;
  // The hook and the record follow the stored result (on the worker, just after it).
  for (int i = 0; i < 500 && finished.load() == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(finished.load(), 1);

  log->flush();
  store::InvocationQuery q;
  q.tenant_id = "acme";
  auto inv = store().list_invocations(q);
  ASSERT_EQ(inv.size(), 1u) << "one invocation record per finished job";
  EXPECT_EQ(inv[0].agent, "echo");
  EXPECT_EQ(inv[0].http_status, 200);
}

TEST_P(JobServiceTest, TransientFailuresAreRetriedWithTheSameIdempotencyKey) {
  Runtime rt([](int n) {
    Runtime::Answer a;
    if (n <= 2) a.status = 503;
    return a;
  });
  JobService svc(store(), *keys, log.get(), fast(), {});
  svc.start();
  JobSpec s = spec(rt.port());
  s.idempotency_key = "client-key-1";
  const std::string id = accept(svc, std::move(s));
  auto j = wait_final(id);
  EXPECT_EQ(j.status, "succeeded");
  EXPECT_EQ(j.attempts, 3);
  auto calls = rt.calls();
  ASSERT_EQ(calls.size(), 3u);
  for (const auto& c : calls) {
    EXPECT_EQ(c.idempotency_key, "client-key-1");
    EXPECT_EQ(c.job_id, id);
  }
}

TEST_P(JobServiceTest, AttemptsRunOutAndTheLastFailureIsKept) {
  Runtime rt([](int) { return Runtime::Answer{502, "{}", 0ms}; });
  JobService svc(store(), *keys, log.get(), fast(), {});
  svc.start();
  const std::string id = accept(svc, spec(rt.port()));
  auto j = wait_final(id);
  EXPECT_EQ(j.status, "failed");
  EXPECT_EQ(j.attempts, 3);
  EXPECT_EQ(j.error, "agent_error");
  EXPECT_EQ(j.http_status, 502);
  EXPECT_EQ(rt.calls().size(), 3u);
  EXPECT_FALSE(j.result_sealed);
}

TEST_P(JobServiceTest, AClientErrorFailsAtOnce) {
  Runtime rt([](int) { return Runtime::Answer{422, R"({"error":"bad input"})", 0ms}; });
  JobService svc(store(), *keys, log.get(), fast(), {});
  svc.start();
  auto j = wait_final(accept(svc, spec(rt.port())));
  EXPECT_EQ(j.status, "failed");
  EXPECT_EQ(j.attempts, 1);
  EXPECT_EQ(j.http_status, 422);
  EXPECT_EQ(rt.calls().size(), 1u);
}

TEST_P(JobServiceTest, ASlowRuntimeTimesOutEachAttempt) {
  Runtime rt([](int) { return Runtime::Answer{200, R"({"output":1})", 1500ms}; });
  auto o = fast();
  o.max_attempts = 2;
  JobService svc(store(), *keys, log.get(), o, {});
  svc.start();
  JobSpec s = spec(rt.port());
  s.timeout = 200ms;
  const auto start = std::chrono::steady_clock::now();
  auto j = wait_final(accept(svc, std::move(s)));
  EXPECT_EQ(j.status, "failed");
  EXPECT_EQ(j.error, "upstream_timeout");
  EXPECT_EQ(j.attempts, 2);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1400ms) << "the attempts were not cut at their timeout";
}

TEST_P(JobServiceTest, AnUnreachableRuntimeIsRetriedThenFails) {
  int port;
  {
    Runtime gone([](int) { return Runtime::Answer{}; });
    port = gone.port();
  }
  JobService svc(store(), *keys, log.get(), fast(), {});
  svc.start();
  auto j = wait_final(accept(svc, spec(port)));
  EXPECT_EQ(j.status, "failed");
  EXPECT_EQ(j.error, "upstream_unavailable");
  EXPECT_EQ(j.attempts, 3);
}

TEST_P(JobServiceTest, ADeadNodesJobRunsOnceItsLeaseRunsOut) {
  Runtime rt([](int) { return Runtime::Answer{}; });
  std::string id;
  {
    JobService accepting(store(), *keys, log.get(), fast(), {});  // never started: accepts only
    id = accept(accepting, spec(rt.port()));
  }
  // A node claims it and dies without a word.
  const std::int64_t now = std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  ASSERT_EQ(store().claim_jobs("dead-node", now, 600, 10).size(), 1u);
  auto o = fast();
  o.node_id = "survivor";
  JobService svc(store(), *keys, log.get(), o, {});
  svc.start();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(rt.calls().size(), 0u) << "taken over before the lease ran out";
  auto j = wait_final(id);
  EXPECT_EQ(j.status, "succeeded");
  EXPECT_EQ(j.attempts, 2);
  EXPECT_EQ(rt.calls().size(), 1u);
}

TEST_P(JobServiceTest, AnotherTenantsJobIsNotFoundAndMarkedForeign) {
  JobService svc(store(), *keys, log.get(), fast(), {});  // not started: nothing runs
  const std::string id = accept(svc, spec(1, "acme"));
  auto theirs = svc.find("globex", id);
  EXPECT_TRUE(theirs.foreign);
  EXPECT_FALSE(theirs.job);
  auto missing = svc.find("globex", "job_000000000000deadbeefdeadbeef");
  EXPECT_FALSE(missing.foreign);
  EXPECT_FALSE(missing.job);
  auto mine = svc.find("acme", id);
  ASSERT_TRUE(mine.job);
  EXPECT_EQ(mine.job->status, "accepted");
}

// The store commits the jobs and then loses the connection before it answers (PostgreSQL
// restarted under load can do so): the caller is told the job may be there, with its id, not
// that it was not stored; and it runs. The batch is not written again.
class CommitsThenLosesTheAnswer : public pc::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  void insert_jobs(const std::vector<store::JobRecord>& jobs) override {
    ++calls;
    ForwardingStore::insert_jobs(jobs);
    throw store::StoreError("postgres: exec \"COMMIT\": connection lost (test)", store::StoreError::OutcomeUnknown{});
  }
  std::atomic<int> calls{0};
};

TEST_P(JobServiceTest, AJobWhoseCommitOutcomeIsUnknownIsAnswered503WithItsIdAndStillRuns) {
  Runtime rt([](int) { return Runtime::Answer{}; });
  CommitsThenLosesTheAnswer lossy(store());
  JobService svc(lossy, *keys, log.get(), fast(), {});
  svc.start();
  std::mutex mu;
  std::condition_variable cv;
  std::optional<std::variant<AcceptedJob, JobError>> got;
  svc.accept(spec(rt.port()), [&](std::variant<AcceptedJob, JobError> r) {
    std::lock_guard lk(mu);
    got = std::move(r);
    cv.notify_all();
  });
  {
    std::unique_lock lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, 10s, [&] { return got.has_value(); }));
  }
  ASSERT_TRUE(std::holds_alternative<JobError>(*got)) << "acknowledged a job whose commit went unanswered";
  const auto& e = std::get<JobError>(*got);
  EXPECT_EQ(e.status, 503);
  EXPECT_EQ(e.code, "store_unavailable");
  EXPECT_NE(e.message.find("may have been accepted"), std::string::npos) << e.message;
  EXPECT_EQ(lossy.calls.load(), 1) << "a batch whose commit may have gone through was written again";
  const auto at = e.message.find("/v1/jobs/");
  ASSERT_NE(at, std::string::npos) << "the answer does not name the job: " << e.message;
  const std::string id = e.message.substr(at + 9, e.message.find(' ', at) - at - 9);
  ASSERT_TRUE(store().find_job(id)) << "named a job that is not there: " << id;
  EXPECT_EQ(wait_final(id).status, "succeeded");
  EXPECT_EQ(rt.calls().size(), 1u);
}

TEST_P(JobServiceTest, AStoppedServiceRefusesAtOnce) {
  JobService svc(store(), *keys, log.get(), fast(), {});
  svc.stop();
  bool refused = false;
  svc.accept(spec(1), [&](std::variant<AcceptedJob, JobError> r) {
    refused = std::holds_alternative<JobError>(r) && std::get<JobError>(r).status == 503;
  });
  EXPECT_TRUE(refused);
}

// The group commit: many callers at once share transactions. The goal (≥ 5,000/s on SQLite) is
// reported, not asserted: this machine is shared with builds.
TEST_P(JobServiceTest, GroupCommitRate) {
  JobService svc(store(), *keys, log.get(), fast(), {});  // not started: acceptance only
  constexpr int kJobs = 20000;
  std::atomic<int> ok{0}, done{0};
  std::mutex mu;
  std::condition_variable cv;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int i = 0; i < kJobs / 4; ++i)
        svc.accept(spec(1), [&](std::variant<AcceptedJob, JobError> r) {
          if (std::holds_alternative<AcceptedJob>(r)) ++ok;
          if (++done == kJobs) {
            std::lock_guard lk(mu);
            cv.notify_all();
          }
        });
    });
  for (auto& t : callers) t.join();
  std::unique_lock lk(mu);
  ASSERT_TRUE(cv.wait_for(lk, 120s, [&] { return done.load() == kJobs; }));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(ok.load(), kJobs);
  std::printf("[ jobs     ] %d jobs accepted durably in %.3f s: %.0f/s (%s)\n", kJobs, secs, kJobs / secs,
              GetParam() == pc::testing::Backend::sqlite ? "sqlite" : "postgres");
}

PC_ALL_BACKENDS(JobServiceTest);

}  // namespace
}  // namespace pc::agents
