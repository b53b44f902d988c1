package tmc.runtime;

import java.time.Duration;
import java.util.HexFormat;
import java.util.List;

/**
 * A compiled kernel module: the cubin bytes for exactly {@code arch}, the NVRTC log (warnings; empty when clean),
 * the arguments used, the NVRTC version, how long compiling took, and whether it came from the disk cache.
 */
public record Cubin(String name, byte[] image, String log, String arch, List<String> arguments,
                    Nvrtc.Version nvrtcVersion, Duration compileTime, boolean fromCache) {
    public Cubin {
        image = image.clone();
        arguments = List.copyOf(arguments);
    }

    @Override
    public byte[] image() {
        return image.clone();
    }

    public int size() {
        return image.length;
    }

    /**
     * The SM number the cubin's ELF header declares (90 for sm_90), read from e_flags: bits 8-15 in the
     * ELF ABI version 8 that CUDA 13 writes, bits 0-7 before. Empty if the image is not a CUDA ELF file.
     */
    public java.util.OptionalInt elfSm() {
        if (image.length < 52 || image[0] != 0x7f || image[1] != 'E' || image[2] != 'L' || image[3] != 'F'
                || image[7] != 0x41 /* ELFOSABI_CUDA */) {
            return java.util.OptionalInt.empty();
        }
        int flags = java.nio.ByteBuffer.wrap(image, 48, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt();
        return java.util.OptionalInt.of(image[8] >= 8 ? (flags >> 8) & 0xff : flags & 0xff);
    }

    /** SHA-256 of the image, hex: to tell two cubins apart in logs and tests. */
    public String sha256() {
        return HexFormat.of().formatHex(KernelCache.sha256(image));
    }
}
