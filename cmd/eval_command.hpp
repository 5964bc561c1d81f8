#pragma once

namespace recs::cmd {

/// `recsplane eval FILE [options]`: offline evaluation of engine algorithms on a data file.
/// argv[0] is "eval". Returns the process exit code.
int RunEvalCommand(int argc, char** argv);

}  // namespace recs::cmd
