package tmc.ref;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import tmc.check.DType;

/**
 * A small, strict reader and writer of NumPy {@code .npy} files (format versions 1.0 to 3.0), for the three storage
 * types only:
 * <ul>
 *   <li>{@code <f2}: f16 (IEEE binary16, little-endian);</li>
 *   <li>{@code <f4}: f32 (little-endian);</li>
 *   <li>{@code <u2}: bf16, stored as its 16-bit pattern (the top half of the f32) in a little-endian uint16, since
 *       NumPy has no bf16 type. In Python: {@code (a.astype(np.uint32) << 16).view(np.float32)} decodes it.</li>
 * </ul>
 * C order only ({@code 'fortran_order': False}). Anything else (big-endian, f8, ints, Fortran order, truncated or
 * trailing data) is refused with a message that names the file and what was found. Files are written as version 1.0
 * with the header padded to a multiple of 64 bytes, as NumPy writes them.
 */
public final class Npy {
    private Npy() {}

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

    /** A malformed or unsupported .npy file. */
    public static final class FormatException extends IOException {
        public FormatException(String message) {
            super(message);
        }
    }

    public static Tensor read(Path file) throws IOException {
        return decode(Files.readAllBytes(file), file.toString());
    }

    public static void write(Path file, Tensor t) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        Files.write(file, encode(t));
    }

    /** The descr string of a storage type: {@code <f2}, {@code <f4} or {@code <u2} (bf16 bit patterns). */
    public static String descr(DType dtype) {
        return switch (dtype) {
            case F16 -> "<f2";
            case F32 -> "<f4";
            case BF16 -> "<u2";
        };
    }

    public static byte[] encode(Tensor t) {
        StringBuilder shape = new StringBuilder("(");
        for (int i = 0; i < t.rank(); i++) {
            shape.append(t.dim(i)).append(t.rank() == 1 ? "," : i + 1 < t.rank() ? ", " : "");
        }
        shape.append(')');
        String dict = "{'descr': '" + descr(t.dtype()) + "', 'fortran_order': False, 'shape': " + shape + ", }";
        int unpadded = MAGIC.length + 2 + 2 + dict.length() + 1;
        int pad = (64 - unpadded % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        if (header.length() > 0xffff) throw new IllegalArgumentException("shape too long for a version 1.0 header");
        byte[] data = t.toBytes();
        ByteBuffer b = ByteBuffer.allocate(MAGIC.length + 4 + header.length() + data.length)
                .order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        b.put(header.getBytes(StandardCharsets.US_ASCII));
        b.put(data);
        return b.array();
    }

    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
    private static final Pattern KEY = Pattern.compile("'([^']*)'\\s*:");

    /** Decodes the bytes of a .npy file; {@code name} is used in error messages. */
    public static Tensor decode(byte[] bytes, String name) throws FormatException {
        if (bytes.length < 10) throw new FormatException(name + ": not a .npy file (only " + bytes.length + " bytes)");
        for (int i = 0; i < MAGIC.length; i++) {
            if (bytes[i] != MAGIC[i]) throw new FormatException(name + ": not a .npy file (bad magic string)");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int major = bytes[6] & 0xff;
        b.position(8);
        long headerLen;
        if (major == 1) {
            headerLen = b.getShort() & 0xffff;
        } else if (major == 2 || major == 3) {
            if (bytes.length < 12) throw new FormatException(name + ": truncated .npy header");
            headerLen = b.getInt() & 0xffffffffL;
        } else {
            throw new FormatException(name + ": .npy format version " + major + "." + (bytes[7] & 0xff)
                    + " is not supported (1.0 to 3.0 are)");
        }
        int start = b.position();
        if (start + headerLen > bytes.length) throw new FormatException(name + ": truncated .npy header");
        String header = new String(bytes, start, (int) headerLen,
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1).strip();
        if (!header.startsWith("{") || !header.endsWith("}")) {
            throw new FormatException(name + ": .npy header is not a dictionary: " + header);
        }
        Matcher keys = KEY.matcher(header);
        while (keys.find()) {
            String k = keys.group(1);
            if (!k.equals("descr") && !k.equals("fortran_order") && !k.equals("shape")) {
                throw new FormatException(name + ": unexpected key '" + k + "' in .npy header " + header);
            }
        }
        Matcher md = DESCR.matcher(header);
        Matcher mf = FORTRAN.matcher(header);
        Matcher ms = SHAPE.matcher(header);
        if (!md.find() || !mf.find() || !ms.find()) {
            throw new FormatException(name + ": .npy header lacks descr, fortran_order or shape: " + header);
        }
        String descr = md.group(1);
        DType dtype = switch (descr) {
            case "<f2" -> DType.F16;
            case "<f4" -> DType.F32;
            case "<u2" -> DType.BF16;
            default -> throw new FormatException(name + ": unsupported .npy dtype '" + descr
                    + "'; tmc reads '<f2' (f16), '<f4' (f32) and '<u2' (bf16 bit patterns)"
                    + " (in NumPy: a.astype(np.float32))");
        };
        if (mf.group(1).equals("True")) {
            throw new FormatException(name + ": Fortran-order .npy files are not supported "
                    + "(in NumPy: np.ascontiguousarray(a))");
        }
        List<Integer> dims = new ArrayList<>();
        for (String part : ms.group(1).split(",")) {
            String p = part.strip();
            if (p.isEmpty()) continue;
            try {
                long v = Long.parseLong(p.endsWith("L") ? p.substring(0, p.length() - 1) : p);
                if (v < 0 || v > Integer.MAX_VALUE) throw new NumberFormatException();
                dims.add((int) v);
            } catch (NumberFormatException e) {
                throw new FormatException(name + ": bad dimension '" + p + "' in .npy shape (" + ms.group(1) + ")");
            }
        }
        int[] shape = dims.stream().mapToInt(Integer::intValue).toArray();
        long count = 1;
        for (int d : shape) count *= d;
        int dataStart = start + (int) headerLen;
        long expected = count * dtype.bytes;
        long actual = bytes.length - dataStart;
        if (actual != expected) {
            throw new FormatException(name + ": .npy data has " + actual + " bytes but shape " + dims + " of "
                    + descr + " needs " + expected);
        }
        return Tensor.fromBytes(dtype, shape, java.util.Arrays.copyOfRange(bytes, dataStart, bytes.length));
    }
}
