#include "policy/digest.hpp"

#include <gnutls/crypto.h>

#include "policy/xml.hpp"
#include "util/xml_text.hpp"

namespace outpost::cluster::policy {

std::string parameters_digest(const std::map<std::string, std::string>& params)
{
    // The 2.1.5 serialiser writes the element indented by one space and ends it with a
    // newline; the digest covers exactly those bytes.
    std::string text = " <parameters";
    for (const auto& [k, v] : params) {
        text += ' ';
        text += k;
        text += "=\"";
        util::append_xml_escaped(text, v);
        text += '"';
    }
    text += "/>\n";
    unsigned char md5[16];
    gnutls_hash_fast(GNUTLS_DIG_MD5, text.data(), text.size(), md5);
    static const char* kHex = "0123456789abcdef";
    std::string out;
    for (unsigned char b : md5) {
        out += kHex[b >> 4];
        out += kHex[b & 15];
    }
    return out;
}

}  // namespace outpost::cluster::policy
