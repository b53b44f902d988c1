package tmc.api;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import tmc.cuda.Manifest;
import tmc.runtime.CudaModule;
import tmc.runtime.Cubin;
import tmc.runtime.Cuda;
import tmc.runtime.Dim3;
import tmc.runtime.Kernel;
import tmc.runtime.KernelArgs;
import tmc.runtime.RuntimeFailure;

/**
 * A program loaded on a GPU: its kernels, launched in manifest order. Scratch tensors (the intermediates
 * a separate plan passes between kernels) are allocated on first use for each shape and kept.
 */
public final class LoadedProgram implements ProgramLauncher, AutoCloseable {
    private final Gpu gpu;
    private final CudaModule module;
    private final CompiledProgram program;
    private final Cubin cubin;
    private final List<Kernel> kernels = new ArrayList<>();
    private final Map<String, List<Tensor>> scratchByShape = new HashMap<>();

    LoadedProgram(Gpu gpu, Cuda cuda, CudaModule module, CompiledProgram program, Cubin cubin) throws RuntimeFailure {
        this.gpu = gpu;
        this.module = module;
        this.program = program;
        this.cubin = cubin;
        for (Manifest.KernelEntry k : program.manifest().kernels()) kernels.add(module.kernel(k.entry()));
    }

    public CompiledProgram program() {
        return program;
    }

    public Cubin cubin() {
        return cubin;
    }

    /** The loaded kernels, in launch order (for their resource attributes). */
    public List<Kernel> kernels() {
        return List.copyOf(kernels);
    }

    /** Launches every kernel; tensors by name (inputs, weights, outputs). Unchecked: bindings check first. */
    @Override
    public void launch(Map<String, DeviceTensor> tensors, int n, int h, int w) {
        try {
            launchChecked(tensors, n, h, w);
        } catch (RuntimeFailure e) {
            throw new IllegalStateException(e.problem().render(), e);
        }
    }

    public void launchChecked(Map<String, DeviceTensor> tensors, int n, int h, int w) throws RuntimeFailure {
        Manifest m = program.manifest();
        Map<String, DeviceTensor> all = new HashMap<>(tensors);
        if (!m.scratch().isEmpty()) {
            String key = n + "x" + h + "x" + w;
            List<Tensor> scratch = scratchByShape.get(key);
            if (scratch == null) {
                scratch = gpu.allocScratch(m.scratch(), n, h, w);
                scratchByShape.put(key, scratch);
            }
            for (int i = 0; i < scratch.size(); i++) all.put(m.scratch().get(i).name(), scratch.get(i));
        }
        for (int i = 0; i < kernels.size(); i++) {
            Manifest.KernelEntry k = m.kernels().get(i);
            KernelArgs args = KernelArgs.of();
            for (String p : k.params()) {
                switch (p) {
                    case "N" -> args.i32(n);
                    case "H" -> args.i32(h);
                    case "W" -> args.i32(w);
                    default -> {
                        DeviceTensor t = all.get(p);
                        if (t == null) throw new IllegalArgumentException("no tensor given for '" + p + "'");
                        args.ptr(t.pointer());
                    }
                }
            }
            Manifest.Grid g = k.grid();
            Dim3 grid = new Dim3(ceilDiv(w, g.tileW()), ceilDiv(h, g.tileH()), ceilDiv(n, g.tileN()));
            kernels.get(i).launch(grid, new Dim3(k.threads(), 1, 1), (int) k.dynamicSharedBytes(), args);
        }
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    @Override
    public void close() {
        for (List<Tensor> ts : scratchByShape.values()) ts.forEach(Tensor::close);
        module.close();
    }
}
