#include "recs/core/crypto.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <cctype>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <vector>

#include "recs/core/error.hpp"

namespace recs::core {
namespace {

std::string Hex(const unsigned char* d, size_t n) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out(n * 2, '0');
    for (size_t i = 0; i < n; ++i) {
        out[2 * i] = kDigits[d[i] >> 4];
        out[2 * i + 1] = kDigits[d[i] & 15];
    }
    return out;
}

void RandomBytes(unsigned char* out, size_t n) {
    if (RAND_bytes(out, static_cast<int>(n)) != 1)
        throw Error(ErrorCode::kInternal, "random number generator failed");
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr);
    return Hex(md.data(), len);
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), md.data(), &len);
    return Hex(md.data(), len);
}

std::string RandomHex(size_t n) {
    std::vector<unsigned char> b(n);
    RandomBytes(b.data(), n);
    return Hex(b.data(), n);
}

std::string RandomToken(size_t n) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string out;
    out.reserve(n);
    std::vector<unsigned char> buf(n * 2);
    while (out.size() < n) {
        RandomBytes(buf.data(), buf.size());
        for (unsigned char b : buf) {
            if (b >= 248) continue;  // 248 = 4 * 62: reject to stay unbiased
            out.push_back(kAlphabet[b % 62]);
            if (out.size() == n) break;
        }
    }
    return out;
}

std::string RandomUuid() {
    std::array<unsigned char, 16> b{};
    RandomBytes(b.data(), b.size());
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    std::string h = Hex(b.data(), b.size());
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
           "-" + h.substr(20);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    unsigned char acc = 0;
    for (size_t i = 0; i < a.size(); ++i) acc |= static_cast<unsigned char>(a[i] ^ b[i]);
    return acc == 0;
}

}  // namespace recs::core

namespace recs::core {
bool IsUuid(std::string_view s) {
    if (s.size() != 36) return false;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}
}  // namespace recs::core

namespace recs::core {
namespace {

std::mutex& SealMu() {
    static std::mutex mu;
    return mu;
}
std::array<unsigned char, 16>& SealKey() {
    static std::array<unsigned char, 16> key = [] {
        std::array<unsigned char, 16> k{};
        RandomBytes(k.data(), k.size());
        return k;
    }();
    return key;
}

/// One AES-128 block, encrypted or decrypted under the seal key.
bool Block(const unsigned char in[16], unsigned char out[16], bool encrypt) {
    std::array<unsigned char, 16> key;
    {
        std::lock_guard lock(SealMu());
        key = SealKey();
    }
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    if (!ctx) return false;
    int len = 0;
    bool ok = EVP_CipherInit_ex(ctx, EVP_aes_128_ecb(), nullptr, key.data(), nullptr,
                                encrypt ? 1 : 0) == 1 &&
              EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
              EVP_CipherUpdate(ctx, out, &len, in, 16) == 1 && len == 16;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

}  // namespace

void SetSealKey(std::string_view key_hex) {
    std::array<unsigned char, 16> k{};
    for (size_t i = 0; i < 16 && 2 * i + 1 < key_hex.size(); ++i)
        k[i] = static_cast<unsigned char>(
            std::stoi(std::string(key_hex.substr(2 * i, 2)), nullptr, 16));
    std::lock_guard lock(SealMu());
    SealKey() = k;
}

std::string SealU64(uint64_t v) {
    unsigned char in[16] = {0}, out[16];
    for (int i = 0; i < 8; ++i) in[i] = static_cast<unsigned char>(v >> (8 * i));
    if (!Block(in, out, true)) throw Error(ErrorCode::kInternal, "cannot seal a value");
    return Hex(out, 16);
}

std::optional<uint64_t> UnsealU64(std::string_view hex) {
    if (hex.size() != 32) return std::nullopt;
    unsigned char in[16], out[16];
    for (size_t i = 0; i < 16; ++i) {
        int hi = std::isxdigit(static_cast<unsigned char>(hex[2 * i])) ? 1 : 0;
        int lo = std::isxdigit(static_cast<unsigned char>(hex[2 * i + 1])) ? 1 : 0;
        if (!hi || !lo) return std::nullopt;
        in[i] =
            static_cast<unsigned char>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
    }
    if (!Block(in, out, false)) return std::nullopt;
    for (int i = 8; i < 16; ++i)
        if (out[i] != 0) return std::nullopt;  // forged or from another key
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(out[i]) << (8 * i);
    return v;
}

}  // namespace recs::core
