// The tool side of the CIB IPC (controller/cib_client): the requests it sends are what the
// CIB service's own parser accepts as crm_simulate -L's sign-on and query; it reads the
// service's replies; and fetch_live_cib() gets the whole CIB from a real IpcFaces served in
// this process (the client blocks, so it runs on a thread while the loop turns here).
#include <catch.hpp>

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <optional>
#include <string>
#include <thread>

#include "controller/cib_client.hpp"
#include "controller/cib_request.hpp"
#include "controller/cib_schema.hpp"
#include "controller/cib_store.hpp"
#include "controller/ipc_faces.hpp"
#include "support/files.hpp"
#include "support/main_loop.hpp"

using namespace outpost;
using namespace outpost::cluster::controller;

TEST_CASE("the sign-on and the query are crm_simulate -L's")
{
    auto reg = parse_cib_request(register_request("outpost-simulate"), 1 << 20);
    REQUIRE(reg.ok());
    CHECK(reg->op == "register");
    CHECK(reg->client_name == "outpost-simulate");
    CHECK(reg->options == call_option::sync_call);

    auto query = parse_cib_request(query_request("abc", 2), 1 << 20);
    REQUIRE(query.ok());
    CHECK(query->op == "cib_query");
    CHECK(query->call_id == 2);
    CHECK(query->section.empty());                              // the whole CIB
    CHECK(query->options == (call_option::sync_call | 0x100));  // cib_scope_local
    CHECK(query->data == nullptr);
}

TEST_CASE("replies: the client id, the CIB, the CIB manager's refusal, and malformed answers")
{
    auto id = read_register_reply(register_reply("0e604f60-5053-4479-bc2c-704594e985cc"));
    REQUIRE(id.ok());
    CHECK(*id == "0e604f60-5053-4479-bc2c-704594e985cc");
    CHECK(read_register_reply("<cib_common_callback_worker cib_op=\"register\"/>").error().code == -EBADMSG);
    CHECK(read_register_reply("not xml").error().code == -EBADMSG);

    auto request = parse_cib_request(query_request("abc", 2), 1 << 20);
    REQUIRE(request.ok());
    XmlDoc cib = empty_cib();
    auto answer = read_query_reply(operation_reply(*request, "abc", 0, cib.get()));
    REQUIRE(answer.ok());
    CHECK(answer->rfind("<cib ", 0) == 0);
    CHECK(answer->find("validate-with=\"pacemaker-3.9\"") != std::string::npos);

    auto refused = read_query_reply(operation_reply(*request, "abc", cib_rc::access, nullptr));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == -EACCES);
    CHECK(refused.error().message.find("Permission denied") != std::string::npos);
    CHECK(read_query_reply(operation_reply(*request, "abc", 0, nullptr)).error().code == -EBADMSG);
    CHECK(read_query_reply("<cib-reply cib_rc=\"zero\"/>").error().code == -EBADMSG);
    CHECK(read_query_reply("<notify/>").error().code == -EBADMSG);
}

TEST_CASE("fetch_live_cib reads the CIB an IpcFaces serves, and says when nothing serves it")
{
    test::TempDir dir("outpost-cib-client");
    auto store = CibStore::open(dir.file("cib.xml"), kDefaultSchemaDirectory);
    REQUIRE(store.ok());
    test::ContextPtr context(g_main_context_new());
    IpcOptions options;
    options.name_prefix = "outpost-ut-" + std::to_string(::getpid()) + "-";
    CibService service(**store, "host1");
    auto faces = IpcFaces::create(context.get(), service, options);
    INFO((faces ? std::string() : faces.error().describe()));
    REQUIRE(faces.ok());

    auto fetch = [&](const std::string& service) {
        LiveCibOptions live;
        live.service = service;
        std::optional<Result<std::string>> result;
        std::atomic<bool> done{false};
        std::thread client([&] {
            result = fetch_live_cib(live);
            done = true;
        });
        test::run_until(
            context.get(), [&] { return done.load(); }, std::chrono::seconds(15));
        client.join();
        return std::move(*result);
    };
    auto cib = fetch(options.name_prefix + "cib_ro");
    INFO((cib ? std::string() : cib.error().describe()));
    REQUIRE(cib.ok());
    CHECK(cib->find("epoch=\"1\"") != std::string::npos);
    CHECK(cib->find("<status/>") != std::string::npos);

    auto none = fetch(options.name_prefix + "nothing");
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().code == -ENOTCONN);
    CHECK(none.error().message.find("no CIB service") != std::string::npos);
}
