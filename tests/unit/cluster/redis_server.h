// A real redis-server for the cluster tests: started on a loopback port picked at run time, in a
// temp dir of its own, optionally with requirepass and TLS (a throwaway CA and a server
// certificate for 127.0.0.1 made with the openssl CLI). Killed (and its dir removed) at the end.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/ports.h"

namespace pc::cluster::testing {

inline unsigned short free_port() { return pc::testing::closed_port(); }
using pc::testing::port_open;



struct RedisServerOptions {
  std::string password;
  bool tls = false;
};

class RedisServer {
 public:
  using Options = RedisServerOptions;
  RedisServer() : RedisServer(Options{}) {}
  explicit RedisServer(Options o) : o_(std::move(o)) {
    char tmpl[] = "/tmp/pc-redis-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    dir_ = tmpl;
    if (o_.tls) make_certs();
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = free_port();
      if (launch()) return;
    }
    throw std::runtime_error("redis-server did not start");
  }
  ~RedisServer() {
    kill();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  unsigned short port() const { return port_; }
  std::string ca_file() const { return dir_ + "/ca.crt"; }
  std::string url(const std::string& userinfo = "") const {
    return std::string(o_.tls ? "rediss://" : "redis://") + (userinfo.empty() ? "" : userinfo + "@") + "127.0.0.1:" +
           std::to_string(port_);
  }

  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // Same port, fresh process (an empty dataset: nothing is saved).
  void restart() {
    kill();
    if (!launch()) throw std::runtime_error("redis-server did not restart");
  }
  void pause() { ::kill(pid_, SIGSTOP); }
  void resume() { ::kill(pid_, SIGCONT); }

 private:
  static void run(const std::string& cmd) {
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  }
  void make_certs() {
    const std::string d = dir_;
    run("cd " + d + " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 -subj /CN=pc-test-ca 2>/dev/null"
        " && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null"
        " && printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf"
        " && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 1 -extfile ext.cnf 2>/dev/null");
  }
  bool launch() {
    std::vector<std::string> args{"redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                  "--dir", dir_, "--logfile", dir_ + "/redis.log"};
    if (o_.tls) {
      args.insert(args.end(), {"--port", "0", "--tls-port", std::to_string(port_), "--tls-cert-file",
                               dir_ + "/server.crt", "--tls-key-file", dir_ + "/server.key", "--tls-ca-cert-file",
                               dir_ + "/ca.crt", "--tls-auth-clients", "no"});
    } else {
      args.insert(args.end(), {"--port", std::to_string(port_)});
    }
    if (!o_.password.empty()) args.insert(args.end(), {"--requirepass", o_.password});
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp("redis-server", argv.data());
      ::_exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      if (port_open(port_)) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    kill();
    return false;
  }

  Options o_;
  std::string dir_;
  unsigned short port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace pc::cluster::testing
