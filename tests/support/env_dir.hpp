// A private directory for environment files in a unit test, removed afterwards.
#pragma once

#include <catch.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace outpost::test {

struct EnvDir {
    std::string path;
    EnvDir()
    {
        char pattern[] = "/tmp/outpost-envdir-XXXXXX";
        REQUIRE(::mkdtemp(pattern) != nullptr);
        path = pattern;
    }
    ~EnvDir() { std::filesystem::remove_all(path); }
    EnvDir(const EnvDir&) = delete;
    EnvDir& operator=(const EnvDir&) = delete;
    // Writes `text` byte for byte to `name` in the directory; returns the file's path.
    [[nodiscard]] std::string write(const std::string& name, const std::string& text) const
    {
        std::string file = path + "/" + name;
        std::ofstream(file, std::ios::binary) << text;
        return file;
    }
};

}  // namespace outpost::test
