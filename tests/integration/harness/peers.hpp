// Where the daemons under test are: the real pacemaker-remoted and our outpost-agent.
//
// remoted_path(): $OUTPOST_REMOTED if set (scripts/test exports it), else runs
// tests/integration/fetch-remoted.sh into <build>/peers (downloads the Debian package
// pacemaker-remote matching the installed pacemaker and unpacks it; never installs it).
// agent_path(): $OUTPOST_AGENT, which tests/integration/meson.build sets when the
// outpost-agent target exists; nullopt before then, so tests can skip visibly.
// fake_systemd_path(): outpost-fake-systemd, the stand-in for systemd's D-Bus API.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "util/result.hpp"

namespace outpost::test {

// $OUTPOST_SOURCE_ROOT, else the source tree the harness was built from.
std::filesystem::path source_root();
// $OUTPOST_BUILD_ROOT, else the build tree the harness was built in.
std::filesystem::path build_root();

Result<std::string> remoted_path();
std::optional<std::string> agent_path();
// The fake systemd manager for agent-class tests (tests/integration/fake_systemd/):
// $OUTPOST_FAKE_SYSTEMD, else where the build puts it.
std::string fake_systemd_path();

}  // namespace outpost::test
