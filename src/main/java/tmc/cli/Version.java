package tmc.cli;

import picocli.CommandLine;

/** The tmc version (kept equal to the pom's by a test). */
public final class Version implements CommandLine.IVersionProvider {
    public static final String VERSION = "0.1.0";

    @Override
    public String[] getVersion() {
        return new String[] {"tmc " + VERSION, "Java " + Runtime.version()};
    }
}
