// Runs Catch2's test session over the command line; for the test executables' main()
// functions (the implementation is compiled once, in catch_impl.cpp). Returns Catch2's
// failure count.
#pragma once

namespace outpost::test {

int run_catch_session(int argc, char* argv[]);

}  // namespace outpost::test
