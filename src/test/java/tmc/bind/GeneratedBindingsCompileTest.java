package tmc.bind;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import tmc.api.DeviceTensor;
import tmc.api.ProgramLauncher;
import tmc.check.DType;

/** The generated bindings under generated/ compile, and their launch methods check before they launch. */
class GeneratedBindingsCompileTest {
    static final Path REPO = Path.of(System.getProperty("tmc.repo", "."));

    @Test
    void everyBindingCompilesAndChecksItsArguments() throws Exception {
        List<Path> sources;
        try (var s = Files.walk(REPO.resolve("generated"))) {
            sources = s.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
        assertFalse(sources.isEmpty(), "no bindings under generated/");
        Path out = Files.createTempDirectory("tmc-bindings-");
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<String> args = new ArrayList<>(List.of("-d", out.toString(), "-cp", System.getProperty("java.class.path"),
                "-Xlint:all", "-Werror"));
        sources.forEach(p -> args.add(p.toString()));
        ByteArrayOutputStream messages = new ByteArrayOutputStream();
        int rc = javac.run(null, null, new PrintStream(messages), args.toArray(String[]::new));
        assertEquals(0, rc, messages.toString());

        // ConvFirstFused: a correct call reaches the launcher with N, H, W taken from x; a wrong one never does.
        try (URLClassLoader loader = new URLClassLoader(new URL[] {out.toUri().toURL()}, getClass().getClassLoader())) {
            Class<?> cls = loader.loadClass(BindingGenerator.PACKAGE + ".ConvFirstFused");
            List<int[]> launched = new ArrayList<>();
            ProgramLauncher launcher = (Map<String, DeviceTensor> t, int n, int h, int w) -> launched.add(new int[] {n, h, w});
            Object binding = cls.getConstructor(ProgramLauncher.class).newInstance(launcher);
            Method launch = Arrays.stream(cls.getMethods()).filter(m -> m.getName().equals("launch")).findFirst()
                    .orElseThrow();
            Object[] ok = {t(DType.F16, 2, 9, 13, 64), t(DType.F16, 64, 3, 3, 8), t(DType.F32, 64), t(DType.F16, 256, 64),
                    t(DType.F32, 256), t(DType.F16, 64, 256), t(DType.F32, 64), t(DType.F16, 2, 9, 13, 64)};
            launch.invoke(binding, ok);
            assertEquals(1, launched.size());
            assertTrue(Arrays.equals(new int[] {2, 9, 13}, launched.getFirst()));

            Object[] wrongDtype = ok.clone();
            wrongDtype[2] = t(DType.F16, 64);
            var e = assertThrows(InvocationTargetException.class, () -> launch.invoke(binding, wrongDtype));
            assertTrue(e.getCause().getMessage().contains("bc: expected dtype f32"), e.getCause().getMessage());
            Object[] wrongShape = ok.clone();
            wrongShape[7] = t(DType.F16, 2, 9, 12, 64);
            e = assertThrows(InvocationTargetException.class, () -> launch.invoke(binding, wrongShape));
            assertTrue(e.getCause().getMessage().contains("y: expected shape [2, 9, 13, 64]"), e.getCause().getMessage());
            assertEquals(1, launched.size(), "nothing is launched after a refused call");
        }
    }

    private static DeviceTensor t(DType dtype, Integer... shape) {
        List<Integer> s = List.of(shape);
        return new DeviceTensor() {
            public DType dtype() {
                return dtype;
            }

            public List<Integer> shape() {
                return s;
            }

            public long pointer() {
                return 0;
            }
        };
    }
}
