#include "controller/cib_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "controller/cib_document.hpp"
#include "util/fd.hpp"

namespace outpost::cluster::controller {

namespace {

Error file_error(const std::string& path, int err, const std::string& what)
{
    return make_error("cib", -err, what + " " + path + ": " + std::strerror(err));
}

std::string directory_of(const std::string& path)
{
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

Result<std::string> read_bounded(const std::string& path)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return file_error(path, errno, "cannot open");
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return file_error(path, errno, "cannot stat");
    if (!S_ISREG(st.st_mode)) return make_error("cib", -EINVAL, path + " is not a regular file");
    if (static_cast<std::size_t>(st.st_size) > kMaxCibBytes) {
        return make_error("cib", -EFBIG,
                          path + " has " + std::to_string(st.st_size) + " bytes, more than " +
                              std::to_string(kMaxCibBytes));
    }
    std::string text;
    std::vector<char> buffer(std::size_t{64} * 1024);
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return file_error(path, errno, "cannot read");
        if (n == 0) break;
        if (text.size() + static_cast<std::size_t>(n) > kMaxCibBytes)
            return make_error("cib", -EFBIG,
                              path + " grew beyond " + std::to_string(kMaxCibBytes) + " bytes");
        text.append(buffer.data(), static_cast<std::size_t>(n));
    }
    return text;
}

Status write_all(int fd, const std::string& text, const std::string& path)
{
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return file_error(path, errno, "cannot write");
        done += static_cast<std::size_t>(n);
    }
    return {};
}

Status make_directory(const std::string& dir)
{
    if (::mkdir(dir.c_str(), 0750) == 0 || errno == EEXIST) return {};
    if (errno == ENOENT) {
        if (auto parent = make_directory(directory_of(dir)); !parent) return parent;
        if (::mkdir(dir.c_str(), 0750) == 0 || errno == EEXIST) return {};
    }
    return file_error(dir, errno, "cannot create directory");
}

// The temporary files save_cib_file() makes are named "<file>.XXXXXX" (mkostemp): any
// left beside the CIB come from a save a crash interrupted before its rename.
std::vector<std::string> remove_temporaries(const std::string& path)
{
    std::vector<std::string> removed;
    const std::string dir = directory_of(path);
    const std::string base = path.substr(path.rfind('/') + 1) + ".";
    std::unique_ptr<DIR, int (*)(DIR*)> listing(::opendir(dir.c_str()), ::closedir);
    if (!listing) return removed;
    while (const dirent* entry = ::readdir(listing.get())) {
        const std::string name = entry->d_name;
        if (name.size() != base.size() + 6 || name.compare(0, base.size(), base) != 0) continue;
        std::string full = dir;
        full += '/';
        full += name;
        struct stat st {};
        if (::lstat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::unlink(full.c_str()) == 0)
            removed.push_back(full);
    }
    return removed;
}

// Removes the temporary file of a save that failed before its rename.
class TemporaryFile {
public:
    explicit TemporaryFile(std::string name) : name_(std::move(name)) {}
    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;
    ~TemporaryFile()
    {
        if (!name_.empty()) ::unlink(name_.c_str());
    }
    // The file became the CIB: nothing to remove.
    void keep() { name_.clear(); }

private:
    std::string name_;
};

}  // namespace

Status save_cib_file(const std::string& path, const xmlDoc* doc)
{
    const std::string text = serialize(root_of(doc), true) + "\n";
    if (text.size() > kMaxCibBytes) {
        return make_error("cib", -EFBIG,
                          "the CIB has " + std::to_string(text.size()) + " bytes, more than " +
                              std::to_string(kMaxCibBytes));
    }
    const std::string dir = directory_of(path);
    std::string temp = path + ".XXXXXX";
    UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
    if (!fd) return file_error(temp, errno, "cannot create");
    TemporaryFile guard(temp);
    if (::fchmod(fd.get(), 0600) != 0) return file_error(temp, errno, "cannot set the mode of");
    if (auto written = write_all(fd.get(), text, temp); !written) return written;
    if (::fsync(fd.get()) != 0) return file_error(temp, errno, "cannot flush");
    if (::close(fd.release()) != 0) return file_error(temp, errno, "cannot close");
    if (::rename(temp.c_str(), path.c_str()) != 0)
        return file_error(path, errno, "cannot rename " + temp + " to");
    guard.keep();
    UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir_fd) return file_error(dir, errno, "cannot open directory");
    if (::fsync(dir_fd.get()) != 0) return file_error(dir, errno, "cannot flush directory");
    return {};
}

Result<LoadedCib> load_cib_file(const std::string& path, Schemas& schemas)
{
    LoadedCib loaded;
    loaded.removed_temporaries = remove_temporaries(path);
    auto text = read_bounded(path);
    if (!text && text.error().code == -ENOENT) {
        if (auto dir = make_directory(directory_of(path)); !dir) return dir.error();
        loaded.doc = empty_cib();
        loaded.created = true;
        if (auto saved = save_cib_file(path, loaded.doc.get()); !saved) return saved.error();
        return loaded;
    }
    if (!text) return text.error();
    auto doc = parse_document(*text, kMaxCibBytes, "CIB file " + path);
    if (!doc) return doc.error();
    if (auto shape = check_cib_shape(doc->get()); !shape)
        return make_error("cib", shape.error().code, "CIB file " + path + ": " + shape.error().message);
    if (auto valid = schemas.validate(doc->get()); !valid)
        return make_error("cib", valid.error().code, "CIB file " + path + ": " + valid.error().message);
    xmlNode* root = root_of(doc->get());
    if (child_named(root, "status") == nullptr &&
        xmlNewChild(root, nullptr, reinterpret_cast<const xmlChar*>("status"), nullptr) == nullptr)
        throw std::bad_alloc();
    loaded.doc = std::move(*doc);
    return loaded;
}

}  // namespace outpost::cluster::controller
