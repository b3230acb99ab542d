"""Executable mirror of TorchLean's `NN/Proofs/Autograd/FDeriv/MlpMse.lean`."""
