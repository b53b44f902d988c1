package tmc.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;

/** Small helpers for native libraries: which file the dynamic loader actually mapped. */
final class NativeLibs {
    private NativeLibs() {}

    /**
     * The path of a mapped shared object whose file name starts with {@code prefix} (e.g. "libnvrtc.so"), read from
     * /proc/self/maps. A library loaded by name through the loader path does not tell where it came from; the
     * process's own memory map does, and doctor should print a real path.
     */
    static Optional<Path> mappedPath(String prefix) {
        Path maps = Path.of("/proc/self/maps");
        if (!Files.isReadable(maps)) return Optional.empty();
        try (Stream<String> lines = Files.lines(maps)) {
            return lines.map(l -> {
                        int slash = l.indexOf('/');
                        return slash < 0 ? null : l.substring(slash).strip();
                    })
                    .filter(p -> p != null && Path.of(p).getFileName().toString().startsWith(prefix))
                    .map(Path::of)
                    .findFirst();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
