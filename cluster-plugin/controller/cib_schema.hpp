// Schemas: validates a CIB against the RelaxNG schema its validate-with attribute names,
// read from Pacemaker's installed schema directory (/usr/share/pacemaker, or
// PCMK_schema_directory as Pacemaker reads it). Each schema is parsed once and kept.
// A name that is not "pacemaker-X.Y" or "pacemaker-next" is refused before any file is
// opened; "none" disables validation, as Pacemaker allows.
#pragma once

#include <libxml/relaxng.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "controller/xml.hpp"
#include "util/result.hpp"

namespace outpost::cluster::controller {

inline constexpr const char* kDefaultSchemaDirectory = "/usr/share/pacemaker";

class Schemas {
public:
    explicit Schemas(std::string directory = kDefaultSchemaDirectory) : directory_(std::move(directory)) {}

    // Ok, or an Error with code cib_rc::schema_validation saying what does not conform
    // (the first few messages of libxml2's validator).
    Status validate(const xmlDoc* cib);
    [[nodiscard]] const std::string& directory() const { return directory_; }

private:
    struct SchemaFree {
        void operator()(xmlRelaxNG* schema) const { xmlRelaxNGFree(schema); }
    };
    using SchemaPtr = std::unique_ptr<xmlRelaxNG, SchemaFree>;
    Result<xmlRelaxNG*> load(const std::string& name);

    std::string directory_;
    std::map<std::string, SchemaPtr> loaded_;
};

// Whether `name` may name a schema file ("pacemaker-3.9", "pacemaker-next").
bool is_schema_name(const std::string& name);

// The installed schemas of the 3.x series newer than minor version `after`, newest
// first: the ones a 3.x CIB can move to without a transform.
std::vector<std::string> newer_3x_schemas(const std::string& directory, int after);
// The minor version of a "pacemaker-3.Y" name, or -1 for any other.
int minor_3x(const std::string& name);

}  // namespace outpost::cluster::controller
