#include "controller/cib_store.hpp"

#include "controller/cib_document.hpp"
#include "controller/cib_file.hpp"

namespace outpost::cluster::controller {

CibStore::CibStore(std::string path, XmlDoc doc, std::unique_ptr<Schemas> schemas, bool created)
    : path_(std::move(path)), current_(std::move(doc)), schemas_(std::move(schemas)), created_(created)
{
}

Result<std::unique_ptr<CibStore>> CibStore::open(std::string path, std::string schema_directory)
{
    auto schemas = std::make_unique<Schemas>(std::move(schema_directory));
    auto loaded = load_cib_file(path, *schemas);
    if (!loaded) return loaded.error();
    std::unique_ptr<CibStore> store(
        new CibStore(std::move(path), std::move(loaded->doc), std::move(schemas), loaded->created));
    store->removed_ = std::move(loaded->removed_temporaries);
    return store;
}

CibOutcome CibStore::apply(const CibOperation& operation, const UpdateOrigin& origin, XmlDoc* previous)
{
    return commit(perform(current_.get(), operation, *schemas_, origin), origin, previous, Save::now);
}

CibOutcome CibStore::edit(const std::function<void(xmlDoc*)>& edit, const UpdateOrigin& origin,
                          XmlDoc* previous, Save save)
{
    return commit(perform_edit(current_.get(), edit, *schemas_, origin), origin, previous, save);
}

Status CibStore::save_deferred()
{
    if (!unsaved_) return {};
    if (auto saved = save_cib_file(path_, current_.get()); !saved) return saved;
    unsaved_ = false;
    return {};
}

CibOutcome CibStore::commit(CibOutcome outcome, const UpdateOrigin& origin, XmlDoc* previous, Save save)
{
    if (outcome.rc != cib_rc::ok || !outcome.updated) return outcome;
    // A configuration change is never deferred, whoever asks.
    if (save == Save::now || outcome.config_changed) {
        if (auto saved = save_cib_file(path_, outcome.updated.get()); !saved) {
            CibOutcome failed;
            failed.rc = cib_rc::save_failed;
            failed.message = saved.error().message;
            return failed;
        }
        unsaved_ = false;
    } else {
        unsaved_ = true;
    }
    XmlDoc old = std::exchange(current_, std::move(outcome.updated));
    if (previous != nullptr) *previous = std::move(old);
    if (listener_) listener_(origin);
    return outcome;
}

}  // namespace outpost::cluster::controller
