// Container init mode: when outpost-agent is PID 1 of a container (or PCMK_remote_pid1=full
// for testing), it loads /etc/pacemaker/pcmk-init.env and forks; the parent stays a minimal
// init and the child runs as the daemon.
#pragma once

namespace outpost::agent::lifecycle {

inline constexpr const char* kInitEnvFile = "/etc/pacemaker/pcmk-init.env";
inline constexpr const char* kInitLogFile = "/var/log/pcmk-init.log";

// Returns in the daemon process (the only process when init mode is off). In init mode the
// init process never returns: it stays PID 1, reaps every zombie, ignores the signals an init
// must survive, exits 0 on SIGINT and otherwise with the daemon's own status; the child
// returns and runs as the daemon in a new session. PCMK_remote_pid1=vars only loads the
// environment file. Under PCMK_remote_pid1=full without being PID 1 the init makes itself a
// child subreaper, so orphans come to it as they would to PID 1
// (tests/integration/test_container_mode.cpp).
void run_init_if_pid1();

}  // namespace outpost::agent::lifecycle
