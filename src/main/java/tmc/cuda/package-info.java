/** CUDA emission: tensor-machine kernels to self-contained, readable CUDA C++ and a launch manifest. */
package tmc.cuda;
