// AdminServer: the operator's HTTP endpoint of a `recstream run` process
// (Boost.Beast over Boost.Asio), off unless [admin] port is set.
//
//   GET /metrics                        Prometheus text format 0.0.4
//   GET /healthz                        200 while the process is alive
//   GET /readyz                         200 once partition assignments are
//                                       restored, 503 before (and at shutdown)
//   GET /v1/users/{id}/recommendations  the user's current list, the output
//                                       topic's JSON; 404 for an unknown user
//   GET /v1/users/{id}/state            the user's state as JSON (debugging)
//   (the /v1/ paths need the bearer token when token_file is set: 401)
//
// {id} is percent-decoded. Everything else is answered with a 4xx and, for a
// request the parser rejected, the connection is closed: 400 (malformed
// request, bad percent-encoding), 404 (no such path or user), 405 (a method
// other than GET), 413 (a body over max_body_bytes), 414 (a target over
// max_target_bytes), 431 (headers over max_header_bytes). A request that has
// not fully arrived within request_timeout (slowloris) has its connection
// closed. At max_connections a new connection closes the oldest one still
// waiting for its request (slow or idle clients cannot lock out a health
// probe); only when all are busy answering is the new one closed at once.
//
// Concurrency: one thread of its own runs every connection (asynchronous
// I/O); handlers call the AdminBackend on that thread, one request at a time.
// The backend is responsible for not racing the processing thread.
// Lifecycle: Start() binds and starts the thread (a bind failure is an error
// naming the address); Stop() or the destructor closes every connection and
// joins the thread. The backend must outlive the server.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "stream/status.h"

namespace recstream::app {

struct AdminOptions {
  // Not an aggregate: GCC 12 at -O3 warns (falsely, -Wmaybe-uninitialized) on
  // destroying the string of a `Config{}` temporary when this one is.
  AdminOptions() {}
  // TCP port of the admin HTTP server; 0 = no server. Default: 0 (off).
  // (AdminServer::Start itself takes 0 as "any free port", for tests.)
  int port = 0;
  // Address to bind. Default: 127.0.0.1 (not reachable from other machines).
  std::string address = "127.0.0.1";
  // A file holding a bearer token: when set, /v1/users/... (per-user data)
  // answers 401 unless the request carries "Authorization: Bearer TOKEN".
  // /healthz, /readyz and /metrics (no per-user data) stay open for probes
  // and Prometheus. Read once at start; an empty or unreadable file is an
  // error. Default: "" (no token; a warning when address is not loopback).
  std::string token_file;
  // Users whose last published list is kept for /recommendations (bounded
  // LRU; 0 = always recompute). Default: 10000 (~20 MiB at k = 20).
  size_t lists_kept = 10'000;

  // Limits (not configuration keys: safe defaults, tests shorten them).
  std::chrono::milliseconds request_timeout{5000};  // whole request, and each response write
  size_t max_header_bytes = 8 * 1024;               // request line + headers
  size_t max_body_bytes = 1024;                     // GET takes no body
  size_t max_target_bytes = 2048;                   // the request target
  size_t max_connections = 64;                      // concurrent connections
};

// What the server asks the process. Called on the server's thread.
class AdminBackend {
 public:
  // kBusy: the processing loop held the state past the wait (a broker
  // outage can hold a round for the delivery timeout); retry later.
  enum class Lookup { kFound, kUnknownUser, kBadId, kError, kBusy };
  virtual ~AdminBackend() = default;
  virtual bool Ready() = 0;
  // Appends every metric in the Prometheus text format.
  virtual void WriteMetrics(std::string& out) = 0;
  // The user's current list (output-topic JSON) / state JSON into json.
  virtual Lookup UserRecommendations(std::string_view user, std::string& json) = 0;
  virtual Lookup UserState(std::string_view user, std::string& json) = 0;
};

class AdminServer {
 public:
  static Status Start(const AdminOptions& opt, AdminBackend& backend, std::unique_ptr<AdminServer>* out);
  ~AdminServer();
  void Stop();
  // The bound port (the chosen one when opt.port was 0).
  uint16_t port() const;

  class Impl;

 private:
  explicit AdminServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Decodes RFC 3986 percent-encoding ("%41" -> "A"; '+' stays '+': this is a
// path, not a form). False on a '%' not followed by two hex digits.
bool PercentDecode(std::string_view in, std::string& out);

// Writes the Prometheus text exposition format (version 0.0.4): a HELP and a
// TYPE line per family, then its samples; label values escaped.
class PromWriter {
 public:
  explicit PromWriter(std::string& out) : out_(out) {}
  // type: counter, gauge or histogram.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  // labels: "" or `k="v",k2="v2"` built with Label().
  void Sample(std::string_view name, std::string_view labels, double value);
  void Sample(std::string_view name, std::string_view labels, uint64_t value);
  // Appends k="escaped v" (comma-separated when labels is not empty).
  static void Label(std::string& labels, std::string_view key, std::string_view value);

 private:
  std::string& out_;
};

// The process's own families, by the names Prometheus client libraries use
// (process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds,
// process_start_time_seconds; from /proc/self), and
// recstream_build_info{version,commit} 1.
void WriteProcessMetrics(PromWriter& w);

}  // namespace recstream::app
