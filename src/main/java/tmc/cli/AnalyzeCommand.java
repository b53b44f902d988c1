package tmc.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tmc.analysis.Analyzer;
import tmc.analysis.Measurements;
import tmc.analysis.Plots;
import tmc.analysis.Reports;
import tmc.check.Frontend;
import tmc.check.Network;
import tmc.target.Target;
import tmc.target.Targets;

@Command(name = "analyze", mixinStandardHelpOptions = true,
        description = {"Waterline and efficiency-gap analysis of the networks in .tm files.",
                "For every kernel of the separate (one kernel per layer) and the fused",
                "(one kernel per block) execution: flops, DRAM bytes, operational intensity,",
                "ideal time (flops at peak), predicted time (the waterline), measured time",
                "when given, computational efficiency (ideal / actual) and the efficiency",
                "gap (actual - ideal); totals per block and per model.",
                "With --out: NAME.csv, NAME.json, NAME-roofline.png, NAME-waterline.png",
                "per network, and efficiency-gap.png over the networks with an accuracy.",
                "The language and the definitions: docs/analysis.md."})
final class AnalyzeCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "FILE", description = "The .tm files whose networks to analyze.")
    List<Path> files;

    @Option(names = "--arch", paramLabel = "TARGET", description = "Target whose peaks and bandwidth the analysis uses "
            + "(default: ${DEFAULT-VALUE}).", defaultValue = Targets.DEFAULT)
    String arch;

    @Option(names = "--measured", paramLabel = "FILE.json",
            description = "Measured layer times (scripts/gpu/measure_networks.py) for the separate execution.")
    Path measured;

    @Option(names = "--out", paramLabel = "DIR", description = "Write CSV, JSON and PNG plots into this directory.")
    Path out;

    @Option(names = "--network", paramLabel = "NAME", description = "Only this network (default: all).")
    String networkName;

    @Option(names = "--blocks", description = "Print one row per block instead of one per kernel.")
    boolean blocksOnly;

    @CommandLine.Mixin
    InputOptions input;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        var stdout = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        Measurements.Data data = null;
        if (measured != null) {
            switch (Measurements.load(measured)) {
                case Measurements.Loaded.Ok ok -> data = ok.data();
                case Measurements.Loaded.Failed f -> {
                    return report(f.problem(), err);
                }
            }
        }
        List<Analyzer.Report> reports = new ArrayList<>();
        List<String> seen = new ArrayList<>();  // every network of the files, for the message when --network names none
        boolean usedMeasurements = false;
        for (Path file : files) {
            Frontend.Checked c = input.check(file, input.overrides(), err);
            if (!c.ok()) return Main.USER_ERROR;
            if (InputOptions.unknownArch(arch, input.targets, err)) return Main.USER_ERROR;
            Target target = input.targets.get(arch).orElseThrow();
            c.program().networks().forEach(n -> seen.add(n.name()));
            List<Network> networks = c.program().networks().stream()
                    .filter(n -> networkName == null || n.name().equals(networkName)).toList();
            if (c.program().networks().isEmpty()) {
                err.println("tmc: " + file + " has no networks; describe one with 'network NAME { input(...) ... }' "
                        + "(docs/analysis.md, samples/networks/)");
                return Main.USER_ERROR;
            }
            for (Network n : networks) {
                Measurements.ForNetwork times = null;
                if (data != null) {
                    switch (Measurements.match(data, n)) {
                        case Measurements.Matched.Ok ok -> {
                            times = ok.times();
                            usedMeasurements = true;
                        }
                        case Measurements.Matched.Absent a -> { }
                        case Measurements.Matched.Failed f -> {
                            return report(f.problem(), err);
                        }
                    }
                }
                reports.add(Analyzer.analyze(n, target, times));
            }
        }
        if (reports.isEmpty()) {
            err.println("tmc: no network named '" + networkName + "' in " + files + "; networks: " + String.join(", ", seen));
            return Main.USER_ERROR;
        }
        if (data != null && !usedMeasurements) {
            err.println("tmc: " + measured + " has no measurements for " + String.join(", ",
                    reports.stream().map(r -> r.network().name()).toList()) + " (it has "
                    + String.join(", ", data.networks().stream().map(Measurements.NetworkData::name).toList()) + ")");
            return Main.USER_ERROR;
        }
        for (int i = 0; i < reports.size(); i++) {
            if (i > 0) stdout.println();
            stdout.print(Reports.table(reports.get(i), !blocksOnly));
        }
        if (out != null) {
            try {
                write(reports, stdout);
            } catch (IOException e) {
                err.println("tmc: cannot write into " + out + ": " + e.getMessage());
                return Main.USER_ERROR;
            }
        }
        return Main.OK;
    }

    private static int report(Measurements.Problem p, java.io.PrintWriter err) {
        err.println("tmc: " + p.message());
        err.println("  hint: " + p.hint());
        return Main.USER_ERROR;
    }

    private void write(List<Analyzer.Report> reports, java.io.PrintWriter stdout) throws IOException {
        Files.createDirectories(out);
        List<Path> written = new ArrayList<>();
        List<Plots.GapPoint> gap = new ArrayList<>();
        for (Analyzer.Report r : reports) {
            String name = r.network().name();
            written.add(Files.writeString(out.resolve(name + ".csv"), Reports.csv(r)));
            written.add(Files.writeString(out.resolve(name + ".json"), Reports.json(r)));
            Plots.roofline(r, out.resolve(name + "-roofline.png"));
            written.add(out.resolve(name + "-roofline.png"));
            Plots.waterline(r, out.resolve(name + "-waterline.png"));
            written.add(out.resolve(name + "-waterline.png"));
            if (r.network().accuracy() != null) {
                var s = r.separate().model();
                gap.add(new Plots.GapPoint(name, r.network().accuracy().percent(), s.idealSeconds() * 1e3,
                        r.fused().model().predictedSeconds() * 1e3, s.actualSeconds() * 1e3, s.measured()));
            }
        }
        if (!gap.isEmpty()) {
            Analyzer.Report first = reports.getFirst();
            Plots.efficiencyGap(gap, first.target().name() + " (" + first.target().device() + ")",
                    first.network().batch(), out.resolve("efficiency-gap.png"));
            written.add(out.resolve("efficiency-gap.png"));
        }
        stdout.println();
        stdout.println("wrote " + String.join(", ", written.stream().map(Path::toString).toList()));
        List<String> without = reports.stream().filter(r -> r.network().accuracy() == null)
                .map(r -> r.network().name()).toList();
        if (!without.isEmpty()) {
            stdout.println("not on efficiency-gap.png (no accuracy stated): " + String.join(", ", without));
        }
    }
}
