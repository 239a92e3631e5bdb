#include "util/xml_text.hpp"

namespace outpost::util {

void append_xml_escaped(std::string& out, std::string_view value, Apostrophe apostrophe)
{
    for (char ch : value) {
        switch (ch) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                if (apostrophe == Apostrophe::escape) {
                    out += "&apos;";
                } else {
                    out += ch;
                }
                break;
            case '\n':
                out += "&#10;";
                break;
            case '\r':
                out += "&#13;";
                break;
            case '\t':
                out += "&#9;";
                break;
            default:
                out += ch;
        }
    }
}

}  // namespace outpost::util
