// The CIB on disk: one XML file, read and checked at start (created with the empty CIB
// if missing), and replaced atomically on every change: the new text goes to a temporary
// file in the same directory, which is flushed (fsync), renamed over the old file, and the
// directory flushed too, so after a crash at any point the file holds either the old or
// the new CIB, never a mix. Mode 0600: the CIB can hold secrets (passwords of fence
// devices).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "controller/cib_schema.hpp"
#include "controller/xml.hpp"
#include "util/result.hpp"

namespace outpost::cluster::controller {

inline constexpr const char* kDefaultCibFile = "/var/lib/outpost/cib.xml";
// Largest CIB read or written: what one IPC message can carry (ipc::kMaxPayloadSize).
inline constexpr std::size_t kMaxCibBytes = std::size_t{15} * 1024 * 1024;

struct LoadedCib {
    XmlDoc doc;
    bool created = false;  // the file did not exist and was written with the empty CIB
    // Temporary files of saves a crash interrupted ("cib.xml.XXXXXX"), removed.
    std::vector<std::string> removed_temporaries;
};

// Reads `path` (after removing what interrupted saves left beside it), or writes the empty CIB there
// (creating the directory, mode 0750) when it does not exist. The document must be a CIB (cib_document.hpp's
// shape) that `schemas` accepts; an Error names the file and the reason.
Result<LoadedCib> load_cib_file(const std::string& path, Schemas& schemas);

// Replaces `path` with `doc` atomically (see above).
Status save_cib_file(const std::string& path, const xmlDoc* doc);

}  // namespace outpost::cluster::controller
