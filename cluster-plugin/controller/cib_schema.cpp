#include "controller/cib_schema.hpp"

#include <libxml/xmlerror.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "controller/cib_document.hpp"

namespace outpost::cluster::controller {

namespace {

constexpr std::size_t kMaxReportedErrors = 5;

struct ParserCtxtFree {
    void operator()(xmlRelaxNGParserCtxt* ctxt) const { xmlRelaxNGFreeParserCtxt(ctxt); }
};
struct ValidCtxtFree {
    void operator()(xmlRelaxNGValidCtxt* ctxt) const { xmlRelaxNGFreeValidCtxt(ctxt); }
};

struct Collected {
    std::string text;
    std::size_t count = 0;
};

// libxml2 calls this for each problem; it must not throw (a C frame is between us).
void collect(void* data, xmlError* error) noexcept
{
    auto* collected = static_cast<Collected*>(data);
    if (error == nullptr || error->message == nullptr) return;
    if (collected->count++ >= kMaxReportedErrors) return;
    try {
        std::string message = error->message;
        while (!message.empty() && message.back() == '\n')
            message.pop_back();
        if (!collected->text.empty()) collected->text += "; ";
        collected->text += message;
    } catch (...) {
        // Out of memory while reporting: the count still says validation failed.
    }
}

}  // namespace

bool is_schema_name(const std::string& name)
{
    constexpr std::string_view prefix = "pacemaker-";
    if (name.size() > 32 || name.rfind(prefix, 0) != 0) return false;
    std::string_view rest = std::string_view(name).substr(prefix.size());
    if (rest == "next") return true;
    std::size_t dot = rest.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == rest.size()) return false;
    for (std::size_t i = 0; i < rest.size(); ++i) {
        if (i == dot) continue;
        if (std::isdigit(static_cast<unsigned char>(rest[i])) == 0) return false;
    }
    return true;
}

int minor_3x(const std::string& name)
{
    constexpr std::string_view prefix = "pacemaker-3.";
    if (!is_schema_name(name) || name.rfind(prefix, 0) != 0) return -1;
    const std::string rest = name.substr(prefix.size());
    if (rest.empty() || rest.size() > 4) return -1;
    return std::stoi(rest);
}

std::vector<std::string> newer_3x_schemas(const std::string& directory, int after)
{
    std::vector<std::pair<int, std::string>> found;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
        const std::string file = entry.path().filename().string();
        if (file.size() < 4 || file.substr(file.size() - 4) != ".rng") continue;
        const std::string name = file.substr(0, file.size() - 4);
        const int minor = minor_3x(name);
        if (minor > after) found.emplace_back(minor, name);
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::string> names;
    names.reserve(found.size());
    for (auto& [minor, name] : found)
        names.push_back(std::move(name));
    return names;
}

Result<xmlRelaxNG*> Schemas::load(const std::string& name)
{
    if (auto found = loaded_.find(name); found != loaded_.end()) return found->second.get();
    if (!is_schema_name(name)) {
        return make_error("cib", cib_rc::schema_validation,
                          "unknown schema \"" + name + "\" in validate-with");
    }
    std::string path = directory_ + "/" + name + ".rng";
    if (::access(path.c_str(), R_OK) != 0) {
        return make_error("cib", cib_rc::schema_validation,
                          "schema \"" + name + "\" of validate-with is not installed (" + path + ")");
    }
    Collected collected;
    std::unique_ptr<xmlRelaxNGParserCtxt, ParserCtxtFree> parser(xmlRelaxNGNewParserCtxt(path.c_str()));
    if (!parser) throw std::bad_alloc();
    xmlRelaxNGSetParserStructuredErrors(parser.get(), collect, &collected);
    SchemaPtr schema(xmlRelaxNGParse(parser.get()));
    if (!schema) {
        return make_error("cib", cib_rc::schema_validation,
                          "schema file " + path + " cannot be used: " + collected.text);
    }
    xmlRelaxNG* raw = schema.get();
    loaded_.emplace(name, std::move(schema));
    return raw;
}

Status Schemas::validate(const xmlDoc* cib)
{
    auto name = attr(root_of(cib), "validate-with");
    if (!name) return make_error("cib", cib_rc::schema_validation, "the CIB names no schema (validate-with)");
    if (*name == "none") return {};
    auto schema = load(*name);
    if (!schema) return schema.error();
    std::unique_ptr<xmlRelaxNGValidCtxt, ValidCtxtFree> ctxt(xmlRelaxNGNewValidCtxt(*schema));
    if (!ctxt) throw std::bad_alloc();
    Collected collected;
    xmlRelaxNGSetValidStructuredErrors(ctxt.get(), collect, &collected);
    int rc = xmlRelaxNGValidateDoc(ctxt.get(), const_cast<xmlDoc*>(cib));
    if (rc == 0) return {};
    std::string detail = collected.text.empty() ? std::string("validation failed") : collected.text;
    return make_error("cib", cib_rc::schema_validation,
                      "the CIB does not conform to " + *name + ": " + detail);
}

}  // namespace outpost::cluster::controller
