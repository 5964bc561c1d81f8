#pragma once

#include <exception>

namespace recs::core {

/// Thrown by an operation that would block (database, Redis, disk) while the current thread
/// runs in inline mode (an HTTP reactor thread trying a request's fast path). The caller then
/// runs the request on a thread that may block.
struct WouldBlock : std::exception {
    const char* what() const noexcept override { return "operation would block"; }
};

/// True while the current thread is in inline mode.
bool IsInlineMode();

/// Throws WouldBlock in inline mode. Called at the entry of every blocking operation.
void ThrowIfInline();

/// Puts the current thread in inline mode for its lifetime.
class InlineModeScope {
public:
    InlineModeScope();
    ~InlineModeScope();
    InlineModeScope(const InlineModeScope&) = delete;
    InlineModeScope& operator=(const InlineModeScope&) = delete;

private:
    bool previous_;
};

}  // namespace recs::core
