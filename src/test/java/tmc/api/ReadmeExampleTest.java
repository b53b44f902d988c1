package tmc.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import tmc.Repo;
import tmc.plan.LaunchShape;

/**
 * The Java example in README.md (between {@code <!-- example:library -->} and {@code <!-- /example:library -->})
 * compiles against the library, together with the generated binding it imports, so the API the README shows is
 * the real one. Its launching half needs a GPU; its compiling half does not, and runs here.
 */
class ReadmeExampleTest {
    static final Pattern BLOCK = Pattern.compile(
            "<!-- example:library -->\\s*```java\\n(.*?)```\\s*<!-- /example:library -->", Pattern.DOTALL);
    static final Pattern CLASS = Pattern.compile("(?m)^public final class (\\w+)");

    @Test
    void theLibraryExampleCompilesAndItsCompileStepRuns() throws Exception {
        String readme = Files.readString(Repo.path("README.md"));
        Matcher m = BLOCK.matcher(readme);
        assertTrue(m.find(), "README.md has no ```java block between <!-- example:library --> markers");
        String code = m.group(1);
        Matcher cls = CLASS.matcher(code);
        assertTrue(cls.find(), "the README example declares no public final class");
        String className = cls.group(1);

        Path dir = Files.createTempDirectory("tmc-readme-");
        Path src = dir.resolve(className + ".java");
        Files.writeString(src, code);
        Path out = Files.createDirectories(dir.resolve("classes"));
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<String> args = new ArrayList<>(List.of("-d", out.toString(), "-cp", System.getProperty("java.class.path"),
                "-Xlint:all", "-Werror", src.toString(),
                Repo.path("generated", "convfirst", "ConvFirstFused.java").toString()));
        ByteArrayOutputStream messages = new ByteArrayOutputStream();
        int rc = javac.run(null, null, new PrintStream(messages), args.toArray(String[]::new));
        assertEquals(0, rc, "the README's Java example does not compile:\n" + messages);

        try (URLClassLoader loader = new URLClassLoader(new URL[] {out.toUri().toURL()}, getClass().getClassLoader())) {
            Class<?> example = loader.loadClass(className);
            Method compile = example.getMethod("compile", Path.class, String.class, String.class, LaunchShape.class);
            Path sample = Repo.path("samples", "convfirst.tm");
            CompiledProgram fused = (CompiledProgram) compile.invoke(null, sample, "fused", "sm_90", new LaunchShape(8, 56, 56));
            assertNotNull(fused, "the README's compile step refused samples/convfirst.tm plan 'fused'");
            assertEquals("ConvFirst_fused", fused.name());
            assertTrue(fused.bindingSource().contains("class ConvFirstFused"), fused.bindingSource());
            PrintStream err = System.err;
            try {
                System.setErr(new PrintStream(new ByteArrayOutputStream()));
                assertNull(compile.invoke(null, sample, "nope", "sm_90", new LaunchShape(8, 56, 56)),
                        "an unknown plan is refused with null");
            } finally {
                System.setErr(err);
            }
        }
    }
}
