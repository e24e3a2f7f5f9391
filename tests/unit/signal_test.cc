// The stop signals of the CLI (app/commands.h): the first SIGINT/SIGTERM
// asks for a clean stop and is remembered for the exit code; a second one
// ends the process at once with 128 + the signal. Each case runs in a forked
// child, since the second signal ends the process.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "app/commands.h"

namespace recstream {
namespace {

// Runs fn in a child; returns its exit code (-1 if signalled).
template <class Fn>
int InChild(Fn fn) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    fn();
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(StopSignals, TheFirstAsksForAStopAndTheSecondEndsTheProcessAtOnce) {
  for (int sig : {SIGINT, SIGTERM}) {
    const int code = InChild([sig] {
      app::InstallSignalHandlers();
      if (app::StopFlag().load() || app::StopSignal() != 0) ::_exit(10);
      ::raise(sig);
      if (!app::StopFlag().load()) ::_exit(11);          // the first: a stop request...
      if (app::InterruptedExitCode() != 128 + sig) ::_exit(12);
      ::raise(sig);                                       // ...the second: gone
      ::_exit(13);
    });
    EXPECT_EQ(code, 128 + sig) << "signal " << sig;
  }
}

}  // namespace
}  // namespace recstream
