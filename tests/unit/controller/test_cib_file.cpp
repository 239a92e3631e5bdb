// The CIB file: created when missing, loaded and checked, replaced atomically (no
// temporary file left behind, mode 0600), and refused with a reason when it is not a
// usable CIB.
#include <libxml/tree.h>
#include <sys/stat.h>
#include <catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "controller/cib_document.hpp"
#include "controller/cib_file.hpp"
#include "controller/cib_store.hpp"
#include "controller/xml.hpp"
#include "support/files.hpp"

using namespace outpost::cluster::controller;
using outpost::test::TempDir;

namespace {

std::string read_file(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// An edit adding <node_state id=ID> to the status section.
std::function<void(xmlDoc*)> add_state(const char* id)
{
    return [id](xmlDoc* cib) {
        xmlNode* status = child_named(root_of(cib), "status");
        xmlNode* state =
            xmlNewChild(status, nullptr, reinterpret_cast<const xmlChar*>("node_state"), nullptr);
        xmlSetProp(state, reinterpret_cast<const xmlChar*>("id"), reinterpret_cast<const xmlChar*>(id));
    };
}

// An edit adding node n1 (id 1) to the configuration.
void add_node_n1(xmlDoc* cib)
{
    xmlNode* nodes = child_named(child_named(root_of(cib), "configuration"), "nodes");
    xmlNode* node = xmlNewChild(nodes, nullptr, reinterpret_cast<const xmlChar*>("node"), nullptr);
    xmlSetProp(node, reinterpret_cast<const xmlChar*>("id"), reinterpret_cast<const xmlChar*>("1"));
    xmlSetProp(node, reinterpret_cast<const xmlChar*>("uname"), reinterpret_cast<const xmlChar*>("n1"));
}

}  // namespace

TEST_CASE("a missing CIB file is created with the empty CIB, in a new directory")
{
    TempDir dir("outpost-cib");
    Schemas schemas;
    const std::string path = dir.file("sub/dir/cib.xml");
    auto loaded = load_cib_file(path, schemas);
    REQUIRE(loaded.ok());
    CHECK(loaded->created);
    CHECK(read_version(root_of(loaded->doc.get())).value() == CibVersion{0, 1, 0});
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto again = load_cib_file(path, schemas);
    REQUIRE(again.ok());
    CHECK_FALSE(again->created);
}

TEST_CASE("bad CIB files are refused with the reason")
{
    TempDir dir("outpost-cib");
    Schemas schemas;
    auto refused = [&](const std::string& content) {
        auto loaded = load_cib_file(dir.write("cib.xml", content), schemas);
        REQUIRE_FALSE(loaded.ok());
        return loaded.error().message;
    };
    CHECK(refused("<cib").find("not valid XML") != std::string::npos);
    CHECK(refused("<nodes/>").find("not <cib>") != std::string::npos);
    CHECK(refused(R"(<cib epoch="x"><configuration/></cib>)").find("epoch") != std::string::npos);
    CHECK(refused(R"(<cib validate-with="pacemaker-3.9" epoch="1"><configuration><crm_config/><nodes/>)"
                  R"(<resources/><constraints/><bogus/></configuration></cib>)")
              .find("pacemaker-3.9") != std::string::npos);
    CHECK(refused(std::string(kMaxCibBytes + 1, ' ')).find("more than") != std::string::npos);
    auto directory = load_cib_file(dir.path().string(), schemas);
    CHECK_FALSE(directory.ok());
}

TEST_CASE("saving replaces the file whole and leaves no temporary file")
{
    TempDir dir("outpost-cib");
    const std::string path = dir.file("cib.xml");
    XmlDoc cib = empty_cib();
    REQUIRE(save_cib_file(path, cib.get()).ok());
    write_version(root_of(cib.get()), CibVersion{0, 5, 0});
    REQUIRE(save_cib_file(path, cib.get()).ok());
    CHECK(read_file(path).find(R"(epoch="5")") != std::string::npos);
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        (void)entry;
        ++files;
    }
    CHECK(files == 1);
    CHECK_FALSE(save_cib_file(dir.file("missing/cib.xml"), cib.get()).ok());
}

TEST_CASE("the store saves before a change counts, and keeps the old CIB when saving fails")
{
    TempDir dir("outpost-cib");
    const std::string path = dir.file("cib.xml");
    auto store = CibStore::open(path, kDefaultSchemaDirectory);
    REQUIRE(store.ok());
    auto data = parse_document(R"(<node id="1" uname="node1"/>)", 1024, "node");
    REQUIRE(data.ok());
    CibOperation create{"cib_create", "nodes", 0, root_of(data->get())};
    XmlDoc before;
    auto outcome = (*store)->apply(create, UpdateOrigin{}, &before);
    REQUIRE(outcome.rc == 0);
    REQUIRE(before);
    CHECK(read_file(path).find("node1") != std::string::npos);
    CHECK(read_version(root_of((*store)->current())).value().epoch == 2);

    // The file's place is taken by a directory (root writes anywhere, so no mode trick):
    // renaming over it fails, nothing changes in memory.
    std::filesystem::remove(path);
    std::filesystem::create_directories(path + "/blocker");
    auto data2 = parse_document(R"(<node id="2" uname="node2"/>)", 1024, "node");
    REQUIRE(data2.ok());
    CibOperation create2{"cib_create", "nodes", 0, root_of(data2->get())};
    auto failed = (*store)->apply(create2, UpdateOrigin{});
    CHECK(failed.rc == cib_rc::save_failed);
    CHECK(read_version(root_of((*store)->current())).value().epoch == 2);
}

// CibStore::edit (the daemon's own batched writes): several edits made as one write are one
// save, one version step and one change notification; an edit that changes nothing is no
// write; a configuration change counts as one (epoch), as a cib_replace would.
TEST_CASE("an edit of the store is one write for all it changes")
{
    TempDir dir("outpost-cib");
    const std::string path = dir.file("cib.xml");
    auto store = CibStore::open(path, kDefaultSchemaDirectory);
    REQUIRE(store.ok());
    int changes = 0;
    (*store)->on_change([&changes](const UpdateOrigin& origin) {
        CHECK(origin.client_name == "loop");
        ++changes;
    });
    UpdateOrigin origin;
    origin.client_name = "loop";
    const CibVersion start = read_version(root_of((*store)->current())).value();
    XmlDoc before;
    auto outcome = (*store)->edit(
        [&](xmlDoc* cib) {
            add_state("a")(cib);
            add_state("b")(cib);
            add_state("c")(cib);
        },
        origin, &before);
    REQUIRE(outcome.rc == 0);
    REQUIRE(before);
    CHECK(changes == 1);
    CHECK_FALSE(outcome.config_changed);
    const CibVersion after = read_version(root_of((*store)->current())).value();
    CHECK(after.epoch == start.epoch);
    CHECK(after.num_updates == start.num_updates + 1);
    const std::string saved = read_file(path);
    CHECK(saved.find(R"(<node_state id="c")") != std::string::npos);
    CHECK(saved.find(R"(num_updates=")" + std::to_string(after.num_updates) + "\"") != std::string::npos);

    XmlDoc unchanged;
    CHECK((*store)->edit([](xmlDoc*) {}, origin, &unchanged).rc == 0);
    CHECK_FALSE(unchanged);
    CHECK(changes == 1);

    auto config = (*store)->edit(add_node_n1, origin);
    CHECK(config.rc == 0);
    CHECK(config.config_changed);
    CHECK(read_version(root_of((*store)->current())).value().epoch == start.epoch + 1);
    CHECK(changes == 2);
}

// CibStore::Save::deferred (the control loop's records a restart forgets): current at once,
// in the file with the next save of any kind; a configuration change is saved at once all
// the same.
TEST_CASE("a deferred edit is current at once and saved with the next save")
{
    TempDir dir("outpost-cib");
    const std::string path = dir.file("cib.xml");
    auto store = CibStore::open(path, kDefaultSchemaDirectory);
    REQUIRE(store.ok());
    int changes = 0;
    (*store)->on_change([&changes](const UpdateOrigin&) { ++changes; });
    auto in_memory = [&](const char* id) {
        return serialize(root_of((*store)->current()), false).find(std::string("node_state id=\"") + id) !=
               std::string::npos;
    };
    auto in_file = [&](const char* id) {
        return read_file(path).find(std::string("node_state id=\"") + id) != std::string::npos;
    };
    UpdateOrigin origin;
    CHECK_FALSE((*store)->unsaved());
    REQUIRE((*store)->edit(add_state("a"), origin, nullptr, CibStore::Save::deferred).rc == 0);
    CHECK(changes == 1);
    CHECK(in_memory("a"));
    CHECK_FALSE(in_file("a"));
    CHECK((*store)->unsaved());
    REQUIRE((*store)->save_deferred().ok());
    CHECK(in_file("a"));
    CHECK_FALSE((*store)->unsaved());

    // A later save now carries the deferred change with it.
    REQUIRE((*store)->edit(add_state("b"), origin, nullptr, CibStore::Save::deferred).rc == 0);
    REQUIRE((*store)->edit(add_state("c"), origin).rc == 0);
    CHECK(in_file("b"));
    CHECK(in_file("c"));
    CHECK_FALSE((*store)->unsaved());

    // A configuration change is never deferred.
    auto config = (*store)->edit(add_node_n1, origin, nullptr, CibStore::Save::deferred);
    REQUIRE(config.rc == 0);
    CHECK(read_file(path).find(R"(uname="n1")") != std::string::npos);
    CHECK_FALSE((*store)->unsaved());
}

TEST_CASE("temporary files of an interrupted save are removed at load, nothing else")
{
    TempDir dir("outpost-cib");
    Schemas schemas;
    const std::string path = dir.file("cib.xml");
    REQUIRE(save_cib_file(path, empty_cib().get()).ok());
    dir.write("cib.xml.AbC123", "<cib");
    dir.write("cib.xml.sig", "keep");
    dir.write("other.xml.AbC123", "keep");
    auto loaded = load_cib_file(path, schemas);
    REQUIRE(loaded.ok());
    REQUIRE(loaded->removed_temporaries.size() == 1);
    CHECK(loaded->removed_temporaries.front() == dir.file("cib.xml.AbC123"));
    CHECK_FALSE(std::filesystem::exists(dir.file("cib.xml.AbC123")));
    CHECK(std::filesystem::exists(dir.file("cib.xml.sig")));
    CHECK(std::filesystem::exists(dir.file("other.xml.AbC123")));
}
