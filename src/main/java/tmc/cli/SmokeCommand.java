package tmc.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import tmc.runtime.Smoke;

/** Hidden: the GPU runtime smoke test (scripts/gpu/runtime_smoke.sh runs it on the GPU host). */
@Command(name = "smoke", hidden = true, mixinStandardHelpOptions = true,
        description = "Compile, load, launch and check a tiny fp16 kernel on GPU 0; prints PASS or FAIL.")
final class SmokeCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        return Smoke.run(spec.commandLine().getOut()) ? Main.OK : Main.USER_ERROR;
    }
}
