#include "recs/core/inline_guard.hpp"

namespace recs::core {
namespace {
thread_local bool t_inline = false;
}

bool IsInlineMode() { return t_inline; }

void ThrowIfInline() {
    if (t_inline) throw WouldBlock();
}

InlineModeScope::InlineModeScope() : previous_(t_inline) { t_inline = true; }
InlineModeScope::~InlineModeScope() { t_inline = previous_; }

}  // namespace recs::core
