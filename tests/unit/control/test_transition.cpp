#include <catch2/catch.hpp>

#include "control/transition.hpp"

using outpost::cluster::control::TransitionRun;
using State = TransitionRun::State;

TEST_CASE("an action starts once all its inputs completed", "[control][transition]")
{
    // 1 -> 3, 2 -> 3
    TransitionRun run({{1, false, {}, {}}, {2, false, {}, {}}, {3, false, {1, 2}, {}}});
    CHECK(run.take_ready() == std::vector<int>{1, 2});
    CHECK(run.take_ready().empty());  // nothing twice
    run.complete(1, true);
    CHECK(run.take_ready().empty());
    CHECK_FALSE(run.finished());
    run.complete(2, true);
    CHECK(run.take_ready() == std::vector<int>{3});
    run.complete(3, true);
    CHECK(run.finished());
    CHECK(run.complete());
}

TEST_CASE("pseudo actions complete at once and unblock what follows", "[control][transition]")
{
    // 5 (pseudo) waits for 1; 2 waits for 5; 4 (pseudo, listed first) waits for 2.
    TransitionRun run({{4, true, {2}, {}}, {1, false, {}, {}}, {5, true, {1}, {}}, {2, false, {5}, {}}});
    CHECK(run.take_ready() == std::vector<int>{1});
    run.complete(1, true);
    CHECK(run.take_ready() == std::vector<int>{2});
    CHECK(run.state(5) == State::done);
    run.complete(2, true);
    CHECK(run.take_ready().empty());
    CHECK(run.state(4) == State::done);
    CHECK(run.complete());
}

TEST_CASE("a failure aborts: nothing new starts, running actions are awaited", "[control][transition]")
{
    TransitionRun run({{1, false, {}, {}}, {2, false, {}, {}}, {3, false, {1}, {}}});
    CHECK(run.take_ready() == std::vector<int>{1, 2});
    run.complete(1, false);
    CHECK(run.aborted());
    CHECK(run.take_ready().empty());
    CHECK_FALSE(run.finished());  // 2 still runs
    run.complete(2, true);
    CHECK(run.finished());
    CHECK_FALSE(run.complete());
    CHECK(run.state(3) == State::waiting);
}

TEST_CASE("abort() stops new actions; late and unknown results are ignored", "[control][transition]")
{
    TransitionRun run({{1, false, {}, {}}, {2, false, {1}, {}}});
    CHECK(run.take_ready() == std::vector<int>{1});
    run.abort();
    run.complete(99, true);  // not in this transition
    run.complete(2, true);   // never started
    CHECK(run.running() == 1);
    run.complete(1, true);
    CHECK(run.take_ready().empty());
    CHECK(run.finished());
    CHECK(run.state(2) == State::waiting);
}

TEST_CASE("inputs outside the graph count as complete; an empty graph is finished", "[control][transition]")
{
    TransitionRun run({{7, false, {42}, {}}});
    CHECK(run.take_ready() == std::vector<int>{7});
    TransitionRun empty({});
    CHECK(empty.finished());
    CHECK(empty.complete());
}

TEST_CASE("limits hold steps back until running ones complete", "[control][transition]")
{
    using outpost::cluster::control::RunLimits;
    SECTION("in all (batch-limit)")
    {
        TransitionRun run({{1, false, {}, {}}, {2, false, {}, {}}, {3, false, {}, {}}, {4, true, {}, {}}},
                          RunLimits{2, 0});
        CHECK(run.take_ready() == std::vector<int>{1, 2});  // pseudo 4 is not counted
        CHECK(run.state(4) == State::done);
        CHECK(run.take_ready().empty());
        CHECK_FALSE(run.finished());
        run.complete(2, true);
        CHECK(run.take_ready() == std::vector<int>{3});
        run.complete(1, true);
        run.complete(3, true);
        CHECK(run.finished());
        CHECK(run.complete());
    }
    SECTION("per node")
    {
        TransitionRun run({{1, false, {}, "host"},
                           {2, false, {}, "host"},
                           {3, false, {}, "guest1"},
                           {4, false, {}, "host"},
                           {5, false, {}, ""}},
                          RunLimits{0, 2});
        CHECK(run.take_ready() == std::vector<int>{1, 2, 3, 5});
        run.complete(3, true);
        CHECK(run.take_ready().empty());  // host is full
        run.complete(1, false);           // a failure: nothing new starts
        CHECK(run.take_ready().empty());
        run.complete(2, true);
        run.complete(5, true);
        CHECK(run.finished());
        CHECK(run.state(4) == State::waiting);
    }
}
