/** The tensor machine: kernels with a grid, a thread block, buffers in memory spaces, and tile instructions. */
package tmc.ir;
