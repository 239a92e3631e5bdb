// The meta-data action's document, made from the parameter table (params.cpp).
#include <sstream>

#include "guest/agent.hpp"
#include "guest/params.hpp"
#include "outpost-config.h"
#include "util/xml_text.hpp"

namespace outpost::ocf::guest {

namespace {

const char* type_name(ParamType t)
{
    switch (t) {
        case ParamType::boolean:
            return "boolean";
        case ParamType::integer:
            return "integer";
        case ParamType::string:
            break;
    }
    return "string";
}

}  // namespace

std::string metadata_xml()
{
    std::ostringstream x;
    x << "<?xml version=\"1.0\"?>\n"
      // ra-api-1.dtd is OCF 1.0's; the internal subset (read first, so it wins) declares what
      // OCF 1.1 added that we use (reloadable, unique-group, the reload-agent action), so DTD
      // validation (ocf-tester) and OCF 1.1 readers both accept the document.
      << "<!DOCTYPE resource-agent SYSTEM \"ra-api-1.dtd\" [\n"
         "<!ATTLIST parameter reloadable (0|1) \"0\" unique-group CDATA #IMPLIED>\n"
         "<!ATTLIST action name CDATA #REQUIRED>\n"
         "]>\n"
      << "<resource-agent name=\"guest\" version=\"" << OUTPOST_VERSION << "\">\n"
      << "<version>1.1</version>\n\n"
      << "<longdesc lang=\"en\">\n"
         "Manages a libvirt domain (a QEMU/KVM virtual machine or an LXC container) through libvirt's C API, "
         "without virsh: start, stop, monitor, live migration (peer-to-peer) and reload. It takes "
         "ocf:heartbeat:VirtualDomain's parameters, so replacing VirtualDomain with it in an existing "
         "configuration needs no other change; snapshot, backingfile, stateless and copyindirs are not "
         "supported and fail validation when set. The domain is defined from the config file at every start "
         "(marked as defined by this agent) and undefined again when it stops, so only the nodes where it "
         "runs know it; a domain the administrator defined is started from the file as a transient domain "
         "and its definition left alone. Use the domain as a guest node with the remote-node meta "
         "attribute.\n"
         "</longdesc>\n"
      << "<shortdesc lang=\"en\">Manages libvirt domains (VMs and containers) natively</shortdesc>\n\n"
      << "<parameters>\n";
    for (const auto& p : param_specs()) {
        x << "<parameter name=\"" << p.name << "\"";
        if (p.unique) x << " unique-group=\"" << p.name << "\"";
        x << " required=\"" << (p.required ? 1 : 0) << "\"";
        if (p.reloadable) x << " reloadable=\"1\"";
        x << ">\n"
          << "<longdesc lang=\"en\">\n"
          << util::xml_escaped(p.longdesc) << "\n</longdesc>\n"
          << "<shortdesc lang=\"en\">" << util::xml_escaped(p.shortdesc) << "</shortdesc>\n"
          << "<content type=\"" << type_name(p.type) << "\"";
        if (*p.default_value != '\0') x << " default=\"" << util::xml_escaped(p.default_value) << "\"";
        x << " />\n</parameter>\n\n";
    }
    x << "</parameters>\n\n"
      << "<actions>\n"
      << "<action name=\"start\" timeout=\"90s\" />\n"
      << "<action name=\"stop\" timeout=\"90s\" />\n"
      << "<action name=\"monitor\" timeout=\"30s\" interval=\"10s\" depth=\"0\" />\n"
      << "<action name=\"status\" timeout=\"30s\" />\n"
      << "<action name=\"migrate_to\" timeout=\"120s\" />\n"
      << "<action name=\"migrate_from\" timeout=\"60s\" />\n"
      << "<action name=\"reload\" timeout=\"20s\" />\n"
      << "<action name=\"reload-agent\" timeout=\"20s\" />\n"
      << "<action name=\"meta-data\" timeout=\"5s\" />\n"
      << "<action name=\"validate-all\" timeout=\"20s\" />\n"
      << "</actions>\n"
      << "</resource-agent>\n";
    return x.str();
}

}  // namespace outpost::ocf::guest
