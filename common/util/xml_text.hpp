// Escaping values for XML written by hand (the scheduler's graphs and digests, the OCF
// agent's metadata, the test harness's CIBs and libvirt domain files).
#pragma once

#include <string>
#include <string_view>

namespace outpost::util {

// Whether `'` is escaped too: needed for values in single-quoted attributes; Pacemaker's
// own output (libxml2's serializer, double quotes) leaves it as it is.
enum class Apostrophe { keep, escape };

// Appends `value` escaped as libxml2 escapes an attribute value: & < > " as entities, LF CR
// TAB as character references (so they survive attribute-value normalisation), the rest as
// is. Output that must match Pacemaker's byte for byte depends on exactly this.
void append_xml_escaped(std::string& out, std::string_view value, Apostrophe apostrophe = Apostrophe::keep);

[[nodiscard]] inline std::string xml_escaped(std::string_view value, Apostrophe apostrophe = Apostrophe::keep)
{
    std::string out;
    out.reserve(value.size());
    append_xml_escaped(out, value, apostrophe);
    return out;
}

}  // namespace outpost::util
