#include "app/admin_server.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <list>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>

namespace recstream::app {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// ---------------------------------------------------------------- helpers

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool PercentDecode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (in.size() - i < 3) return false;  // fewer than two characters after '%'
    const int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

void PromWriter::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ");
  // HELP text escapes backslash and newline.
  for (char c : help) {
    if (c == '\\') out_.append("\\\\");
    else if (c == '\n') out_.append("\\n");
    else out_.push_back(c);
  }
  out_.append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
}

void PromWriter::Sample(std::string_view name, std::string_view labels, double value) {
  out_.append(name);
  if (!labels.empty()) out_.append("{").append(labels).append("}");
  out_.push_back(' ');
  if (std::isnan(value)) out_.append("NaN");
  else if (std::isinf(value)) out_.append(value > 0 ? "+Inf" : "-Inf");
  else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", value);
    out_.append(buf);
  }
  out_.push_back('\n');
}

void PromWriter::Sample(std::string_view name, std::string_view labels, uint64_t value) {
  out_.append(name);
  if (!labels.empty()) out_.append("{").append(labels).append("}");
  out_.push_back(' ');
  out_.append(std::to_string(value));
  out_.push_back('\n');
}

void PromWriter::Label(std::string& labels, std::string_view key, std::string_view value) {
  if (!labels.empty()) labels.push_back(',');
  labels.append(key).append("=\"");
  for (char c : value) {
    if (c == '\\') labels.append("\\\\");
    else if (c == '"') labels.append("\\\"");
    else if (c == '\n') labels.append("\\n");
    else labels.push_back(c);
  }
  labels.push_back('"');
}

void WriteProcessMetrics(PromWriter& w) {
  std::string labels;
  PromWriter::Label(labels, "version", RECSTREAM_VERSION);
  PromWriter::Label(labels, "commit", RECSTREAM_COMMIT);
  w.Family("recstream_build_info", "gauge", "1, labelled with the version and the git commit of this build.");
  w.Sample("recstream_build_info", labels, uint64_t{1});

  // /proc/self/stat: utime (14), stime (15), starttime (22) in clock ticks,
  // vsize (23) in bytes, rss (24) in pages. Field 2 (comm) may hold spaces:
  // counted from the last ')'.
  std::FILE* f = std::fopen("/proc/self/stat", "r");
  if (f != nullptr) {
    char buf[1024];
    const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    const char* p = std::strrchr(buf, ')');
    unsigned long long field[64] = {};
    int i = 3;  // the field after ')' is field 3 (state)
    for (p = p ? p + 2 : buf; *p != '\0' && i < 64; ++i) {
      field[i] = std::strtoull(p, nullptr, 10);
      while (*p != '\0' && *p != ' ') ++p;
      while (*p == ' ') ++p;
    }
    const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    double boot = 0;
    if (std::FILE* st = std::fopen("/proc/stat", "r")) {
      char line[256];
      while (std::fgets(line, sizeof line, st))
        if (std::strncmp(line, "btime ", 6) == 0) boot = std::strtod(line + 6, nullptr);
      std::fclose(st);
    }
    w.Family("process_cpu_seconds_total", "counter", "User and system CPU time spent, seconds.");
    w.Sample("process_cpu_seconds_total", "", static_cast<double>(field[14] + field[15]) / tick);
    w.Family("process_resident_memory_bytes", "gauge", "Resident memory size, bytes.");
    w.Sample("process_resident_memory_bytes", "", static_cast<double>(field[24]) * page);
    w.Family("process_virtual_memory_bytes", "gauge", "Virtual memory size, bytes.");
    w.Sample("process_virtual_memory_bytes", "", static_cast<double>(field[23]));
    w.Family("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, seconds.");
    w.Sample("process_start_time_seconds", "", boot + static_cast<double>(field[22]) / tick);
  }
  uint64_t fds = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (const dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++fds;
    ::closedir(d);
    if (fds > 0) --fds;  // the directory's own descriptor
  }
  w.Family("process_open_fds", "gauge", "Open file descriptors.");
  w.Sample("process_open_fds", "", fds);
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    w.Family("process_max_fds", "gauge", "The limit on open file descriptors.");
    w.Sample("process_max_fds", "", static_cast<uint64_t>(lim.rlim_cur));
  }
}

// ---------------------------------------------------------------- server

class AdminServer::Impl {
 public:
  Impl(const AdminOptions& opt, AdminBackend& backend) : opt_(opt), backend_(backend), acceptor_(ioc_) {}
  ~Impl() { Stop(); }

  Status LoadToken() {
    if (opt_.token_file.empty()) return Status::OK();
    std::FILE* f = std::fopen(opt_.token_file.c_str(), "rb");
    if (!f) return Status::IoError("admin.token_file " + opt_.token_file + ": " + std::strerror(errno));
    char buf[4096];
    const size_t n = std::fread(buf, 1, sizeof buf, f);
    const bool more = std::fgetc(f) != EOF;
    std::fclose(f);
    token.assign(buf, n);
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front()))) token.erase(0, 1);
    if (more) return Status::InvalidArgument("admin.token_file " + opt_.token_file + ": over 4096 bytes");
    if (token.empty()) return Status::InvalidArgument("admin.token_file " + opt_.token_file + " is empty");
    for (char c : token)
      if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e)
        return Status::InvalidArgument("admin.token_file " + opt_.token_file +
                                       ": the token must be printable ASCII without spaces");
    return Status::OK();
  }

  Status Bind() {
    if (Status s = LoadToken(); !s.ok()) return s;
    beast::error_code ec;
    const auto addr = asio::ip::make_address(opt_.address, ec);
    if (ec) return Status::InvalidArgument("admin.address '" + opt_.address + "': " + ec.message());
    if (opt_.port < 0 || opt_.port > 65535) return Status::InvalidArgument("admin.port out of range");
    const tcp::endpoint ep(addr, static_cast<uint16_t>(opt_.port));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::IoError("admin server on " + opt_.address + ":" + std::to_string(opt_.port) + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    if (token.empty() && !addr.is_loopback())
      spdlog::warn("admin: serving per-user data on {}:{} to anyone who can reach it; set admin.token_file to ask "
                   "for a bearer token",
                   opt_.address, port_);
    Accept();
    thread_ = std::thread([this] { RunLoop(); });
    return Status::OK();
  }

  void Stop() {
    if (!thread_.joinable()) return;
    asio::post(ioc_, [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    ioc_.stop();
    thread_.join();
    // Pending handlers (and the sessions they own) are destroyed with ioc_.
  }

  uint16_t port() const { return port_; }
  const AdminOptions& opt() const { return opt_; }
  // Empty: no token asked.
  std::string token;
  AdminBackend& backend() { return backend_; }
  // Server thread only: sessions alive, and those closed by eviction but
  // not yet destroyed (their aborted handlers are still queued).
  size_t connections = 0, evicting = 0;
  // Every live session in the order it connected (a session removes itself).
  std::list<class Session*> sessions;

 private:
  void RunLoop() {
    // A handler that throws (std::bad_alloc) must not end the server: log and go on.
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("admin: request handler failed: {}", e.what());
      }
    }
  }
  void Accept();

  AdminOptions opt_;
  AdminBackend& backend_;
  asio::io_context ioc_{1};
  tcp::acceptor acceptor_;
  std::thread thread_;
  uint16_t port_ = 0;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, AdminServer::Impl& server)
      : stream_(std::move(socket)), server_(server), buffer_(server.opt().max_header_bytes + server.opt().max_body_bytes) {
    ++server_.connections;
    self_ = server_.sessions.insert(server_.sessions.end(), this);
  }
  ~Session() {
    --server_.connections;
    if (evicted_) --server_.evicting;
    server_.sessions.erase(self_);
  }

  void Start() { Read(); }
  // Waiting for (the rest of) a request: idle keep-alive, or a slow client.
  bool waiting() const { return waiting_ && !evicted_; }
  // Closes the connection to make room for a new one.
  void Evict() {
    evicted_ = true;
    ++server_.evicting;
    Close();
  }

 private:
  void Read() {
    waiting_ = true;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.opt().max_header_bytes));
    parser_->body_limit(server_.opt().max_body_bytes);
    // One deadline for the whole request: a client that trickles bytes
    // (slowloris) is cut off when it passes, however active it looks.
    stream_.expires_after(server_.opt().request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    waiting_ = false;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof) {
      // Closed by the client, or timed out (tcp_stream has closed the
      // socket already: nothing can be answered).
      Close();
      return;
    }
    if (ec) {
      http::status status = http::status::bad_request;
      if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
        status = http::status::request_header_fields_too_large;
      else if (ec == http::error::body_limit)
        status = http::status::payload_too_large;
      // The parser's state is undefined after an error: answer and close.
      Respond(status, "text/plain", std::string(http::obsolete_reason(status)) + ": " + ec.message() + "\n", false);
      return;
    }
    Handle(parser_->get());
  }

  void Handle(const http::request<http::string_body>& req) {
    const bool keep_alive = req.keep_alive();
    if (req.method() != http::verb::get) {
      Respond(http::status::method_not_allowed, "text/plain", "only GET is served\n", keep_alive, true);
      return;
    }
    const std::string_view target(req.target().data(), req.target().size());
    if (target.size() > server_.opt().max_target_bytes) {
      Respond(http::status::uri_too_long, "text/plain", "request target too long\n", false);
      return;
    }
    if (target.empty() || target.front() != '/') {
      Respond(http::status::bad_request, "text/plain", "request target must be a path\n", keep_alive);
      return;
    }
    const std::string_view path = target.substr(0, target.find('?'));
    AdminBackend& backend = server_.backend();
    if (path == "/metrics") {
      std::string body;
      backend.WriteMetrics(body);
      Respond(http::status::ok, "text/plain; version=0.0.4; charset=utf-8", std::move(body), keep_alive);
      return;
    }
    if (path == "/healthz") {
      Respond(http::status::ok, "text/plain", "ok\n", keep_alive);
      return;
    }
    if (path == "/readyz") {
      if (backend.Ready()) Respond(http::status::ok, "text/plain", "ready\n", keep_alive);
      else Respond(http::status::service_unavailable, "text/plain", "not ready: partitions not assigned yet\n", keep_alive);
      return;
    }
    if (path.starts_with("/v1/") && !Authorized(req)) {
      auto res = Response(http::status::unauthorized, "text/plain", "a bearer token is required\n", keep_alive);
      res->set(http::field::www_authenticate, "Bearer");
      Send(std::move(res), keep_alive);
      return;
    }
    constexpr std::string_view kUsers = "/v1/users/";
    if (path.starts_with(kUsers)) {
      const std::string_view rest = path.substr(kUsers.size());
      const size_t slash = rest.find('/');
      const std::string_view what = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
      if (what == "recommendations" || what == "state") {
        std::string user;
        if (!PercentDecode(rest.substr(0, slash), user)) {
          Respond(http::status::bad_request, "text/plain", "bad percent-encoding in the user id\n", keep_alive);
          return;
        }
        if (user.empty()) {
          Respond(http::status::bad_request, "text/plain", "empty user id\n", keep_alive);
          return;
        }
        std::string json;
        const auto found = what == "state" ? backend.UserState(user, json) : backend.UserRecommendations(user, json);
        switch (found) {
          case AdminBackend::Lookup::kFound:
            Respond(http::status::ok, "application/json", std::move(json), keep_alive);
            return;
          case AdminBackend::Lookup::kUnknownUser:
            Respond(http::status::not_found, "application/json", "{\"error\":\"unknown user\"}\n", keep_alive);
            return;
          case AdminBackend::Lookup::kBadId:
            Respond(http::status::bad_request, "application/json", "{\"error\":\"not a valid user id\"}\n", keep_alive);
            return;
          case AdminBackend::Lookup::kError:
            Respond(http::status::internal_server_error, "application/json",
                    "{\"error\":\"the user's stored state is unreadable\"}\n", keep_alive);
            return;
          case AdminBackend::Lookup::kBusy:
            Respond(http::status::service_unavailable, "application/json",
                    "{\"error\":\"the processing loop is busy (waiting on the broker?); retry\"}\n", keep_alive);
            return;
        }
      }
    }
    Respond(http::status::not_found, "text/plain", "not found\n", keep_alive);
  }

  // The token compared in constant time (no early exit on the first
  // differing byte).
  bool Authorized(const http::request<http::string_body>& req) const {
    const std::string& token = server_.token;
    if (token.empty()) return true;
    const auto it = req.find(http::field::authorization);
    if (it == req.end()) return false;
    const std::string_view value(it->value().data(), it->value().size());
    constexpr std::string_view kBearer = "Bearer ";
    if (!value.starts_with(kBearer)) return false;
    const std::string_view given = value.substr(kBearer.size());
    unsigned diff = given.size() == token.size() ? 0 : 1;
    for (size_t i = 0; i < token.size(); ++i) diff |= static_cast<unsigned char>(token[i]) ^
                                                       static_cast<unsigned char>(i < given.size() ? given[i] : 0);
    return diff == 0;
  }

  using ResponsePtr = std::shared_ptr<http::response<http::string_body>>;
  static ResponsePtr Response(http::status status, std::string_view type, std::string body, bool keep_alive,
                              bool allow = false) {
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::server, "recstream");
    res->set(http::field::content_type, beast::string_view(type.data(), type.size()));
    if (allow) res->set(http::field::allow, "GET");
    res->keep_alive(keep_alive);
    res->body() = std::move(body);
    res->prepare_payload();
    return res;
  }

  void Respond(http::status status, std::string_view type, std::string body, bool keep_alive, bool allow = false) {
    Send(Response(status, type, std::move(body), keep_alive, allow), keep_alive);
  }

  void Send(ResponsePtr res, bool keep_alive) {
    stream_.expires_after(server_.opt().request_timeout);
    http::async_write(stream_, *res, [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
      if (ec || !keep_alive) {
        self->Close();
        return;
      }
      self->Read();
    });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  AdminServer::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool waiting_ = false, evicted_ = false;
  std::list<Session*>::iterator self_;
};

void AdminServer::Impl::Accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      // At the limit the oldest connection still waiting for its request
      // makes room: slow or idle clients (200 trickling connections failed
      // 87 % of health probes when the new one was refused instead) cannot
      // lock out a probe, which sends its request at once and is the newest.
      // Only when every connection is busy answering is the new one closed.
      // Memory and descriptors stay bounded whatever the clients do.
      bool room = connections - evicting < opt_.max_connections;
      for (auto it = sessions.begin(); !room && it != sessions.end(); ++it) {
        if (!(*it)->waiting()) continue;
        (*it)->Evict();
        room = true;
      }
      if (!room) {
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        std::make_shared<Session>(std::move(socket), *this)->Start();
      }
    } else {
      spdlog::debug("admin: accept: {}", ec.message());
    }
    Accept();
  });
}

AdminServer::AdminServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AdminServer::~AdminServer() { Stop(); }

Status AdminServer::Start(const AdminOptions& opt, AdminBackend& backend, std::unique_ptr<AdminServer>* out) {
  auto impl = std::make_unique<Impl>(opt, backend);
  Status s = impl->Bind();
  if (!s.ok()) return s;
  out->reset(new AdminServer(std::move(impl)));
  return Status::OK();
}

void AdminServer::Stop() {
  if (impl_) impl_->Stop();
}

uint16_t AdminServer::port() const { return impl_->port(); }

}  // namespace recstream::app
