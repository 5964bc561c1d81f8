#include "artifact.hpp"

#include <array>

#include "recs/core/error.hpp"
#include "recs/engine/artifact.hpp"

namespace recs::engine::detail {
namespace {

std::array<uint32_t, 256> MakeCrcTable() {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) {
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        t[i] = c;
    }
    return t;
}

}  // namespace

uint32_t Crc32(const void* data, size_t size) {
    static const std::array<uint32_t, 256> kTable = MakeCrcTable();
    const auto* p = static_cast<const unsigned char*>(data);
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < size; ++i) {
        c = kTable[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    }
    return c ^ 0xFFFFFFFFu;
}

std::string WrapPayload(std::string_view payload) {
    std::string out;
    out.reserve(kArtifactHeaderSize + payload.size());
    out.append(kArtifactMagic, sizeof(kArtifactMagic));
    auto put = [&out](auto v) { out.append(reinterpret_cast<const char*>(&v), sizeof(v)); };
    put(kArtifactVersion);
    put(uint32_t{0});
    put(static_cast<uint64_t>(payload.size()));
    put(Crc32(payload.data(), payload.size()));
    put(uint32_t{0});
    out.append(payload);
    return out;
}

std::string_view UnwrapPayload(std::string_view bytes) {
    if (bytes.size() < kArtifactHeaderSize) {
        ArtifactReader::Fail("file too short to be a recsplane model artifact");
    }
    if (std::memcmp(bytes.data(), kArtifactMagic, sizeof(kArtifactMagic)) != 0) {
        ArtifactReader::Fail("not a recsplane model artifact (bad magic number)");
    }
    ArtifactReader header(bytes.substr(sizeof(kArtifactMagic)));
    auto version = header.Pod<uint32_t>();
    auto reserved1 = header.Pod<uint32_t>();
    auto size = header.Pod<uint64_t>();
    auto crc = header.Pod<uint32_t>();
    auto reserved2 = header.Pod<uint32_t>();
    if (version != kArtifactVersion) {
        ArtifactReader::Fail("unsupported artifact format version " + std::to_string(version));
    }
    if (reserved1 != 0 || reserved2 != 0) {
        ArtifactReader::Fail("corrupted artifact header");
    }
    if (size != bytes.size() - kArtifactHeaderSize) {
        ArtifactReader::Fail("truncated artifact (payload size mismatch)");
    }
    std::string_view payload = bytes.substr(kArtifactHeaderSize);
    if (Crc32(payload.data(), payload.size()) != crc) {
        ArtifactReader::Fail("corrupted artifact (checksum mismatch)");
    }
    return payload;
}

void ArtifactWriter::Matrix(const Csr& m) {
    Pod(m.rows);
    Pod(m.cols);
    Vector(m.offsets);
    Vector(m.indices);
    Vector(m.values);
}

std::string ArtifactReader::String() {
    auto n = Pod<uint64_t>();
    Need(n);
    std::string s(data_.substr(pos_, n));
    pos_ += n;
    return s;
}

std::vector<std::string> ArtifactReader::Strings() {
    auto n = Pod<uint64_t>();
    if (n > Remaining() / sizeof(uint64_t)) {
        Fail("string list length exceeds the artifact");
    }
    std::vector<std::string> v;
    v.reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
        v.push_back(String());
    }
    return v;
}

Csr ArtifactReader::Matrix() {
    Csr m;
    m.rows = Pod<uint32_t>();
    m.cols = Pod<uint32_t>();
    m.offsets = Vector<uint64_t>();
    m.indices = Vector<uint32_t>();
    m.values = Vector<float>();
    if (!m.Valid()) {
        Fail("inconsistent sparse matrix");
    }
    return m;
}

void ArtifactReader::ExpectEnd() const {
    if (Remaining() != 0) {
        Fail("trailing bytes after the model payload");
    }
}

void ArtifactReader::Fail(const std::string& why) {
    throw core::Error(core::ErrorCode::kUnprocessable, "invalid model artifact: " + why,
                      "artifact");
}

}  // namespace recs::engine::detail

namespace recs::engine {

std::string WrapArtifactPayload(std::string_view payload) { return detail::WrapPayload(payload); }

std::string_view ArtifactPayload(std::string_view artifact) {
    return detail::UnwrapPayload(artifact);
}

}  // namespace recs::engine
