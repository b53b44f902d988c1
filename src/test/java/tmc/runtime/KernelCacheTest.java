package tmc.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelCacheTest {
    @TempDir
    Path tmp;

    private static final Nvrtc.Version V13 = new Nvrtc.Version(13, 0);
    private static final String KEY = KernelCache.key("k.cu", "src", List.of("--gpu-architecture=sm_90"), "sm_90", V13);

    // ---- format and key: no NVRTC needed ----

    @Test
    void entriesRoundTripAndAnyDamagedByteIsDetected() {
        byte[] image = "pretend cubin bytes".getBytes();
        byte[] entry = KernelCache.encode(KEY, image, "a warning");
        KernelCache.Entry e = KernelCache.decode(KEY, entry).orElseThrow();
        assertArrayEquals(image, e.image());
        assertEquals("a warning", e.log());
        for (int i = 0; i < entry.length; i++) {
            byte[] bad = entry.clone();
            bad[i] ^= 0x01;
            assertEquals(Optional.empty(), KernelCache.decode(KEY, bad), "flipped bit in byte " + i + " must be caught");
        }
        for (int len = 0; len < entry.length; len++) {
            assertEquals(Optional.empty(), KernelCache.decode(KEY, java.util.Arrays.copyOf(entry, len)), "truncated to " + len);
        }
        byte[] longer = java.util.Arrays.copyOf(entry, entry.length + 1);
        assertEquals(Optional.empty(), KernelCache.decode(KEY, longer), "trailing garbage");
        String otherKey = KernelCache.key("k.cu", "src2", List.of(), "sm_90", V13);
        assertEquals(Optional.empty(), KernelCache.decode(otherKey, entry), "an entry under the wrong name is not trusted");
    }

    @Test
    void keyDependsOnSourceOptionsArchAndNvrtcVersion() {
        List<String> args = List.of("--gpu-architecture=sm_90", "-std=c++17");
        String base = KernelCache.key("k.cu", "src", args, "sm_90", V13);
        assertEquals(base, KernelCache.key("k.cu", "src", args, "sm_90", V13), "stable");
        assertEquals(64, base.length());
        assertNotEquals(base, KernelCache.key("k.cu", "src ", args, "sm_90", V13));
        assertNotEquals(base, KernelCache.key("k.cu", "src", List.of("--gpu-architecture=sm_90", "-std=c++17", "--use_fast_math"), "sm_90", V13));
        assertNotEquals(base, KernelCache.key("k.cu", "src", args, "sm_90a", V13));
        assertNotEquals(base, KernelCache.key("k.cu", "src", args, "sm_90", new Nvrtc.Version(13, 1)));
        // Field boundaries matter: moving text between fields gives another key.
        assertNotEquals(KernelCache.key("a", "bc", args, "sm_90", V13), KernelCache.key("ab", "c", args, "sm_90", V13));
        assertNotEquals(KernelCache.key("k", "s", List.of("a", "b"), "sm_90", V13), KernelCache.key("k", "s", List.of("ab"), "sm_90", V13));
    }

    @Test
    void defaultDirHonoursTmcCacheDirThenXdg() {
        assertEquals(Path.of("/x/y"), KernelCache.defaultDir(Map.of("TMC_CACHE_DIR", "/x/y", "XDG_CACHE_HOME", "/c")));
        assertEquals(Path.of("/c/tmc"), KernelCache.defaultDir(Map.of("XDG_CACHE_HOME", "/c")));
        assertEquals(Path.of("/h/.cache/tmc"), KernelCache.defaultDir(Map.of("XDG_CACHE_HOME", "relative/is/invalid", "HOME", "/h")));
        assertEquals(Path.of("/h/.cache/tmc"), KernelCache.defaultDir(Map.of("HOME", "/h")));
        assertEquals(Path.of(System.getProperty("user.home"), ".cache", "tmc"), KernelCache.defaultDir(Map.of()));
    }

    @Test
    void writeIsAtomicAndLeavesNoTemporaryFiles() throws IOException {
        KernelCache cache = new KernelCache(tmp);
        cache.write(KEY, new byte[] {1, 2, 3}, "");
        cache.write(KEY, new byte[] {1, 2, 3}, ""); // replacing an entry is fine
        assertArrayEquals(new byte[] {1, 2, 3}, cache.read(KEY).orElseThrow().image());
        assertEquals(List.of(cache.pathFor(KEY)), allFiles(tmp));
        assertTrue(cache.pathFor(KEY).startsWith(tmp.resolve(KEY.substring(0, 2))));
    }

    // ---- with real NVRTC ----

    @Test
    void missThenHitWithTheSameBytes() throws IOException {
        Nvrtc nvrtc = NvrtcSupport.nvrtcOrSkip();
        KernelCache cache = new KernelCache(tmp);
        CompileOptions opts = CompileOptions.forArch("sm_90");
        Cubin first = NvrtcSupport.ok(cache.compile(nvrtc, "twice.cu", NvrtcSupport.TINY, opts));
        Cubin second = NvrtcSupport.ok(cache.compile(nvrtc, "twice.cu", NvrtcSupport.TINY, opts));
        assertFalse(first.fromCache());
        assertTrue(second.fromCache());
        assertArrayEquals(first.image(), second.image());
        assertEquals(first.arguments(), second.arguments());
        assertEquals(new KernelCache.Stats(1, 1, 0, 0), cache.stats());
        assertEquals(1, cache.entryCount());

        // Another option, arch or source is another entry.
        assertFalse(NvrtcSupport.ok(cache.compile(nvrtc, "twice.cu", NvrtcSupport.TINY, opts.withFastMath(true))).fromCache());
        assertFalse(NvrtcSupport.ok(cache.compile(nvrtc, "twice.cu", NvrtcSupport.TINY, CompileOptions.forArch("sm_80"))).fromCache());
        assertFalse(NvrtcSupport.ok(cache.compile(nvrtc, "twice.cu", NvrtcSupport.tiny(7), opts)).fromCache());
        assertEquals(4, cache.entryCount());

        // A new cache object on the same folder (a new process) hits too.
        assertTrue(NvrtcSupport.ok(new KernelCache(tmp).compile(nvrtc, "twice.cu", NvrtcSupport.TINY, opts)).fromCache());
    }

    @Test
    void compileErrorsAreNotCached() throws IOException {
        Nvrtc nvrtc = NvrtcSupport.nvrtcOrSkip();
        KernelCache cache = new KernelCache(tmp);
        String bad = "extern \"C\" __global__ void k() { nope; }";
        NvrtcSupport.err(cache.compile(nvrtc, "bad.cu", bad, CompileOptions.forArch("sm_90")));
        NvrtcSupport.err(cache.compile(nvrtc, "bad.cu", bad, CompileOptions.forArch("sm_90")));
        assertEquals(new KernelCache.Stats(0, 2, 0, 0), cache.stats());
        assertEquals(List.of(), allFiles(tmp));
    }

    @Test
    void corruptEntriesAreDeletedAndRecompiledNeverTrusted() throws IOException {
        Nvrtc nvrtc = NvrtcSupport.nvrtcOrSkip();
        KernelCache cache = new KernelCache(tmp);
        CompileOptions opts = CompileOptions.forArch("sm_90");
        Cubin good = NvrtcSupport.ok(cache.compile(nvrtc, "twice.cu", NvrtcSupport.TINY, opts));
        Path entry = cache.pathFor(KernelCache.key("twice.cu", NvrtcSupport.TINY, nvrtc.arguments(opts), "sm_90", nvrtc.version()));
        byte[] intact = Files.readAllBytes(entry);

        List<byte[]> damage = new ArrayList<>();
        damage.add(java.util.Arrays.copyOf(intact, intact.length / 2));       // truncated (a crash mid-write elsewhere)
        damage.add(new byte[0]);                                              // empty
        byte[] flipped = intact.clone();
        flipped[intact.length - 100] ^= 0x40;                                 // one bit in the cubin
        damage.add(flipped);
        damage.add("garbage that is long enough to look like a header, and then some more bytes".repeat(4).getBytes());
        long corrupt = 0;
        for (byte[] d : damage) {
            Files.write(entry, d);
            Cubin again = NvrtcSupport.ok(cache.compile(nvrtc, "twice.cu", NvrtcSupport.TINY, opts));
            assertFalse(again.fromCache(), "a damaged entry must be recompiled");
            assertArrayEquals(good.image(), again.image());
            assertEquals(++corrupt, cache.stats().corrupt());
            assertArrayEquals(intact, Files.readAllBytes(entry), "the entry is rewritten whole");
            assertTrue(NvrtcSupport.ok(cache.compile(nvrtc, "twice.cu", NvrtcSupport.TINY, opts)).fromCache());
        }
    }

    @Test
    void anUnwritableCacheStillCompiles() throws IOException {
        Nvrtc nvrtc = NvrtcSupport.nvrtcOrSkip();
        Path notADir = Files.writeString(tmp.resolve("file"), "in the way");
        KernelCache cache = new KernelCache(notADir);
        Cubin c = NvrtcSupport.ok(cache.compile(nvrtc, "twice.cu", NvrtcSupport.TINY, CompileOptions.forArch("sm_90")));
        assertTrue(c.size() > 0);
        assertEquals(1, cache.stats().writeFailures());
        assertTrue(cache.lastWriteProblem().contains("could not write"), cache.lastWriteProblem());
    }

    @Test
    void manyThreadsCompilingTheSameAndDifferentSources() throws Exception {
        Nvrtc nvrtc = NvrtcSupport.nvrtcOrSkip();
        KernelCache cache = new KernelCache(tmp);
        CompileOptions opts = CompileOptions.forArch("sm_90");
        int threads = 8, variants = 4, perThread = 6;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<List<Cubin>>> fs = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                fs.add(pool.submit(() -> {
                    go.await();
                    List<Cubin> out = new ArrayList<>();
                    for (int i = 0; i < perThread; i++) {
                        // Every thread hits variant 0 (same key, racing writers) plus a spread of the others.
                        int v = i % 2 == 0 ? 0 : (id + i) % variants;
                        out.add(NvrtcSupport.ok(cache.compile(nvrtc, "v" + v + ".cu", NvrtcSupport.tiny(v), opts)));
                    }
                    return out;
                }));
            }
            go.countDown();
            java.util.Map<String, String> shaByName = new java.util.HashMap<>();
            for (Future<List<Cubin>> f : fs) {
                for (Cubin c : f.get()) {
                    String prev = shaByName.putIfAbsent(c.name(), c.sha256());
                    if (prev != null) assertEquals(prev, c.sha256(), "all threads see the same cubin for " + c.name());
                }
            }
        } finally {
            pool.shutdownNow();
        }
        KernelCache.Stats s = cache.stats();
        assertEquals((long) threads * perThread, s.hits() + s.misses());
        assertEquals(0, s.corrupt(), "a reader never sees a half-written entry");
        assertEquals(0, s.writeFailures());
        List<Path> files = allFiles(tmp);
        assertTrue(files.stream().allMatch(p -> p.toString().endsWith(".cubin")), "no temporary files left: " + files);
        assertEquals(cache.entryCount(), files.size());
        // A fresh cache object hits for every variant that was compiled.
        for (Path p : files) assertTrue(Files.size(p) > 100);
        assertTrue(NvrtcSupport.ok(new KernelCache(tmp).compile(nvrtc, "v0.cu", NvrtcSupport.tiny(0), opts)).fromCache());
    }

    private static List<Path> allFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }
}
