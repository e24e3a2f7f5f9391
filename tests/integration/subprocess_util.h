// Test helpers that run other programs (the recstream binary, python3,
// chromium) as a user would: fork + exec, stdout captured, a time limit.
// stderr is inherited so that what the program says shows in the test log.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace recstream::testing {

struct ProcessResult {
  int exit_code = -1;      // -1: killed by a signal or by the time limit
  bool timed_out = false;
  std::string out;         // everything written to stdout
};

// The full path of an executable found in PATH, or "" (an absolute or
// relative path is returned as is when executable).
inline std::string FindExecutable(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// Under CI (CI=true) a tool that scripts/setup.sh installs must be there:
// a test that would skip elsewhere fails instead.
inline bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// Starts argv (argv[0] looked up in PATH) with stdin from stdin_file
// (/dev/null when empty). When out_fd is given, the child's stdout goes to a
// pipe whose read end is returned there. Returns the pid, -1 on failure.
inline pid_t StartProcess(const std::vector<std::string>& argv, const std::string& stdin_file = "",
                          int* out_fd = nullptr) {
  int pipe_fds[2] = {-1, -1};
  if (out_fd && ::pipe(pipe_fds) != 0) return -1;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string in = stdin_file.empty() ? "/dev/null" : stdin_file;
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(in.c_str(), O_RDONLY);
    if (fd < 0) ::_exit(126);
    ::dup2(fd, STDIN_FILENO);
    ::close(fd);
    if (out_fd) {
      ::dup2(pipe_fds[1], STDOUT_FILENO);
      ::close(pipe_fds[0]);
      ::close(pipe_fds[1]);
    }
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  if (out_fd) {
    ::close(pipe_fds[1]);
    if (pid < 0) {
      ::close(pipe_fds[0]);
      return -1;
    }
    *out_fd = pipe_fds[0];
  }
  return pid;
}

// Waits for pid at most `limit`; kills it (SIGKILL) past that. Returns the
// exit code, or -1 when it was signalled or killed.
inline int WaitProcess(pid_t pid, std::chrono::milliseconds limit, bool* timed_out = nullptr) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return -1;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      if (timed_out) *timed_out = true;
      return -1;
    }
    ::usleep(20'000);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Runs argv to completion (or the time limit) and captures its stdout.
inline ProcessResult RunProcess(const std::vector<std::string>& argv, std::chrono::milliseconds limit,
                                const std::string& stdin_file = "") {
  ProcessResult r;
  int fd = -1;
  const pid_t pid = StartProcess(argv, stdin_file, &fd);
  if (pid < 0) return r;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char buf[65536];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 200)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the program closed stdout (it is exiting)
    r.out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  r.exit_code = WaitProcess(pid, std::max(left, std::chrono::milliseconds(1000)), &r.timed_out);
  return r;
}

}  // namespace recstream::testing
