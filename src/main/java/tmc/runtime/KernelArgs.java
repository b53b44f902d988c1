package tmc.runtime;

import java.util.ArrayList;
import java.util.List;
import jcuda.Pointer;

/**
 * The argument list of one launch, in the kernel's parameter order. cuLaunchKernel takes an array of pointers,
 * one per parameter, each pointing at the value; this builds exactly that with JCuda's {@link Pointer}s.
 */
public final class KernelArgs {
    private final List<Pointer> params = new ArrayList<>();
    private final List<String> shown = new ArrayList<>();

    public static KernelArgs of() {
        return new KernelArgs();
    }

    public KernelArgs ptr(DeviceBuffer buffer) {
        params.add(Pointer.to(buffer.devicePointer()));
        shown.add("ptr(" + buffer.bytes() + " B)");
        return this;
    }

    /** A raw device address (a CUdeviceptr value), for memory tmc did not allocate. */
    public KernelArgs ptr(long deviceAddress) {
        params.add(Pointer.to(new long[] {deviceAddress}));
        shown.add("ptr(0x" + Long.toHexString(deviceAddress) + ")");
        return this;
    }

    public KernelArgs i32(int v) {
        params.add(Pointer.to(new int[] {v}));
        shown.add(Integer.toString(v));
        return this;
    }

    public KernelArgs i64(long v) {
        params.add(Pointer.to(new long[] {v}));
        shown.add(v + "L");
        return this;
    }

    public KernelArgs f32(float v) {
        params.add(Pointer.to(new float[] {v}));
        shown.add(v + "f");
        return this;
    }

    public int size() {
        return params.size();
    }

    Pointer toPointer() {
        return Pointer.to(params.toArray(Pointer[]::new));
    }

    @Override
    public String toString() {
        return "(" + String.join(", ", shown) + ")";
    }
}
