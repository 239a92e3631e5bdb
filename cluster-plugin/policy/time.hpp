// The CIB's time formats (util/cib_time.hpp, shared with the agent) under the policy
// engine's names: the engine never reads a clock, "now" is an input.
#pragma once

#include "util/cib_time.hpp"

namespace outpost::cluster::policy {

using util::add_duration;
using util::civil_from_epoch;
using util::CivilTime;
using util::Duration;
using util::epoch_from_civil;
using util::EpochSeconds;
using util::format_datetime;
using util::parse_datetime;
using util::parse_duration;
using util::parse_interval_ms;

}  // namespace outpost::cluster::policy
