// libFuzzer target over the model artifact loader. The first input byte picks the mode:
// even - the rest is a whole file (header, checksum and all); odd - the rest is a payload that
// gets a valid header and checksum, so the fuzzer reaches the parser behind the checksum.
// A loaded model must also answer requests without crashing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "recs/core/error.hpp"
#include "recs/engine/artifact.hpp"
#include "recs/engine/model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) {
        return 0;
    }
    std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::string bytes =
        (data[0] & 1) != 0 ? recs::engine::WrapArtifactPayload(rest) : std::string(rest);
    try {
        auto model = recs::engine::LoadModelFromBuffer(bytes);
        bool cold = false;
        model->Recommend("1", {"1", "2"}, 10, {"3"}, nullptr, &cold);
        const std::vector<std::string> candidates{"1", "2", "3"};
        model->Recommend("2", {}, 5, {}, &candidates, &cold);
        model->Related("1", 5);
        (void)model->Serialize();
    } catch (const recs::core::Error&) {
        // Rejected: the expected outcome for nearly every input.
    }
    return 0;
}
