// util/xml_text: values escaped as libxml2 escapes attribute values (the scheduler's graphs
// must match crm_simulate's byte for byte), with `'` escaped only on request.
#include <catch.hpp>

#include <libxml/parser.h>

#include <memory>
#include <string>

#include "util/xml_text.hpp"

using namespace outpost;

TEST_CASE("xml_escaped escapes the special characters and whitespace controls")
{
    CHECK(util::xml_escaped("plain text 1.0") == "plain text 1.0");
    CHECK(util::xml_escaped("a&b<c>d\"e'f") == "a&amp;b&lt;c&gt;d&quot;e'f");
    CHECK(util::xml_escaped("l1\nl2\rx\ty") == "l1&#10;l2&#13;x&#9;y");
    CHECK(util::xml_escaped("it's", util::Apostrophe::escape) == "it&apos;s");
    CHECK(util::xml_escaped("").empty());
}

TEST_CASE("append_xml_escaped appends to what is there")
{
    std::string out = "<x v=\"";
    util::append_xml_escaped(out, "1 < 2");
    CHECK(out == "<x v=\"1 &lt; 2");
}

TEST_CASE("an escaped value reads back unchanged from an attribute in either quotes")
{
    const std::string value = "a&b<c>d\"e'f\ng\rh\ti \xc3\xa9";
    for (const char* quote : {"\"", "'"}) {
        const std::string doc =
            std::string("<x v=") + quote + util::xml_escaped(value, util::Apostrophe::escape) + quote + "/>";
        std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)> parsed(
            xmlReadMemory(doc.data(), static_cast<int>(doc.size()), nullptr, "UTF-8", XML_PARSE_NONET),
            &xmlFreeDoc);
        REQUIRE(parsed != nullptr);
        std::unique_ptr<xmlChar, decltype(xmlFree)> read(
            xmlGetProp(xmlDocGetRootElement(parsed.get()), reinterpret_cast<const xmlChar*>("v")), xmlFree);
        REQUIRE(read != nullptr);
        CHECK(std::string(reinterpret_cast<const char*>(read.get())) == value);
    }
}
