/** Ref: the CPU reference interpreter (the oracle every kernel is checked against), tensors, rounding and .npy I/O. */
package tmc.ref;
