package tmc.plan;

import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tmc.check.Activation;
import tmc.check.DType;
import tmc.check.Op;
import tmc.check.PlanSpec.Space;
import tmc.check.TypedBlock;
import tmc.ir.Buffer;
import tmc.ir.Instr;
import tmc.ir.Kernel;
import tmc.ir.Layer;
import tmc.target.Target;

/**
 * The waterline: a roofline per kernel, summed over the kernels of a program. See docs/cost-model.md.
 *
 * <p>Per kernel: {@code time = max(DRAM bytes / DRAM bandwidth, L2 bytes / L2 bandwidth, shared bytes / shared
 * bandwidth, tensor flops / tensor peak + CUDA-core flops / CUDA-core peak) x wave quantization / latency factor + launch overhead}. Everything is counted from the IR,
 * so what the lowering plans (halo reads, recompute, tile overhang at the image edge) is what is predicted:
 * <ul>
 *   <li>DRAM bytes: every {@code Load} reads the tile grown by its halo, clipped to the image (a halo pixel is
 *       counted once per tile that reads it: conservative, a neighbour's read may hit L2); activations a
 *       compute reads from global memory likewise; every {@code Store} writes the tile interior (masked at the
 *       edge, so exactly N x H x W pixels); weights are read from DRAM once per kernel when they fit in half
 *       of L2, else once per block.</li>
 *   <li>L2 bytes: the DRAM traffic plus the weights once per block (every block reads all weights of its
 *       layers; nothing stages them across blocks), over the target's L2 bandwidth: why tiny tiles lose.</li>
 *   <li>flops: each layer over the region the IR evaluates it on, for every block, overhanging tiles included
 *       (masked lanes still issue); recomputed halos count (2r+1)^2 evaluations of the
 *       producer (a Compute's inlined layers). The main op of a layer runs on the path the IR names; epilogues
 *       and layernorm run on CUDA cores in f32.</li>
 *   <li>shared-memory bytes: every instruction reads each on-chip operand once per execution and writes its
 *       result once (a lower bound: a conv re-reads taps, an mma re-reads fragments), over the SMs' shared
 *       bandwidth.</li>
 *   <li>tensor and CUDA-core time add: the same warps issue both, between barriers.</li>
 *   <li>wave quantization: blocks run in waves of SMs x blocks-per-SM; a last partial wave costs a whole
 *       one. Fewer blocks than SMs leave SMs idle.</li>
 *   <li>latency: with fewer than the target's warpsToHideLatency resident warps per SM, the roof is scaled by
 *       resident / warpsToHideLatency.</li>
 * </ul>
 */
public final class CostModel {
    private CostModel() {}

    /**
     * The prediction for one kernel. Times are seconds; {@code flops} and {@code dramBytes} are what the plan
     * does, {@code flopsMin} and {@code dramBytesMin} what its layers need at least (each tensor moved once).
     */
    public record KernelCost(String kernel, long blocks, int blocksPerSm, String occupancyLimit, int residentWarps,
                             double waves, long flopsMin, long flops, long tensorFlops, long cudaFlops,
                             long dramBytesMin, long dramBytes, long activationBytesMin, long activationBytes,
                             long weightBytes, boolean weightsInL2, long l2Bytes, long sharedBytes,
                             double memorySeconds, double l2Seconds, double sharedSeconds, double tensorSeconds, double cudaSeconds, double quantization, double latencyFactor,
                             double launchSeconds, double seconds) {
        public double computeSeconds() {
            return tensorSeconds + cudaSeconds;
        }

        /** flops per DRAM byte, as planned. */
        public double intensity() {
            return dramBytes == 0 ? Double.POSITIVE_INFINITY : (double) flops / dramBytes;
        }

        /** What the roof is: "DRAM", "L2", "shared memory" or "compute" (tensor and CUDA-core time together). */
        public String bound() {
            double compute = computeSeconds();
            double top = Math.max(Math.max(memorySeconds, l2Seconds), Math.max(sharedSeconds, compute));
            if (memorySeconds == top) return "DRAM";
            if (l2Seconds == top) return "L2";
            if (sharedSeconds == top) return "shared memory";
            return "compute";
        }

        /** The roof: the largest of the four times, before quantization, latency and launch. */
        public double roofSeconds() {
            return Math.max(Math.max(memorySeconds, l2Seconds), Math.max(sharedSeconds, computeSeconds()));
        }

        /** The four times added: how much of every resource the kernel uses (a tie-break among equal roofs). */
        public double resourceSeconds() {
            return memorySeconds + l2Seconds + sharedSeconds + computeSeconds();
        }

        /** The extra DRAM bytes of halo re-reads (activation bytes over their minimum). */
        public long haloBytes() {
            return activationBytes - activationBytesMin;
        }
    }

    /** A sequence of kernels: their costs add (the waterline). */
    public record ProgramCost(List<KernelCost> kernels) {
        public ProgramCost {
            kernels = List.copyOf(kernels);
        }

        public double seconds() {
            return kernels.stream().mapToDouble(KernelCost::seconds).sum();
        }

        public long dramBytes() {
            return kernels.stream().mapToLong(KernelCost::dramBytes).sum();
        }

        public long dramBytesMin() {
            return kernels.stream().mapToLong(KernelCost::dramBytesMin).sum();
        }

        public long flops() {
            return kernels.stream().mapToLong(KernelCost::flops).sum();
        }

        public long flopsMin() {
            return kernels.stream().mapToLong(KernelCost::flopsMin).sum();
        }
    }

    /** The block's floor, as in the design notes: its least traffic over bandwidth, or its flops over the peak. */
    public record Floor(long flops, long dramBytes, double memorySeconds, double computeSeconds, String peakKey) {
        public double seconds() {
            return Math.max(memorySeconds, computeSeconds);
        }
    }

    public static Floor floor(TypedBlock block, Target t, LaunchShape s) {
        long flops = block.flopsPerPixel() * s.pixels();
        long bytes = block.totalWeightBytes();
        for (Activation a : block.inputs()) bytes += s.pixels() * a.channels() * a.dtype().bytes;
        for (Activation a : block.outputs()) bytes += s.pixels() * a.channels() * a.dtype().bytes;
        Target.Peak peak = t.fastestPeak(block.storage());
        return new Floor(flops, bytes, bytes / t.dramBytesPerSecond(), flops / peak.flopsPerSecond(), peak.key());
    }

    public static ProgramCost program(List<Kernel> kernels, TypedBlock block, Target t, LaunchShape s) {
        return new ProgramCost(kernels.stream().map(k -> kernel(k, block, t, s, Budgets.occupancy(k, t))).toList());
    }

    public static KernelCost kernel(Kernel k, TypedBlock block, Target t, LaunchShape s, Budgets.Occupancy occ) {
        Walk w = new Walk(k, block, s);
        w.walk(k.body(), 1.0);
        long blocks = k.blocks(s.n(), s.h(), s.w());

        long weights = k.layers().stream().mapToLong(Layer::weightBytes).sum();
        boolean inL2 = weights <= t.l2Bytes() / 2;
        long weightDram = inL2 ? weights : weights * blocks;
        // Everything the SMs read or write passes through L2; weights once per block.
        long l2 = w.bytes + weights * blocks;

        long actMin = 0;
        for (Map.Entry<String, Long> e : w.globalTensors.entrySet()) actMin += s.pixels() * e.getValue();
        long dramMin = actMin + weights;
        long dram = w.bytes + weightDram;

        long flopsMin = 0;
        for (Layer l : k.layers()) flopsMin += l.flopsPerPixel() * s.pixels();

        double memory = dram / t.dramBytesPerSecond();
        double l2Time = l2 / t.l2BytesPerSecond();
        long shared = Math.round(w.sharedBytes);
        double sharedTime = shared / t.sharedBytesPerSecond();
        double tensorPeak = t.peak(k.math(), block.storage()).orElse(t.cudaCorePeak());
        double tensor = w.tensorFlops / tensorPeak;
        double cuda = w.cudaFlops / t.cudaCorePeak();
        double roof = Math.max(Math.max(memory, l2Time), Math.max(sharedTime, tensor + cuda));

        int bps = Math.max(1, occ.blocksPerSm());
        long slots = (long) t.smCount() * bps;
        double quantization;
        int resident;
        double waves;
        if (blocks >= slots) {
            long fullWaves = (blocks + slots - 1) / slots;
            quantization = (double) fullWaves * slots / blocks;
            resident = bps * k.warps();
            waves = (double) blocks / slots;
        } else {
            // Under one wave: blocks spread over the SMs, and SMs without a block add nothing.
            quantization = blocks >= t.smCount() ? 1.0 : (double) t.smCount() / blocks;
            resident = (int) ((blocks + t.smCount() - 1) / t.smCount()) * k.warps();
            waves = (double) blocks / slots;
        }
        double latency = Math.min(1.0, (double) resident / t.warpsToHideLatency());
        double seconds = roof * quantization / latency + t.launchOverheadSeconds();
        return new KernelCost(k.name(), blocks, occ.blocksPerSm(), occ.limitedBy(), resident, waves, flopsMin,
                Math.round(w.tensorFlops + w.cudaFlops), Math.round(w.tensorFlops), Math.round(w.cudaFlops), dramMin,
                dram, actMin, w.bytes, weights, inL2, l2, shared, memory, l2Time, sharedTime, tensor, cuda, quantization,
                latency,
                t.launchOverheadSeconds(), seconds);
    }

    /** Pixels of one image dimension that the tiles read when grown by {@code halo}, clipped to the image. */
    public static long covered(int extent, int tile, int halo) {
        long sum = 0;
        for (int start = 0; start < extent; start += tile) {
            int lo = Math.max(0, start - halo);
            int hi = Math.min(extent, start + tile + halo);
            sum += hi - lo;
        }
        return sum;
    }

    /** Accumulates flops per path and DRAM bytes over the instructions of one kernel. */
    private static final class Walk {
        final Kernel k;
        final TypedBlock block;
        final LaunchShape s;
        /** Tiles computed: blocks times the images each computes one after another (tile N). */
        final long blocks;
        final Map<String, Activation> activations = new HashMap<>();
        /** Tensors this kernel reads from or writes to global memory, with bytes per pixel (for the minimum). */
        final Map<String, Long> globalTensors = new LinkedHashMap<>();
        final Set<String> producedHere = new HashSet<>();
        double tensorFlops;
        double cudaFlops;
        long bytes;
        /** Shared-memory bytes read and written, all blocks. */
        double sharedBytes;

        Walk(Kernel k, TypedBlock block, LaunchShape s) {
            this.k = k;
            this.sideWarps = k.warps();
            this.block = block;
            this.s = s;
            this.blocks = k.blocks(s.n(), s.h(), s.w()) * k.tileN();
            for (List<Activation> list : List.of(block.inputs(), block.outputs(), block.named())) {
                for (Activation a : list) activations.put(a.name(), a);
            }
            for (Layer l : k.layers()) {
                activations.putIfAbsent(l.out().name(), l.out());
                for (Activation a : l.inputs()) activations.putIfAbsent(a.name(), a);
            }
        }

        long bytesPerPixel(String tensor, int channels) {
            Activation a = activations.get(tensor);
            DType d = a == null ? DType.F32 : block.storageFor(a);
            return (long) channels * d.bytes;
        }

        /** Bytes of {@code perPixel} over the tile of every block grown by {@code halo}, clipped to the image. */
        long regionBytes(int halo, long perPixel) {
            long pixels = (long) s.n() * covered(s.h(), k.tileH(), halo) * covered(s.w(), k.tileW(), halo);
            return pixels * perPixel;
        }

        void readGlobal(String tensor, int halo, int channels, double mult) {
            long perPixel = bytesPerPixel(tensor, channels);
            bytes += Math.round(regionBytes(halo, perPixel) * mult);
            Activation a = activations.get(tensor);
            globalTensors.merge(tensor, bytesPerPixel(tensor, a == null ? channels : a.channels()), Math::max);
        }

        /** Whether the walk is inside the per-image loop of a tile-N block. */
        boolean inImageLoop;

        /** Trips of the loop being walked (0 outside a loop). */
        int loopTrips;

        /** The warps that run the instructions being walked: a warp-specialized side's, else the block's. */
        int sideWarps;

        void walk(List<Instr> body, double mult) {
            for (Instr i : body) {
                switch (i) {
                    case Instr.Load l -> {
                        // A tile-N block loads its first image before its image loop and each further one inside
                        // it, ahead of time: together, every image once.
                        double m = switch (l.image()) {
                            case THIS -> mult;
                            case FIRST -> mult / k.tileN();
                            case NEXT -> mult * (k.tileN() - 1) / k.tileN();
                        };
                        if (l.beforeLastTrip() && loopTrips > 0) m /= loopTrips;  // one trip of the loop's
                        readGlobal(l.tensor(), l.dst().halo(), l.dst().channels(), m);
                        shared(l.dst(), region(l.dst().halo()), l.dst().channels(), m);
                    }
                    // L2 and DRAM traffic of weights is counted per kernel (see kernel()); staging writes shared memory.
                    case Instr.LoadWeight lw -> {
                        // A prefetch of the next chunk runs on every trip but the last (chunk 0 is fetched before the loop).
                        Instr.Channels st = lw.streamed();
                        double m = st != null && st.start() > 0 && loopTrips > 0 ? mult * (loopTrips - 1) / loopTrips : mult;
                        // Staged before the images of a block: once per block, not per tile.
                        if (!inImageLoop) m /= k.tileN();
                        shared(lw.dst(), lw.rows().count(), lw.dst().rowStride(), m);
                    }
                    case Instr.Compute c -> compute(c, mult);
                    case Instr.ImageLoop il -> {
                        inImageLoop = true;
                        walk(il.body(), mult);
                        inImageLoop = false;
                    }
                    // The producer's chunk stays in registers: both halves cost what they cost alone, minus the
                    // shared round trip of the chunk (register buffers add no shared traffic).
                    // Warps own whole 16-pixel rows: when the rows do not divide evenly among the warps, the
                    // busiest warps set the time, as if the tile had perWarp x warps rows.
                    case Instr.Chain ch -> {
                        tmc.ir.MmaTiling f = tmc.ir.MmaTiling.rows(k.tilePixels(), ch.consumer().layer().out().channels(),
                                sideWarps);
                        double busiest = (double) f.perWarp() * sideWarps * 16 / k.tilePixels();
                        walk(List.of(ch.producer(), ch.consumer()), mult * busiest);
                    }
                    case Instr.Accumulate a -> {
                        Layer l = a.layer();
                        int in = l.main() instanceof Op.Pointwise p ? p.in().channels() : a.reduce().count();
                        double frac = (double) a.reduce().count() / in;
                        double px = (double) blocks * k.tilePixels() * frac * mult;
                        add(a.math(), mainFlops(l) * px);
                        if (a.input() != null) shared(a.input(), k.tilePixels(), a.reduce().count(), mult);
                        Buffer w = a.layer().main() == null ? null : weightOf(a.layer().main()) == null ? null
                                : sourcesOf(a).get(weightOf(a.layer().main()));
                        if (w != null) shared(w, w.pixels(), w.rowStride(), mult);
                    }
                    case Instr.Finish f -> {
                        double px = (double) blocks * k.tilePixels() * mult;
                        cudaFlops += epilogueFlops(f.layer()) * px;
                        for (Activation a : f.layer().epilogueInputs()) {
                            Buffer src = f.sources().get(a.name());
                            if (src != null) shared(src, k.tilePixels(), a.channels(), mult);
                            else if (!producedHere.contains(a.name())) readGlobal(a.name(), 0, a.channels(), mult);
                        }
                        shared(f.dst(), k.tilePixels(), f.dst().channels(), mult);
                        producedHere.add(f.layer().out().name());
                    }
                    case Instr.Store st -> {
                        // Masked at the image edge: exactly N x H x W pixels are written.
                        long perPixel = bytesPerPixel(st.tensor(), st.src().channels());
                        bytes += Math.round(s.pixels() * perPixel * mult);
                        globalTensors.merge(st.tensor(), perPixel, Math::max);
                        shared(st.src(), k.tilePixels(), st.src().channels(), mult);
                        // Through a staging buffer: written once and read once more.
                        if (st.staging() != null) shared(st.staging(), 2.0 * k.tilePixels(), st.src().channels(), mult);
                    }
                    case Instr.Loop lp -> {
                        int outer = loopTrips;
                        loopTrips = lp.trips();
                        walk(lp.body(), mult * lp.trips());
                        loopTrips = outer;
                    }
                    // A side does its work once per chunk, as the whole block would (the extra trip is idle for it).
                    case Instr.Side sd -> {
                        int outer = sideWarps;
                        sideWarps = sd.warps();
                        walk(sd.body(), mult);
                        sideWarps = outer;
                    }
                    case Instr.Barrier b -> { }
                    case Instr.SideBarrier b -> { }
                    case Instr.AsyncCommit ac -> { }
                    case Instr.AsyncWait aw -> { }
                }
            }
        }

        void compute(Instr.Compute c, double mult) {
            Layer l = c.layer();
            Buffer dst = c.dst();
            double frac = (double) c.out().count() / l.out().channels();
            double regionPx = (double) (k.tileH() + 2 * c.halo()) * (k.tileW() + 2 * c.halo());
            double px = blocks * regionPx * frac * mult;
            add(c.math(), issuedFlops(l, c.math()) * px);
            cudaFlops += epilogueFlops(l) * px;
            if (dst.space() == Space.GLOBAL) {
                // Written straight to global memory, masked at the image edge: exactly N x H x W pixels.
                long perPixel = bytesPerPixel(l.out().name(), c.out().count());
                bytes += Math.round(s.pixels() * perPixel * mult);
                globalTensors.merge(l.out().name(), bytesPerPixel(l.out().name(), l.out().channels()), Math::max);
            } else {
                shared(dst, regionPx, c.out().count(), mult);
            }
            // Halo recompute: each output channel of the conv re-evaluates, at every tap, each input channel of its
            // group through the inlined producer (a grouped conv of width 8 evaluates 8 channels of it per output
            // channel and tap; the emitter keeps no evaluation for another output channel), on this instruction's
            // path, and every evaluation reads all of the producer's input channels at that pixel.
            java.util.Set<String> inlinedOuts = new HashSet<>();
            int taps = (2 * l.inputHalo() + 1) * (2 * l.inputHalo() + 1);
            int perOutput = l.main() instanceof Op.Conv2d cv ? cv.in().channels() / cv.groups() : 1;
            double evaluations = blocks * regionPx * taps * (double) c.out().count() * perOutput * mult;
            for (Layer p : c.inlined()) {
                inlinedOuts.add(p.out().name());
                double perChannel = 1.0 / p.out().channels();
                add(c.math(), mainFlops(p) * perChannel * evaluations);
                cudaFlops += epilogueFlops(p) * perChannel * evaluations;
                for (Activation a : p.inputs()) {
                    Buffer src = c.sources().get(a.name());
                    if (src != null) shared(src, regionPx * taps * c.out().count() * perOutput, src.channels(), mult);
                    else if (!producedHere.contains(a.name())) readGlobal(a.name(), c.halo() + l.inputHalo(), a.channels(), mult);
                }
            }
            for (Activation a : l.inputs()) {
                if (inlinedOuts.contains(a.name())) continue;
                boolean isMain = l.mainInput() != null && l.mainInput().name().equals(a.name());
                Buffer src = c.sources().get(a.name());
                if (src != null) {
                    // A pointwise or layernorm reads every channel of its input; a grouped conv and the epilogue
                    // read the chunk's channels; a conv reads its input's halo too.
                    boolean whole = isMain && !(l.main() instanceof Op.Conv2d);
                    int ch = whole ? src.channels() : Math.min(src.channels(), c.out().count());
                    int r = c.halo() + (isMain ? l.inputHalo() : 0);
                    shared(src, (double) (k.tileH() + 2 * r) * (k.tileW() + 2 * r), ch, mult);
                    continue;
                }
                if (producedHere.contains(a.name())) continue;
                // A pointwise or layernorm reads every input channel for each chunk of outputs; a grouped conv
                // and the epilogue read only the channels of the chunk.
                boolean allChannels = isMain && !(l.main() instanceof Op.Conv2d);
                int halo = c.halo() + (isMain ? l.inputHalo() : 0);
                readGlobal(a.name(), halo, a.channels(), allChannels ? mult : mult * frac);
            }
            // Weights staged in shared memory are read from there once per execution.
            for (Op op : l.ops()) {
                Buffer w = weightOf(op) == null ? null : c.sources().get(weightOf(op));
                if (w != null) shared(w, w.pixels(), w.rowStride(), mult);
            }
            producedHere.add(l.out().name());
        }

        static String weightOf(Op op) {
            return switch (op) {
                case Op.Pointwise p -> p.weight().name();
                case Op.Conv2d cv -> cv.weight().name();
                default -> null;
            };
        }

        /** Buffers an Accumulate may read besides its input: the kernel's shared weight buffers by weight name. */
        Map<String, Buffer> sourcesOf(Instr.Accumulate a) {
            Map<String, Buffer> m = new HashMap<>();
            for (Buffer b : k.buffers()) if (b.space() == Space.SHARED) m.putIfAbsent(b.tensor(), b);
            return m;
        }

        /** Pixels of a buffer region per block: the tile grown by {@code halo}. */
        double region(int halo) {
            return (double) (k.tileH() + 2 * halo) * (k.tileW() + 2 * halo);
        }

        /** Shared-memory traffic of touching {@code pixels x channels} of {@code b} in every block (if shared). */
        void shared(Buffer b, double pixels, int channels, double mult) {
            if (b == null || b.space() != Space.SHARED) return;
            sharedBytes += blocks * pixels * channels * b.dtype().bytes * mult;
        }

        void add(Instr.MathPath path, double flops) {
            if (path == Instr.MathPath.TENSOR_CORE) tensorFlops += flops;
            else cudaFlops += flops;
        }

        static long mainFlops(Layer l) {
            return l.main() == null ? 0 : l.main().flopsPerPixel();
        }

        /**
         * The main op's flops per pixel as the unit issues them: a depthwise conv on tensor cores multiplies a
         * diagonal 8x8 B per group of 8 channels, 8 products for each one that counts (Lowering#depthwiseOnTensorCores).
         */
        static long issuedFlops(Layer l, Instr.MathPath path) {
            boolean diagonal = path == Instr.MathPath.TENSOR_CORE && l.main() instanceof Op.Conv2d cv && cv.isDepthwise();
            return diagonal ? 8 * mainFlops(l) : mainFlops(l);
        }

        static long epilogueFlops(Layer l) {
            return l.flopsPerPixel() - mainFlops(l);
        }
    }
}
