package tmc.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --no-tuning}, for the commands that plan auto plans and so may take tmc tune's winners. */
public final class TuningOption {
    @Option(names = "--no-tuning", description = "Ignore tmc tune's measurements: auto plans take the cost model's choice.")
    boolean off;

    /** The tuning file auto plans read (beside the kernel cache), or null with --no-tuning. */
    Path file() {
        return off ? null : tmc.plan.TuningCache.defaultFile(System.getenv());
    }
}
