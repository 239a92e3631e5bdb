#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>

#include <cstdio>

#include "tools/outpost/cli.hpp"

namespace outpost::cluster::tools {
namespace {

// The version of Pacemaker's API result schema that 2.1.5's tools print (crm_resource
// --output-as=xml); our documents use the same envelope.
constexpr const char* kApiVersion = "2.25";

const xmlChar* xml_text(const std::string& text)
{
    return reinterpret_cast<const xmlChar*>(text.c_str());
}

// What `crm_error -X CODE` says for each exit code we use (Pacemaker 2.1.5), so the XML
// status reads like Pacemaker's.
const char* exit_message(int code)
{
    switch (code) {
        case 0:
            return "OK";
        case 1:
            return "Error occurred";
        case 2:
            return "Invalid parameter";
        case 3:
            return "Unimplemented";
        case 4:
            return "Insufficient privileges";
        case 5:
            return "Not installed";
        case 6:
            return "Not configured";
        case 7:
            return "Not running";
        case 8:
            return "Promoted";
        case 9:
            return "Failed in promoted role";
        case kExitUsage:
            return "Incorrect usage";
        case kExitUnavailable:
            return "Necessary service unavailable";
        case kExitCantCreate:
            return "Cannot create output file";
        case kExitNoPerm:
            return "Insufficient privileges";
        case kExitConfig:
            return "Invalid configuration";
        default:
            return "Error occurred";
    }
}

// libxml2 reports characters XML cannot carry while it writes them anyway; the document
// still says what happened, so those reports are not printed.
void ignore_xml_error(void* /*context*/, xmlError* /*error*/) {}

}  // namespace

XmlNode XmlNode::attr(std::string_view name, std::string_view value)
{
    if (node_ != nullptr) xmlSetProp(node_, xml_text(std::string(name)), xml_text(std::string(value)));
    return *this;
}

XmlNode XmlNode::attr(std::string_view name, long long value)
{
    return attr(name, std::to_string(value));
}

XmlNode XmlNode::child(std::string_view name)
{
    if (node_ == nullptr) return {};
    return XmlNode(xmlNewChild(node_, nullptr, xml_text(std::string(name)), nullptr));
}

void XmlNode::text(std::string_view content)
{
    if (node_ != nullptr)
        xmlNodeAddContentLen(node_, xml_text(std::string(content)), static_cast<int>(content.size()));
}

Output::Output(bool xml, const std::string& request)
{
    if (!xml) return;
    doc_.reset(xmlNewDoc(xml_text("1.0")));
    // Written as UTF-8, as the agents' output is: no character references for non-ASCII.
    doc_->encoding = xmlStrdup(xml_text("UTF-8"));
    xmlNodePtr root = xmlNewDocNode(doc_.get(), nullptr, xml_text("pacemaker-result"), nullptr);
    xmlDocSetRootElement(doc_.get(), root);
    XmlNode(root).attr("api-version", kApiVersion).attr("request", request);
}

void Output::line(const std::string& text) const
{
    if (!xml()) (void)std::printf("%s\n", text.c_str());
}

XmlNode Output::data(std::string_view name)
{
    if (!xml()) return {};
    return XmlNode(xmlDocGetRootElement(doc_.get())).child(name);
}

void Output::error(const std::string& message)
{
    if (xml()) {
        errors_.push_back("outpost: " + message);
    } else {
        (void)std::fprintf(stderr, "outpost: %s\n", message.c_str());
    }
}

void Output::usage(const char* text) const
{
    if (!xml()) (void)std::fputs(text, stderr);
}

void Output::warning(const std::string& message)
{
    (void)std::fprintf(stderr, "outpost: warning: %s\n", message.c_str());
}

int Output::finish(int code)
{
    if (!xml()) return code;
    XmlNode root(xmlDocGetRootElement(doc_.get()));
    XmlNode status = root.child("status").attr("code", code).attr("message", exit_message(code));
    if (!errors_.empty()) {
        XmlNode errors = status.child("errors");
        for (const auto& e : errors_)
            errors.child("error").text(e);
    }
    std::unique_ptr<xmlBuffer, decltype(&xmlBufferFree)> buffer(xmlBufferCreate(), xmlBufferFree);
    xmlSetStructuredErrorFunc(nullptr, ignore_xml_error);
    xmlSaveCtxtPtr save = xmlSaveToBuffer(buffer.get(), "UTF-8", XML_SAVE_FORMAT | XML_SAVE_NO_DECL);
    (void)xmlSaveTree(save, xmlDocGetRootElement(doc_.get()));
    (void)xmlSaveClose(save);  // frees the save context
    xmlSetStructuredErrorFunc(nullptr, nullptr);
    (void)std::fwrite(xmlBufferContent(buffer.get()), 1,
                      static_cast<std::size_t>(xmlBufferLength(buffer.get())), stdout);
    (void)std::fputc('\n', stdout);
    return code;
}

int usage_error(Output& out, const std::string& message, const char* usage)
{
    out.error(message);
    out.usage(usage);
    return kExitUsage;
}

}  // namespace outpost::cluster::tools
