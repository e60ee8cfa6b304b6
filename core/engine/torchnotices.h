#pragma once
// LibTorch's own one-time notices about its API, such as "scatter_reduce() is in beta and the API may change at
// any time", are printed on stderr by every command that scores a GRU (even `lbk predict -q`): they are about
// LibTorch's code, not the user's run, so they are dropped. Every other LibTorch warning is printed as before.

namespace lbk {

void dropTorchApiNotices(); // once, at the start of lbk-engine

} // namespace lbk
