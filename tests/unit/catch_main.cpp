// main() of the unit-test executables; Catch2's implementation is tests/support/catch_impl.cpp.
#include "catch_session.hpp"

int main(int argc, char* argv[])
{
    return outpost::test::run_catch_session(argc, argv);
}
