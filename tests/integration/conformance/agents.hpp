// Test agents for the conformance suite, installed where both daemons look for them (one
// shared filesystem): the OCF agent ocf:outpostconf:Conf under
// /usr/lib/ocf/resource.d/outpostconf/, and LSB scripts /etc/init.d/outpostconf-*.
//
// The agents keep no state of their own: what they do is driven by their parameters (OCF)
// or by their name (LSB: outpostconf-rcN exits N for every action), so the real daemon
// and outpost-agent can run the same scenario at the same time. install_test_agents()
// installs them once per process; they are removed when the last test process using them
// exits.
#pragma once

#include <string>

#include "util/result.hpp"

namespace outpost::test::conformance {

inline constexpr const char* kOcfProvider = "outpostconf";
inline constexpr const char* kOcfAgent = "Conf";
inline constexpr const char* kOcfProviderDir = "/usr/lib/ocf/resource.d/outpostconf";
inline constexpr const char* kLsbPrefix = "outpostconf-";
// outpostconf-rcN for each of these N; outpostconf-reason prints an exit reason and fails.
inline constexpr int kLsbExitCodes[] = {0, 1, 2, 3, 4, 5, 6, 7, 42, 150, 151};

Status install_test_agents();

// The OCF agent's parameters (all optional):
//   log=FILE        append "<action>" to FILE on every run
//   stdout=TEXT     printf %b TEXT to stdout;  stderr=TEXT: the same to stderr
//   stdout_bytes=N  N bytes of 'o' to stdout (more than a parameter can carry);
//                   stderr_bytes=N: N bytes of 'e' to stderr, then stderr=TEXT if given
//   sleep=SECONDS   sleep before exiting (only for action sleep_action if that is set)
//   childpid=FILE   start a background `sleep 30` in the agent's process group, PID to FILE
//   state=FILE      monitor exits with the number in FILE (7 if FILE is missing)
//   rc=N            exit N for every action;  rc_start/rc_stop/rc_monitor=N per action
//   envdump=FILE    write cwd, uid and every OCF_* variable (sorted) to FILE
std::string ocf_agent_script();

}  // namespace outpost::test::conformance
