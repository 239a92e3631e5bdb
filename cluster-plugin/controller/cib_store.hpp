// CibStore: the one live CIB of outpost-controld. It performs operations (cib_ops.hpp)
// on the current document and makes every change durable before it counts: the new CIB
// is written to the file (cib_file.hpp) first, and only then becomes current and may be
// acknowledged. A write that fails leaves both the file and the CIB in memory as they
// were, and the request gets pcmk_err_cib_save.
// One exception, asked for by the control loop only: a status change that a restart
// forgets anyway (operation history, a remote node coming up) may become current first
// and reach the file with the next save (Save::deferred; save_deferred()).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "controller/cib_ops.hpp"
#include "controller/cib_schema.hpp"
#include "controller/xml.hpp"
#include "util/result.hpp"

namespace outpost::cluster::controller {

class CibStore {
public:
    // Loads (or creates) the file; see load_cib_file().
    static Result<std::unique_ptr<CibStore>> open(std::string path, std::string schema_directory);

    [[nodiscard]] const xmlDoc* current() const { return current_.get(); }
    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] bool created() const { return created_; }
    // Leftovers of interrupted saves that open() removed (for the log).
    [[nodiscard]] const std::vector<std::string>& removed_temporaries() const { return removed_; }

    // Performs `operation`. When the CIB changed, `previous` (if given) receives the CIB
    // as it was, and outcome.updated is empty: the new CIB is current().
    CibOutcome apply(const CibOperation& operation, const UpdateOrigin& origin, XmlDoc* previous = nullptr);
    // The same for a change made by editing (a copy of) the current CIB (perform_edit).
    // Save::deferred: the edited CIB becomes current without being written (see above).
    enum class Save { now, deferred };
    CibOutcome edit(const std::function<void(xmlDoc*)>& edit, const UpdateOrigin& origin,
                    XmlDoc* previous = nullptr, Save save = Save::now);
    // True while current() has deferred changes the file does not hold yet.
    [[nodiscard]] bool unsaved() const { return unsaved_; }
    // Writes current() if it has deferred changes (every other write saves them too).
    Status save_deferred();

    // Called after each change that became current, with who made it (the control loop
    // tells its own status updates from everyone else's by the origin's client name).
    using ChangeListener = std::function<void(const UpdateOrigin&)>;
    void on_change(ChangeListener listener) { listener_ = std::move(listener); }

private:
    // Makes a performed write durable, then current (see above).
    CibOutcome commit(CibOutcome outcome, const UpdateOrigin& origin, XmlDoc* previous, Save save);
    CibStore(std::string path, XmlDoc doc, std::unique_ptr<Schemas> schemas, bool created);

    std::string path_;
    XmlDoc current_;
    std::unique_ptr<Schemas> schemas_;
    bool created_ = false;
    bool unsaved_ = false;
    std::vector<std::string> removed_;
    ChangeListener listener_;
};

}  // namespace outpost::cluster::controller
