package tmc;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Where the repository is (Maven passes it as tmc.repo), and its sample files. */
public final class Repo {
    private Repo() {}

    public static Path root() {
        String p = System.getProperty("tmc.repo");
        return (p != null ? Path.of(p) : Path.of("")).toAbsolutePath();
    }

    public static Path path(String first, String... more) {
        return root().resolve(Path.of(first, more));
    }

    /** Every samples/*.tm, sorted by name so that seeded tests see them in a fixed order. */
    public static List<Path> samples() {
        try (Stream<Path> s = Files.list(path("samples"))) {
            List<Path> files = s.filter(f -> f.toString().endsWith(".tm")).sorted().toList();
            if (files.isEmpty()) throw new IllegalStateException("no samples under " + path("samples"));
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
