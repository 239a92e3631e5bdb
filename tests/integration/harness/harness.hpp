// The Outpost integration-test harness in one include: throw-away network namespaces
// (netns.hpp), child processes owned by PID (process.hpp), short commands (command.hpp),
// temporary files and authkeys (files.hpp), TCP readiness (tcp.hpp), the daemons under
// test (peers.hpp), a daemon-in-a-namespace fixture (guest_daemon.hpp), private bind mounts
// for daemons (mounts.hpp) and the machine checks every test needs (environment.hpp), with
// the pieces every test shares (tests/support: files, PSK contexts, the main loop).
// Namespace outpost::test.
#pragma once

#include "harness/command.hpp"
#include "harness/environment.hpp"
#include "harness/files.hpp"
#include "harness/guest_daemon.hpp"
#include "harness/mounts.hpp"
#include "harness/netns.hpp"
#include "harness/peers.hpp"
#include "harness/process.hpp"
#include "harness/tcp.hpp"
#include "support/files.hpp"
#include "support/main_loop.hpp"
#include "support/psk.hpp"
#include "util/fd.hpp"
