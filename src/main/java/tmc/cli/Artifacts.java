package tmc.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tmc.api.CompiledProgram;
import tmc.bind.BindingGenerator;

/** The files of one compiled program, as tmc emit, tmc compile and bin/regen write them. */
final class Artifacts {
    private Artifacts() {}

    /** File name to contents: the CUDA source, its launch manifest and the Java binding. */
    static Map<String, String> files(CompiledProgram p) {
        Map<String, String> out = new LinkedHashMap<>();
        out.put(p.fileName(), p.source());
        out.put(p.name() + ".json", p.manifest().toJson());
        out.put(BindingGenerator.className(p.manifest()) + ".java", p.bindingSource());
        return out;
    }

    /** Writes the files into {@code dir} (each atomically); returns their paths. */
    static List<Path> write(CompiledProgram p, Path dir) throws IOException {
        Files.createDirectories(dir);
        List<Path> written = new java.util.ArrayList<>();
        for (Map.Entry<String, String> f : files(p).entrySet()) {
            Path target = dir.resolve(f.getKey());
            Path tmp = Files.createTempFile(dir, ".tmc-", ".tmp");
            Files.writeString(tmp, f.getValue(), StandardCharsets.UTF_8);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            written.add(target);
        }
        return written;
    }

    /** The default output directory of a .tm file: generated/NAME (NAME: the file name without .tm). */
    static Path defaultDir(Path tmFile) {
        return Path.of("generated", tmFile.getFileName().toString().replaceFirst("\\.tm$", ""));
    }
}
