// Catch2 main for the benchmark executables. Benchmarking support changes Catch's
// implementation, so it is compiled here (with CATCH_CONFIG_ENABLE_BENCHMARKING passed by
// meson) rather than reusing the unit-test main.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
