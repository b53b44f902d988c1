package tmc.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point. Exit codes: 0 success, 1 user error (bad input, bad options, a failed check),
 * 2 internal error (a bug in tmc: the message asks for a report and names a file with the details).
 */
@Command(name = "tmc", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = {"Compiler for the tensor machine language: fused convnet block kernels for NVIDIA GPUs.", ""},
        subcommands = {CheckCommand.class, CompileCommand.class, PlanCommand.class, EmitCommand.class,
                RunCommand.class, VerifyCommand.class, BenchCommand.class, TuneCommand.class, AnalyzeCommand.class,
                DoctorCommand.class,
                SmokeCommand.class, RegenCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Run 'tmc <command> --help' for a command's options.",
                "Exit status: 0 ok, 1 error in the input or the options, 2 internal error."})
public final class Main implements Runnable {
    public static final int OK = 0;
    public static final int USER_ERROR = 1;
    public static final int INTERNAL_ERROR = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line with the given streams; returns the exit code (used by tests too). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        for (CommandLine sub : cl.getSubcommands().values()) {
            // -V is listed in every command's help (mixinStandardHelpOptions); without a provider it printed nothing
            sub.getCommandSpec().versionProvider(new Version());
            flowDescription(sub.getCommandSpec());
        }
        cl.setParameterExceptionHandler((ex, a) -> {
            CommandLine.Model.CommandSpec where = ex.getCommandLine().getCommandSpec();
            if (ex instanceof CommandLine.UnmatchedArgumentException u && where.parent() == null
                    && !u.getUnmatched().isEmpty() && !u.getUnmatched().getFirst().startsWith("-")) {
                err.println("tmc: unknown command '" + u.getUnmatched().getFirst() + "'; commands: "
                        + String.join(", ", cl.getSubcommands().keySet()));
            } else {
                err.println("tmc: " + ex.getMessage());
                CommandLine.UnmatchedArgumentException.printSuggestions(ex, err);
            }
            err.println("Run '" + where.qualifiedName() + " --help' for usage.");
            return USER_ERROR;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> internalError(ex, err));
        try {
            return cl.execute(args);
        } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
            return internalError(e, err);
        } finally {
            out.flush();
            err.flush();
        }
    }

    /**
     * A command's description is written as a summary line and then prose broken at about 100 columns in the
     * source; help is wrapped at 80, so the source's breaks left ragged half-lines. The prose becomes one
     * paragraph that the help formatter wraps itself.
     */
    static void flowDescription(CommandLine.Model.CommandSpec spec) {
        String[] d = spec.usageMessage().description();
        if (d.length <= 2) return;
        String prose = String.join(" ", java.util.Arrays.asList(d).subList(1, d.length)).replaceAll("\\s+", " ").strip();
        spec.usageMessage().description(d[0], prose);
    }

    static int internalError(Throwable e, PrintWriter err) {
        String where = "";
        try {
            Path log = Files.createTempFile("tmc-crash-", ".txt");
            StringWriter trace = new StringWriter();
            e.printStackTrace(new PrintWriter(trace));
            Files.writeString(log, "tmc " + Version.VERSION + "\n" + trace);
            where = " Details are in " + log + ".";
        } catch (Exception ignored) {
            // Reporting the crash matters more than saving its details.
        }
        err.println("tmc: internal error: " + e.getClass().getSimpleName()
                + (e.getMessage() == null ? "" : ": " + e.getMessage()));
        err.println("This is a bug in tmc, not in your input. Please report it with the input file." + where);
        return INTERNAL_ERROR;
    }
}
