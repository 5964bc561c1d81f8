#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "recs/engine/artifact.hpp"
#include "recs/engine/interaction_matrix.hpp"

namespace recs::engine::detail {

/// Artifact layout: magic "RECSMDL\0" | u32 version | u32 reserved | u64 payload size |
/// u32 CRC-32 of payload | u32 reserved | payload. All integers little-endian.
inline constexpr char kArtifactMagic[8] = {'R', 'E', 'C', 'S', 'M', 'D', 'L', '\0'};
inline constexpr uint32_t kArtifactVersion = kArtifactFormatVersion;
inline constexpr size_t kArtifactHeaderSize = 32;

/// CRC-32 (IEEE) of a byte range.
uint32_t Crc32(const void* data, size_t size);

/// Wraps a payload in the artifact header (magic, version, size, checksum).
std::string WrapPayload(std::string_view payload);

/// Checks the header and checksum and returns the payload. Throws core::Error(kUnprocessable).
std::string_view UnwrapPayload(std::string_view bytes);

/// Appends values to a payload.
class ArtifactWriter {
public:
    template <typename T>
    void Pod(const T& v) {
        static_assert(std::is_trivially_copyable_v<T>);
        buf_.append(reinterpret_cast<const char*>(&v), sizeof(T));
    }
    void String(std::string_view s) {
        Pod<uint64_t>(s.size());
        buf_.append(s);
    }
    template <typename T>
    void Vector(const std::vector<T>& v) {
        static_assert(std::is_trivially_copyable_v<T>);
        Pod<uint64_t>(v.size());
        buf_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
    }
    void Strings(const std::vector<std::string>& v) {
        Pod<uint64_t>(v.size());
        for (const auto& s : v) {
            String(s);
        }
    }
    void Matrix(const Csr& m);
    std::string& buffer() { return buf_; }

private:
    std::string buf_;
};

/// Reads values from a payload; every read is bounds-checked and throws core::Error
/// (kUnprocessable, field "artifact") instead of reading past the end.
class ArtifactReader {
public:
    explicit ArtifactReader(std::string_view data) : data_(data) {}

    template <typename T>
    T Pod() {
        static_assert(std::is_trivially_copyable_v<T>);
        Need(sizeof(T));
        T v;
        std::memcpy(&v, data_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }
    std::string String();
    template <typename T>
    std::vector<T> Vector() {
        auto n = Pod<uint64_t>();
        if (n > Remaining() / sizeof(T)) {
            Fail("vector length exceeds the artifact");
        }
        std::vector<T> v(n);
        if (n > 0) {
            std::memcpy(v.data(), data_.data() + pos_, n * sizeof(T));
        }
        pos_ += n * sizeof(T);
        return v;
    }
    std::vector<std::string> Strings();
    Csr Matrix();
    size_t Remaining() const { return data_.size() - pos_; }
    /// Throws unless the whole payload was consumed.
    void ExpectEnd() const;
    [[noreturn]] static void Fail(const std::string& why);

private:
    void Need(size_t n) const {
        if (n > Remaining()) {
            Fail("truncated artifact");
        }
    }
    std::string_view data_;
    size_t pos_ = 0;
};

}  // namespace recs::engine::detail
