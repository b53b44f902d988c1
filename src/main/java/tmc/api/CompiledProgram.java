package tmc.api;

import tmc.cuda.Manifest;
import tmc.ir.TmProgram;

/**
 * One block under one plan, compiled to CUDA: the tensor-machine program, the emitted source, its launch
 * manifest and the Java binding source. Pure data; {@link Gpu#load} turns it into something that runs.
 */
public record CompiledProgram(TmProgram program, String fileName, String source, Manifest manifest,
                              String bindingSource) {
    public String name() {
        return program.name();
    }
}
