/** The Java library API: compile .tm text, pick a plan, load kernels, launch them on device tensors. */
package tmc.api;
