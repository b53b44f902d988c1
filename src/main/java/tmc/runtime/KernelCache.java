package tmc.runtime;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;

/**
 * Compiled cubins on disk, so that a kernel is compiled by NVRTC once per (source, options, arch, NVRTC version).
 *
 * <p>Layout: {@code <dir>/<first 2 hex of key>/<key>.cubin}. Each entry is written to a temporary file in the same
 * folder and renamed over the final name with {@code ATOMIC_MOVE}, so a reader sees either no entry or a whole
 * one. Each entry starts with a header (magic, format version, the key, lengths) and ends with a SHA-256 of all
 * that precedes it; an entry that is short, has the wrong key or the wrong checksum is deleted and recompiled,
 * never loaded (a truncated cubin can crash the driver rather than fail cleanly).
 *
 * <p>Thread and process safety: no locks. Two threads (or processes) that miss on the same key both compile and
 * both rename the same bytes into place; the last rename wins and every reader sees a complete entry.
 * A cache that cannot be written (read-only disk, full disk) only costs speed: compile results are still returned.
 */
public final class KernelCache {
    public static final String ENV_DIR = "TMC_CACHE_DIR";
    private static final byte[] MAGIC = "TMCKCUBN".getBytes(StandardCharsets.US_ASCII);
    private static final int FORMAT = 1;
    private static final int HEADER = MAGIC.length + 4 + 32 + 4 + 8;
    private static final int TRAILER = 32;

    /** Counters since this cache object was made. */
    public record Stats(long hits, long misses, long corrupt, long writeFailures) {}

    private final Path dir;
    private final LongAdder hits = new LongAdder(), misses = new LongAdder(), corrupt = new LongAdder(),
            writeFailures = new LongAdder();
    private volatile String lastWriteProblem = "";

    public KernelCache(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
    }

    /** The cache at {@link #defaultDir(Map)} for this process's environment. */
    public static KernelCache openDefault() {
        return new KernelCache(defaultDir(System.getenv()));
    }

    /** {@code $TMC_CACHE_DIR}, else {@code $XDG_CACHE_HOME/tmc}, else {@code $HOME/.cache/tmc}. */
    public static Path defaultDir(Map<String, String> env) {
        String own = env.getOrDefault(ENV_DIR, "").strip();
        if (!own.isEmpty()) return Path.of(own);
        String xdg = env.getOrDefault("XDG_CACHE_HOME", "").strip();
        // The XDG spec says a relative value is invalid and must be ignored.
        if (!xdg.isEmpty() && Path.of(xdg).isAbsolute()) return Path.of(xdg, "tmc");
        // $HOME as the shell sees it; Java's user.home comes from the password database and ignores a changed HOME.
        String home = env.getOrDefault("HOME", "").strip();
        if (home.isEmpty() || !Path.of(home).isAbsolute()) home = System.getProperty("user.home");
        return Path.of(home, ".cache", "tmc");
    }

    public Path dir() {
        return dir;
    }

    public Stats stats() {
        return new Stats(hits.sum(), misses.sum(), corrupt.sum(), writeFailures.sum());
    }

    /** Why the last write failed (empty if none did): doctor and verbose modes print it. */
    public String lastWriteProblem() {
        return lastWriteProblem;
    }

    /**
     * The cubin for this source and options: from the cache when a valid entry exists, else compiled with
     * {@code nvrtc} and stored. Compile errors are returned, never cached.
     */
    public Result<Cubin> compile(Nvrtc nvrtc, String name, String source, CompileOptions options) {
        List<String> args = nvrtc.arguments(options);
        String key = key(name, source, args, options.arch(), nvrtc.version());
        long t0 = System.nanoTime();
        Optional<Entry> cached = read(key);
        if (cached.isPresent()) {
            hits.increment();
            return Result.ok(new Cubin(name, cached.get().image(), cached.get().log(), options.arch(), args,
                    nvrtc.version(), Duration.ofNanos(System.nanoTime() - t0), true));
        }
        misses.increment();
        Result<Cubin> r = nvrtc.compile(name, source, options);
        if (r instanceof Result.Ok<Cubin>(Cubin c)) write(key, c.image(), c.log());
        return r;
    }

    /**
     * The cache key: SHA-256 over the length-prefixed program name, source, NVRTC arguments (which hold the
     * include folder and every flag), arch and NVRTC version. Length prefixes keep ("ab","c") and ("a","bc") apart.
     */
    public static String key(String name, String source, List<String> arguments, String arch, Nvrtc.Version version) {
        MessageDigest md = sha256();
        update(md, "tmc kernel cache " + FORMAT);
        update(md, name);
        update(md, source);
        update(md, Integer.toString(arguments.size()));
        for (String a : arguments) update(md, a);
        update(md, arch);
        update(md, version.toString());
        return HexFormat.of().formatHex(md.digest());
    }

    /** Where the entry for a key lives (it may not exist). */
    public Path pathFor(String key) {
        return dir.resolve(key.substring(0, 2)).resolve(key + ".cubin");
    }

    record Entry(byte[] image, String log) {}

    /** The entry for {@code key} if present and intact; a damaged entry is deleted and counted in {@link Stats#corrupt}. */
    Optional<Entry> read(String key) {
        Path p = pathFor(key);
        byte[] all;
        try {
            all = Files.readAllBytes(p);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
        Optional<Entry> e = decode(key, all);
        if (e.isEmpty()) {
            corrupt.increment();
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // Could not delete: the next write replaces it by rename anyway.
            }
        }
        return e;
    }

    /** Writes an entry atomically; failures are counted, not thrown (a cache that cannot be written only costs time). */
    void write(String key, byte[] image, String log) {
        Path target = pathFor(key);
        Path tmp = null;
        try {
            Files.createDirectories(target.getParent());
            tmp = Files.createTempFile(target.getParent(), key.substring(0, 16) + ".", ".tmp");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buf = ByteBuffer.wrap(encode(key, image, log));
                while (buf.hasRemaining()) ch.write(buf);
                // Data on disk before the rename makes it visible, so a crash cannot leave a named but empty entry.
                ch.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                // Same folder, so this only happens on exotic file systems; a plain replace is still all-or-nothing
                // for readers thanks to the checksum.
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException | RuntimeException e) {
            writeFailures.increment();
            lastWriteProblem = "could not write " + target + ": " + e;
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // A stray .tmp file is harmless: it never matches an entry name.
                }
            }
        }
    }

    static byte[] encode(String key, byte[] image, String log) {
        byte[] keyBytes = HexFormat.of().parseHex(key);
        byte[] logBytes = log.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(HEADER + logBytes.length + image.length + TRAILER);
        b.put(MAGIC).putInt(FORMAT).put(keyBytes).putInt(logBytes.length).putLong(image.length);
        b.put(logBytes).put(image);
        MessageDigest md = sha256();
        md.update(b.array(), 0, b.position());
        b.put(md.digest());
        return b.array();
    }

    static Optional<Entry> decode(String key, byte[] all) {
        if (all.length < HEADER + TRAILER) return Optional.empty();
        ByteBuffer b = ByteBuffer.wrap(all);
        byte[] magic = new byte[MAGIC.length];
        b.get(magic);
        if (!Arrays.equals(magic, MAGIC) || b.getInt() != FORMAT) return Optional.empty();
        byte[] k = new byte[32];
        b.get(k);
        if (!Arrays.equals(k, HexFormat.of().parseHex(key))) return Optional.empty();
        int logLen = b.getInt();
        long imageLen = b.getLong();
        if (logLen < 0 || imageLen <= 0 || (long) HEADER + logLen + imageLen + TRAILER != all.length) return Optional.empty();
        MessageDigest md = sha256();
        md.update(all, 0, all.length - TRAILER);
        if (!MessageDigest.isEqual(md.digest(), Arrays.copyOfRange(all, all.length - TRAILER, all.length))) {
            return Optional.empty();
        }
        String log = new String(all, HEADER, logLen, StandardCharsets.UTF_8);
        byte[] image = Arrays.copyOfRange(all, HEADER + logLen, HEADER + logLen + (int) imageLen);
        return Optional.of(new Entry(image, log));
    }

    /** Number of entries on disk (doctor prints it). */
    public long entryCount() {
        if (!Files.isDirectory(dir)) return 0;
        try (var s = Files.walk(dir, 2)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".cubin")).count();
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    static byte[] sha256(byte[] data) {
        return sha256().digest(data);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    private static void update(MessageDigest md, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        md.update(ByteBuffer.allocate(8).putLong(b.length).array());
        md.update(b);
    }
}
