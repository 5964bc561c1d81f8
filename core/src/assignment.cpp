#include "recs/core/assignment.hpp"

namespace recs::core {
namespace {

void AppendCodePoint(std::u16string& out, uint32_t cp) {
    if (cp < 0x10000) {
        out.push_back(static_cast<char16_t>(cp));
    } else {
        cp -= 0x10000;
        out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
        out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    }
}

// JS: hash(seed, value, version) with the strings already in UTF-16.
double HashV1(std::u16string_view value_then_seed) {
    return static_cast<double>(Fnv1a32(value_then_seed) % 1000u) / 1000.0;
}

double HashV2(std::u16string_view seed_then_value) {
    // JS: hashFnv32a(hashFnv32a(seed + value) + ""): the first hash's decimal digits, which are
    // ASCII, so one code unit per character.
    const std::string digits = std::to_string(Fnv1a32(seed_then_value));
    const std::u16string units(digits.begin(), digits.end());
    return static_cast<double>(Fnv1a32(units) % 10000u) / 10000.0;
}

std::vector<double> EqualWeights(int n) {
    if (n <= 0) {
        return {};
    }
    return std::vector<double>(static_cast<size_t>(n), 1.0 / n);
}

}  // namespace

std::u16string Utf16FromUtf8(std::string_view s) {
    // The WHATWG Encoding Standard's UTF-8 decoder (what TextDecoder and Node's Buffer do).
    std::u16string out;
    out.reserve(s.size());
    uint32_t cp = 0;
    int needed = 0, seen = 0;
    unsigned lower = 0x80, upper = 0xBF;
    size_t i = 0;
    while (i < s.size()) {
        const unsigned b = static_cast<unsigned char>(s[i]);
        if (needed == 0) {
            ++i;
            if (b <= 0x7F) {
                out.push_back(static_cast<char16_t>(b));
            } else if (b >= 0xC2 && b <= 0xDF) {
                needed = 1, cp = b & 0x1F;
            } else if (b >= 0xE0 && b <= 0xEF) {
                if (b == 0xE0) {
                    lower = 0xA0;  // no overlong forms
                }
                if (b == 0xED) {
                    upper = 0x9F;  // no surrogates
                }
                needed = 2, cp = b & 0x0F;
            } else if (b >= 0xF0 && b <= 0xF4) {
                if (b == 0xF0) {
                    lower = 0x90;  // no overlong forms
                }
                if (b == 0xF4) {
                    upper = 0x8F;  // nothing past U+10FFFF
                }
                needed = 3, cp = b & 0x07;
            } else {
                out.push_back(u'\uFFFD');
            }
            continue;
        }
        if (b < lower || b > upper) {
            // The sequence so far is one U+FFFD; this byte starts afresh (it is not consumed).
            cp = 0, needed = 0, seen = 0, lower = 0x80, upper = 0xBF;
            out.push_back(u'\uFFFD');
            continue;
        }
        ++i;
        lower = 0x80, upper = 0xBF;
        cp = (cp << 6) | (b & 0x3F);
        if (++seen == needed) {
            AppendCodePoint(out, cp);
            cp = 0, needed = 0, seen = 0;
        }
    }
    if (needed != 0) {
        out.push_back(u'\uFFFD');  // truncated at the end
    }
    return out;
}

uint32_t Fnv1a32(std::u16string_view s) {
    // JS: hval ^= charCodeAt(i); hval += (hval<<1) + (hval<<4) + (hval<<7) + (hval<<8) +
    // (hval<<24), in int32 arithmetic, which is hval * 16777619 modulo 2^32; then hval >>> 0.
    uint32_t h = 0x811c9dc5u;
    for (char16_t c : s) {
        h ^= static_cast<uint32_t>(c);
        h *= 16777619u;
    }
    return h;
}

std::optional<double> GbHash(std::string_view seed, std::string_view value, int version) {
    // JS concatenates the two (already decoded) strings, so each is decoded on its own.
    if (version == 2) {
        return HashV2(Utf16FromUtf8(seed) + Utf16FromUtf8(value));
    }
    if (version == 1) {
        return HashV1(Utf16FromUtf8(value) + Utf16FromUtf8(seed));
    }
    return std::nullopt;
}

std::vector<BucketRange> GetBucketRanges(int num_variations,
                                         double coverage,
                                         std::vector<double> weights) {
    // The comparisons are the JS ones, so a NaN coverage or weight behaves as it does there.
    if (coverage < 0) {
        coverage = 0;
    } else if (coverage > 1) {
        coverage = 1;
    }
    const std::vector<double> equal = EqualWeights(num_variations);
    if (weights.empty() || weights.size() != equal.size()) {
        weights = equal;
    }
    double total = 0;
    for (double w : weights) {
        total += w;  // JS: reduce from 0, in order
    }
    if (total < 0.99 || total > 1.01) {
        weights = equal;
    }

    std::vector<BucketRange> ranges;
    ranges.reserve(weights.size());
    double cumulative = 0;
    for (double w : weights) {
        const double start = cumulative;
        cumulative += w;
        // Rounded on its own, as in JS: volatile keeps a compiler from fusing the multiply into
        // the add (an FMA, under -ffp-contract=fast or GCC's GNU modes on FMA hardware, would
        // move range ends by an ulp: 0.1 + 0.01 * 0.9 must be 0.10900000000000001, not 0.109).
        const volatile double width = coverage * w;
        ranges.emplace_back(start, start + width);
    }
    return ranges;
}

int ChooseVariation(double n, const std::vector<BucketRange>& ranges) {
    for (size_t i = 0; i < ranges.size(); ++i) {
        if (n >= ranges[i].first && n < ranges[i].second) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

bool InNamespace(std::string_view user_id, const Namespace& ns) {
    const double n = HashV1(Utf16FromUtf8(user_id) + u"__" + Utf16FromUtf8(ns.id));
    return n >= ns.start && n < ns.end;
}

Assignment Assign(std::string_view seed,
                  std::string_view unit_id,
                  const std::vector<double>& weights,
                  double coverage,
                  const std::optional<Namespace>& ns) {
    Assignment a;
    a.hash = HashV2(Utf16FromUtf8(seed) + Utf16FromUtf8(unit_id));
    if (weights.size() < 2) {
        return a;
    }
    if (unit_id.empty()) {
        return a;
    }
    if (ns && !InNamespace(unit_id, *ns)) {
        return a;
    }
    const int v = ChooseVariation(
        a.hash, GetBucketRanges(static_cast<int>(weights.size()), coverage, weights));
    if (v < 0) {
        return a;
    }
    a.in_experiment = true;
    a.variation = v;
    return a;
}

}  // namespace recs::core
